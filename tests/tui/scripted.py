"""Deterministic data for the TUI tests: scripted frames and a feed the test steps by hand.

Why: pilot and snapshot tests need the exact same connections, times and diffs every run. The
frames go through the real :class:`core.sampling.sampler.Sampler` (diffs, ghosts, lifecycle times)
with
a :class:`core.connections.sources.scripted.StepClock`; :class:`SteppedFeed` only decides *when* a
sample is
taken (when the test calls :meth:`SteppedFeed.step`), instead of a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

from core.connections.model import OwnerStatus, ProcessInfo, TcpInfo, TcpState
from core.connections.snapshot import Privilege, Snapshot
from core.connections.sources.scripted import (
    Frame,
    ScriptedConn,
    ScriptedFrame,
    ScriptedSource,
    StepClock,
)
from core.sampling.sampler import Sampler

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
HOST = "testhost"

PROCS: dict[int, ProcessInfo] = {
    101: ProcessInfo(
        101, "nginx", "www-data", ("nginx", "-g", "daemon off;"), "/usr/sbin/nginx", 1.0
    ),
    202: ProcessInfo(202, "sshd", "root", ("sshd: alice",), "/usr/sbin/sshd", 1.0),
    303: ProcessInfo(
        303,
        "postgres",
        "postgres",
        ("postgres", "-D", "/var/lib/pg"),
        "/usr/lib/postgresql/bin/postgres",
        1.0,
    ),
    404: ProcessInfo(404, "python3", "alice", ("python3", "app.py"), "/usr/bin/python3", 1.0),
}


def info(acked: int, received: int) -> TcpInfo:
    """A tcp_info with the given byte counters."""
    return TcpInfo(
        rtt_us=1250,
        rttvar_us=300,
        snd_cwnd=10,
        snd_mss=1448,
        retransmits=0,
        total_retrans=2,
        bytes_acked=acked,
        bytes_received=received,
        unacked=0,
        lost=0,
        retrans=0,
    )


def base_conns(tick: int = 0) -> list[ScriptedConn]:
    """A small server: listeners, established sessions, TIME_WAITs, one IPv6 peer."""
    conns = [
        ScriptedConn(
            "0.0.0.0",
            80,
            "0.0.0.0",
            0,
            TcpState.LISTEN,
            pid=101,
            inode=1001,
            offload_state=0,
            applied_setting=0,
        ),
        ScriptedConn(
            "0.0.0.0",
            22,
            "0.0.0.0",
            0,
            TcpState.LISTEN,
            pid=202,
            inode=1002,
            offload_state=0,
            applied_setting=1,
        ),
        ScriptedConn(
            "127.0.0.1",
            5432,
            "0.0.0.0",
            0,
            TcpState.LISTEN,
            pid=303,
            inode=1003,
            offload_state=0,
            applied_setting=2,
        ),
        ScriptedConn(
            "10.0.0.5",
            80,
            "192.0.2.10",
            51000,
            TcpState.ESTABLISHED,
            pid=101,
            offload_state=2,
            applied_setting=0,
            tcp_info=info(10_000 + 4096 * tick, 2_000 + 1024 * tick),
        ),
        ScriptedConn(
            "10.0.0.5",
            80,
            "192.0.2.11",
            51001,
            TcpState.ESTABLISHED,
            pid=101,
            offload_state=1,
            applied_setting=0,
            tcp_info=info(500, 100),
        ),
        ScriptedConn(
            "10.0.0.5",
            22,
            "198.51.100.7",
            40022,
            TcpState.ESTABLISHED,
            pid=202,
            offload_state=0,
            applied_setting=1,
            tcp_info=info(9_000, 7_000),
        ),
        ScriptedConn(
            "10.0.0.5",
            80,
            "192.0.2.12",
            51002,
            TcpState.TIME_WAIT,
            owner_status=OwnerStatus.NO_OWNER,
            offload_state=0,
        ),
        ScriptedConn(
            "10.0.0.5",
            43210,
            "203.0.113.9",
            443,
            TcpState.CLOSE_WAIT,
            pid=404,
            offload_state=3,
            applied_setting=4,
        ),
        ScriptedConn(
            "10.0.0.5",
            43211,
            "203.0.113.9",
            443,
            TcpState.SYN_SENT,
            pid=404,
            offload_state=0,
            applied_setting=3,
        ),
        ScriptedConn(
            "2001:db8::5",
            443,
            "2001:db8::99",
            60001,
            TcpState.ESTABLISHED,
            pid=101,
            family=6,
            offload_state=0,
            applied_setting=0,
            tcp_info=info(1, 1),
        ),
        ScriptedConn(
            "127.0.0.1",
            5432,
            "127.0.0.1",
            39000,
            TcpState.ESTABLISHED,
            pid=303,
            offload_state=0,
            applied_setting=2,
        ),
        ScriptedConn(
            "127.0.0.1",
            39000,
            "127.0.0.1",
            5432,
            TcpState.ESTABLISHED,
            pid=404,
            offload_state=0,
            applied_setting=2,
        ),
    ]
    return conns


def demo_frames(index: int) -> Frame:
    """Frame 0: the base; 1: a new row with a low port, one closes, one changes state."""
    conns = base_conns(index)
    if index >= 1:
        conns = [c for c in conns if c.remote_port != 51001]  # closes → ghost
        conns.append(
            ScriptedConn(
                "10.0.0.5",
                21,
                "192.0.2.50",
                50021,
                TcpState.SYN_RECEIVED,
                pid=202,
                offload_state=0,
                applied_setting=1,
            )
        )
        conns = [
            ScriptedConn(
                c.local_address,
                c.local_port,
                c.remote_address,
                c.remote_port,
                TcpState.FIN_WAIT1,
                c.pid,
                c.owner_status,
                c.family,
                c.inode,
                c.offload_state,
                c.applied_setting,
                c.tcp_info,
            )
            if c.remote_port == 40022
            else c
            for c in conns
        ]
    return ScriptedFrame(conns, PROCS, Privilege())


class SteppedFeed:
    """A Feed over a real Sampler whose samples are taken when the test calls :meth:`step`."""

    def __init__(
        self,
        frames: Sequence[Frame] | Callable[[int], Frame] = demo_frames,
        *,
        ghost_ttl_s: float = 5.0,
        step_s: float = 1.0,
        name: str = "demo",
    ) -> None:
        """Frames are played one per :meth:`step`, with ``step_s`` seconds between samples."""
        self.sampler = Sampler(
            ScriptedSource(frames, name=name),
            interval_s=1.0,
            ghost_ttl_s=ghost_ttl_s,
            clock=StepClock(START, step_s),
        )
        self._pending: Snapshot | None = None
        self._ready = asyncio.Event()
        self._paused = False
        self.closed = False
        self.delivered = 0

    @property
    def live(self) -> bool:
        """Scripted, not sampled now."""
        return False

    @property
    def source_name(self) -> str:
        """The scripted source's name."""
        return self.sampler.source_name

    @property
    def paused(self) -> bool:
        """True while paused."""
        return self._paused

    @property
    def interval_s(self) -> float:
        """The sampler's interval."""
        return self.sampler.interval_s

    def set_interval(self, interval_s: float) -> None:
        """Forwarded to the sampler (raises UsageError out of range)."""
        self.sampler.set_interval(interval_s)

    def pause(self) -> None:
        """Stop delivering."""
        self._paused = True

    def resume(self) -> None:
        """Deliver again."""
        self._paused = False

    async def step(self) -> Snapshot:
        """Take the next sample now and hand it to the stream (dropped while paused)."""
        snap = await self.sampler.sample_once()
        if not self._paused:
            self._pending = snap
            self._ready.set()
        return snap

    async def stream(self) -> AsyncIterator[Snapshot]:
        """Yield each stepped snapshot (latest wins)."""
        while not self.closed:
            await self._ready.wait()
            self._ready.clear()
            snap, self._pending = self._pending, None
            if snap is not None:
                self.delivered += 1
                yield snap

    async def aclose(self) -> None:
        """Stop the stream."""
        self.closed = True
        self._ready.set()
        await self.sampler.aclose()


def linux_frames(index: int) -> ScriptedFrame:
    """A Linux-like host: every OffloadState InHost, no AppliedSetting, bytes moving."""
    conns = [
        ScriptedConn(
            "255.255.255.250",
            65535,
            "203.0.113.254",
            65534,
            TcpState.ESTABLISHED,
            pid=303,
            offload_state=0,
            tcp_info=info(10_000 + 8192 * index, 5_000 + 2048 * index),
        ),
        ScriptedConn("0.0.0.0", 5432, "0.0.0.0", 0, TcpState.LISTEN, pid=303, offload_state=0),
        ScriptedConn(
            "10.0.0.5",
            22,
            "198.51.100.7",
            40022,
            TcpState.ESTABLISHED,
            pid=202,
            offload_state=0,
            tcp_info=info(9_000 + 100 * index, 7_000),
        ),
        ScriptedConn(
            "10.0.0.5",
            80,
            "192.0.2.12",
            51002,
            TcpState.TIME_WAIT,
            owner_status=OwnerStatus.NO_OWNER,
            offload_state=0,
        ),
    ]
    return ScriptedFrame(conns, PROCS)
