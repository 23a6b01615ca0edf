"""The demo host's connection table as a pure function of (seed, sample index).

Why a pure function: the demo must show the same screens frame for frame for a given seed, and
a replay, a screenshot or a test may ask for any frame. Nothing here keeps state between calls;
every connection's whole life (when it opens, how long it stays in each State, how it closes)
follows from a string-seeded :class:`random.Random`, whose seeding is stable across runs and
platforms (it does not depend on ``PYTHONHASHSEED``).

The host "demo-web01" is a busy Windows-like web server. Every address is a documentation
address (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849: 2001:db8::/32) and
every process name is invented. The scenario repeats every :data:`PERIOD` samples:

* listeners (v4 and v6) of the web server, an admin shell gateway and the app server;
* client churn on :443 (SYN_RECEIVED → ESTABLISHED → FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT, or a
  client-side close through CLOSE_WAIT → LAST_ACK), with a burst that builds up TIME_WAIT;
* a SYN_RECEIVED spike of half-open connections from one /24;
* a CLOSE_WAIT leak in ``ledgerd``: the peer closes, the process never does;
* long-lived connections (database mirror, metrics, an admin session) whose tcp_info changes;
* every OffloadState and every AppliedSetting value, as a Windows host would report them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from core.connections.model import (
    AppliedSetting,
    OffloadState,
    ProcessInfo,
    TcpInfo,
    TcpState,
)
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame

PERIOD: Final = 300
"""Samples per scenario cycle (5 minutes at 1 s)."""
HOST_NAME: Final = "demo-web01"
SERVER_V4: Final = "192.0.2.10"
SERVER_V6: Final = "2001:db8::10"
ANY_V4: Final = "0.0.0.0"
ANY_V6: Final = "::"

BURST: Final = range(60, 90)
"""Phases of the client burst (TIME_WAIT builds up after it)."""
SYN_SPIKE: Final = range(120, 135)
"""Phases of the SYN_RECEIVED spike."""
LEAK_EVERY: Final = 10
"""ledgerd opens a backend connection every this many samples and leaks it in CLOSE_WAIT."""
TIME_WAIT_S: Final = 30
"""Samples a server-closed connection stays in TIME_WAIT (Windows' 2·MSL is 240 s; shortened)."""

PID_WEB: Final = 812
PID_LEDGER: Final = 1337
PID_DB: Final = 2207
PID_SHELL: Final = 3090
PID_METRICS: Final = 4410

_BOOT: Final = 1_768_460_400.0  # 2026-01-15 07:00:00 UTC: the invented host's boot


def processes(cycle: int) -> dict[int, ProcessInfo]:
    """The invented processes; ``ledgerd`` is restarted (new start time) every cycle."""
    return {
        PID_WEB: ProcessInfo(
            PID_WEB,
            "quillserve",
            "svc-quill",
            ("/opt/quill/bin/quillserve", "--listen", "443", "--workers", "8"),
            "/opt/quill/bin/quillserve",
            _BOOT + 12.0,
        ),
        PID_LEDGER: ProcessInfo(
            PID_LEDGER,
            "ledgerd",
            "svc-ledger",
            ("/opt/ledger/ledgerd", "--backend", "198.51.100.60:8080"),
            "/opt/ledger/ledgerd",
            _BOOT + 7200.0 + cycle * PERIOD,
        ),
        PID_DB: ProcessInfo(
            PID_DB,
            "pgmirror",
            "svc-mirror",
            ("pgmirror", "--upstream", "203.0.113.50"),
            "/usr/local/bin/pgmirror",
            _BOOT + 30.0,
        ),
        PID_SHELL: ProcessInfo(
            PID_SHELL,
            "shellgate",
            "root",
            ("shellgate", "-p", "2222"),
            "/usr/sbin/shellgate",
            _BOOT + 5.0,
        ),
        PID_METRICS: ProcessInfo(
            PID_METRICS,
            "metricsd",
            None,
            None,
            None,
            _BOOT + 40.0,
            denied=("username", "cmdline", "exe"),
        ),
    }


@dataclass(frozen=True, slots=True)
class _Listener:
    address: str
    port: int
    pid: int
    inode: int
    family: int


_LISTENERS: Final[tuple[_Listener, ...]] = (
    _Listener(ANY_V4, 80, PID_WEB, 40101, 4),
    _Listener(ANY_V4, 443, PID_WEB, 40102, 4),
    _Listener(ANY_V6, 443, PID_WEB, 40103, 6),
    _Listener(ANY_V4, 2222, PID_SHELL, 40104, 4),
    _Listener(SERVER_V4, 8080, PID_LEDGER, 40105, 4),
)


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _listeners() -> list[ScriptedConn]:
    return [
        ScriptedConn(
            lst.address,
            lst.port,
            ANY_V6 if lst.family == 6 else ANY_V4,
            0,
            TcpState.LISTEN,
            pid=lst.pid,
            family=lst.family,
            inode=lst.inode,
            offload_state=int(OffloadState.IN_HOST),
            applied_setting=int(AppliedSetting.INTERNET),
        )
        for lst in _LISTENERS
    ]


def _new_clients(seed: int, frame: int) -> int:
    """How many clients connect at ``frame`` (more during the burst)."""
    phase = frame % PERIOD
    low, high = (8, 14) if phase in BURST else (1, 4)
    return _rng(seed, "rate", frame).randint(low, high)


def _client_address(rng: random.Random) -> tuple[str, int]:
    pick = rng.random()
    if pick < 0.2:
        return f"2001:db8:1::{rng.randint(1, 0xFFFF):x}", 6
    net = "198.51.100" if pick < 0.6 else "203.0.113"
    return f"{net}.{rng.randint(1, 254)}", 4


def _client_state(age: int, established: int, server_closes: bool) -> TcpState | None:
    """State of a client connection ``age`` samples after its SYN (None once gone)."""
    if age == 0:
        return TcpState.SYN_RECEIVED
    age -= 1
    if age < established:
        return TcpState.ESTABLISHED
    age -= established
    if server_closes:
        closing = (TcpState.FIN_WAIT1, TcpState.FIN_WAIT2)
        if age < len(closing):
            return closing[age]
        return TcpState.TIME_WAIT if age - len(closing) < TIME_WAIT_S else None
    closing = (TcpState.CLOSE_WAIT, TcpState.LAST_ACK)
    return closing[age] if age < len(closing) else None


_MAX_CLIENT_LIFE: Final = 1 + 20 + 2 + TIME_WAIT_S


def _client_info(rng: random.Random, age: int) -> TcpInfo:
    rtt = rng.randint(8_000, 90_000)
    sent = 1_400 * age * rng.randint(3, 40)
    total_retrans = rng.randint(0, 2)
    unacked = rng.randint(0, 3)
    return TcpInfo(
        rtt_us=rtt,
        rttvar_us=rtt // 4,
        snd_cwnd=10 + 2 * age,
        snd_mss=1448,
        retransmits=0,
        total_retrans=total_retrans,
        bytes_acked=sent,
        bytes_received=520 * age + 740,
        unacked=unacked,
        lost=0,
        retrans=0,
        recv_q=0,
        send_q=unacked * 1448,  # the unacknowledged segments' bytes, as Send-Q counts them
    )


def _clients(seed: int, index: int) -> list[ScriptedConn]:
    rows: list[ScriptedConn] = []
    for frame in range(max(0, index - _MAX_CLIENT_LIFE), index + 1):
        for j in range(_new_clients(seed, frame)):
            rng = _rng(seed, "client", frame, j)
            established = rng.randint(2, 20)
            server_closes = rng.random() < 0.7
            state = _client_state(index - frame, established, server_closes)
            if state is None:
                continue
            address, family = _client_address(rng)
            server = SERVER_V6 if family == 6 else SERVER_V4
            port = 10_000 + (frame * 16 + j) % 40_000
            # Windows: a half-open connection belongs to the listener's process; TIME_WAIT to
            # nobody (PID 0, reported here as no owner).
            owned = state is not TcpState.TIME_WAIT
            info = _client_info(rng, index - frame) if state is TcpState.ESTABLISHED else None
            rows.append(
                ScriptedConn(
                    server,
                    443,
                    address,
                    port,
                    state,
                    pid=PID_WEB if owned else None,
                    family=family,
                    offload_state=int(OffloadState.IN_HOST),
                    applied_setting=int(AppliedSetting.INTERNET),
                    tcp_info=info,
                )
            )
    return rows


def _syn_spike(seed: int, index: int) -> list[ScriptedConn]:
    """Half-open connections from one /24 during the spike, each lasting 3–5 samples."""
    rows: list[ScriptedConn] = []
    cycle_start = index - index % PERIOD
    for phase in SYN_SPIKE:
        frame = cycle_start + phase
        if frame > index:
            break
        count = _rng(seed, "syn", frame).randint(10, 15)
        for j in range(count):
            rng = _rng(seed, "syn", frame, j)
            if index - frame >= rng.randint(3, 5):
                continue
            rows.append(
                ScriptedConn(
                    SERVER_V4,
                    443,
                    f"203.0.113.{rng.randint(100, 199)}",
                    50_000 + (phase - SYN_SPIKE.start) * 16 + j,
                    TcpState.SYN_RECEIVED,
                    pid=PID_WEB,
                    offload_state=int(OffloadState.IN_HOST),
                    applied_setting=int(AppliedSetting.INTERNET),
                )
            )
    return rows


def _leak(index: int) -> list[ScriptedConn]:
    """ledgerd's backend connections: established for 5 samples, then CLOSE_WAIT forever
    (until the process restarts at the start of the next cycle)."""
    rows: list[ScriptedConn] = []
    cycle_start = index - index % PERIOD
    base_port = 49_000 + (index // PERIOD) % 10 * 40
    for opened in range(cycle_start, index + 1, LEAK_EVERY):
        state = TcpState.ESTABLISHED if index - opened < 5 else TcpState.CLOSE_WAIT
        rows.append(
            ScriptedConn(
                SERVER_V4,
                base_port + (opened - cycle_start) // LEAK_EVERY,
                "198.51.100.60",
                8080,
                state,
                pid=PID_LEDGER,
                offload_state=int(OffloadState.IN_HOST),
                applied_setting=int(AppliedSetting.COMPAT),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class _LongLived:
    local: tuple[str, int]
    remote: tuple[str, int]
    pid: int
    family: int
    offload: OffloadState
    setting: AppliedSetting
    base_rtt_us: int
    rate_bps: int


_LONG_LIVED: Final[tuple[_LongLived, ...]] = (
    _LongLived(
        (SERVER_V4, 51_432),
        ("203.0.113.50", 5432),
        PID_DB,
        4,
        OffloadState.OFFLOADED,
        AppliedSetting.DATACENTER,
        450,
        2_400_000,
    ),
    _LongLived(
        (SERVER_V4, 51_433),
        ("203.0.113.51", 5432),
        PID_DB,
        4,
        OffloadState.UPLOADING,
        AppliedSetting.DATACENTER,
        520,
        900_000,
    ),
    _LongLived(
        (SERVER_V6, 52_010),
        ("2001:db8:cafe::80", 9443),
        PID_METRICS,
        6,
        OffloadState.OFFLOADING,
        AppliedSetting.DATACENTER_CUSTOM,
        2_300,
        40_000,
    ),
    _LongLived(
        (SERVER_V4, 2222),
        ("198.51.100.7", 53_122),
        PID_SHELL,
        4,
        OffloadState.IN_HOST,
        AppliedSetting.INTERNET_CUSTOM,
        31_000,
        2_000,
    ),
)


def _long_lived(seed: int, index: int) -> list[ScriptedConn]:
    rows: list[ScriptedConn] = []
    for n, spec in enumerate(_LONG_LIVED):
        wobble = 1.0 + 0.35 * math.sin((index + 7 * n) / 9.0)
        jitter = _rng(seed, "long", n, index).random()
        # A loss episode on the first database link late in each cycle.
        lossy = n == 0 and 200 <= index % PERIOD < 215
        rtt = int(spec.base_rtt_us * wobble * (3.0 if lossy else 1.0) + jitter * 100)
        retrans_total = (index // 40) + (index % PERIOD - 199 if index % PERIOD >= 200 else 0)
        info = TcpInfo(
            rtt_us=rtt,
            rttvar_us=rtt // 5,
            snd_cwnd=max(2, int(60 * wobble) // (4 if lossy else 1)),
            snd_mss=1448 if spec.family == 4 else 1428,
            retransmits=1 if lossy else 0,
            total_retrans=retrans_total if n == 0 else index // 200,
            bytes_acked=spec.rate_bps * (index + 600),
            bytes_received=spec.rate_bps // 8 * (index + 600),
            unacked=int(jitter * 20),
            lost=3 if lossy else 0,
            retrans=2 if lossy else 0,
            recv_q=int(jitter * 4096) if n % 2 else 0,  # a reader that lags now and then
            send_q=int(jitter * 20) * (1448 if spec.family == 4 else 1428),
        )
        rows.append(
            ScriptedConn(
                spec.local[0],
                spec.local[1],
                spec.remote[0],
                spec.remote[1],
                TcpState.ESTABLISHED,
                pid=spec.pid,
                family=spec.family,
                offload_state=int(spec.offload),
                applied_setting=int(spec.setting),
                tcp_info=info,
            )
        )
    return rows


def frame(seed: int, index: int) -> ScriptedFrame:
    """The demo host's whole connection table at sample ``index`` (0-based)."""
    conns = [
        *_listeners(),
        *_long_lived(seed, index),
        *_leak(index),
        *_syn_spike(seed, index),
        *_clients(seed, index),
    ]
    return ScriptedFrame(conns, processes(index // PERIOD))


def frames(seed: int) -> _Frames:
    """A callable for :class:`core.connections.sources.scripted.ScriptedSource`."""
    return _Frames(seed)


@dataclass(frozen=True, slots=True)
class _Frames:
    seed: int

    def __call__(self, index: int) -> ScriptedFrame:
        return frame(self.seed, index)
