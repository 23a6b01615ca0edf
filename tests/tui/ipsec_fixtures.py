"""A scripted IPsec provider: deterministic frames fed to the real IpsecSampler in screen tests.

Why: the IPsec screen must be tested on data whose rates, resets and history are computed by the
real ``core.ipsec.sampling`` code, yet without a daemon and with exact, repeatable numbers. Each
``read()`` plays the next frame through ``make_reading`` (the helper every real provider uses), so
grades, sources and not-reported reasons are the real ones too. No mock: this is one more
implementation of ``core.ipsec.providers.base.Provider``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from core.connections.snapshot import ConnectionDiff, Snapshot
from core.ipsec.model import ChildSa, IkeSa, IpsecView, ProviderReading
from core.ipsec.providers._vici import describe_error
from core.ipsec.providers.base import Provider, make_reading
from core.sampling.controls import FeedControls


@dataclass(frozen=True, slots=True)
class IpsecFrame:
    """What a scripted provider reports in one read."""

    values: Mapping[str, int | None] = field(default_factory=dict)
    """Counter values by WMI name (missing → None with the reason below or the error)."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    native: Mapping[str, int] = field(default_factory=dict)
    native_totals: frozenset[str] = frozenset()
    native_reasons: Mapping[str, str] = field(default_factory=dict)
    sas: tuple[IkeSa, ...] = ()
    error: str | None = None
    available: bool = True
    reset: bool = False
    lower_bounds: Mapping[str, str] = field(default_factory=dict)
    """``lower bound: …`` texts by WMI name (events were missed)."""


FrameFn = Callable[[int], IpsecFrame]


class ScriptedIpsecProvider:
    """Plays ``frames`` (a list or a function of the read index); the last frame repeats."""

    def __init__(
        self,
        name: str,
        frames: Sequence[IpsecFrame] | FrameFn,
        *,
        instance: str | None = None,
        version: str | None = None,
    ) -> None:
        """Create the provider.

        Args:
            name: ``kernel``, ``strongswan`` or ``libreswan`` (selects the real grades).
            frames: what each read returns, in order.
            instance: the InstanceName shown (default ``<name>:scripted``).
            version: daemon/kernel version (strongSwan grading depends on it).
        """
        self.name = name
        self._frames = frames
        self._instance = instance or f"{name}:scripted"
        self._version = version
        self.reads = 0
        self.closed = False

    def _frame(self, index: int) -> IpsecFrame:
        if callable(self._frames):
            return self._frames(index)
        return self._frames[min(index, len(self._frames) - 1)]

    def read(self) -> ProviderReading:
        """The next frame as a reading (never raises)."""
        frame = self._frame(self.reads)
        self.reads += 1
        return make_reading(
            self.name,
            self._instance,
            dict(frame.values),
            reasons=dict(frame.reasons),
            version=self._version,
            native=dict(frame.native),
            native_totals=frame.native_totals,
            sas=frame.sas,
            error=frame.error,
            available=frame.available,
            reset=frame.reset,
            native_reasons=dict(frame.native_reasons),
            lower_bounds=dict(frame.lower_bounds),
        )

    def close(self) -> None:
        """Nothing to release."""
        self.closed = True


# --- the standard script used by the screen tests -------------------------------------------

VICI_PATH: Final = "/run/charon.vici"
VICI_MISSING: Final = describe_error(FileNotFoundError(2, "No such file"), VICI_PATH)[1]
"""The real provider's words for a missing VICI socket (read 3: charon gone)."""
VICI_RESET: Final = describe_error(
    ConnectionAbortedError(104, "reset by [bold]peer[/bold]\x1b[2J"), VICI_PATH
)[1]
"""The real provider's words for a dropped session (read 4), with markup and an escape in the
OS text: both must reach the screen literally (the escape made visible). (An OS error it
words itself, as a ConnectionResetError, would carry no OS text to escape.)"""
HOSTILE_ID: Final = "evil\x1b[2J\x1b]0;pwned\x07@peer [bold]x[/bold]"
"""A peer identity with terminal escapes and Rich markup: must be shown literally, escaped."""
RESET_AT: Final = 4
"""Read index at which the kernel's xfrm totals and KeyAdditions restart from a low value."""


def kernel_frame(i: int) -> IpsecFrame:
    """Kernel: totals grow steadily (KeyAdditions +3/read), restart at :data:`RESET_AT`."""
    base = i if i < RESET_AT else i - RESET_AT
    grow = 3 * base
    values: dict[str, int | None] = {
        "ActiveAcquire": i % 3,
        "ActiveReceive": 0,
        "ReceiveFailures": 7 + base,
        "SendFailures": 2,
        "AcquireHeapSize": (i % 3) + 1,
        "ReceiveHeapSize": 512 * (i % 2),
        "KeyAdditions": 1_000_000 + grow if i < RESET_AT else grow,
        "KeyUpdates": 1_000_000 + grow if i < RESET_AT else grow,
        "ConnectionListSize": 4,
    }
    native = {
        "XfrmInError": 0,
        "XfrmInNoStates": 12 + 2 * base,
        "XfrmOutNoStates": 5,
        "XfrmAcquireError": 1,
        "ike_udp_sockets": 2,
    }
    return IpsecFrame(
        values=values,
        native=native,
        native_totals=frozenset(
            {"XfrmInError", "XfrmInNoStates", "XfrmOutNoStates", "XfrmAcquireError"}
        ),
    )


def _sas(i: int) -> tuple[IkeSa, ...]:
    child = ChildSa(
        name="net-net",
        uniqueid="7",
        state="INSTALLED",
        mode="TUNNEL",
        protocol="ESP",
        algorithms="AES_GCM_16/256",
        spi_in="c1a2b3c4",
        spi_out="d5e6f708",
        local_ts=("10.1.0.0/16",),
        remote_ts=("10.2.0.0/16",),
        bytes_in=4096 * (i + 1),
        bytes_out=2048 * (i + 1),
        packets_in=40 * (i + 1),
        packets_out=20 * (i + 1),
    )
    return (
        IkeSa(
            name="site-b",
            uniqueid="3",
            state="ESTABLISHED",
            version="IKEv2",
            local_host="192.0.2.1",
            remote_host="198.51.100.7",
            local_id="gw-a.example",
            remote_id=HOSTILE_ID,
            initiator=True,
            algorithms="AES_CBC/256 HMAC_SHA2_256_128 PRF_HMAC_SHA2_256 MODP_2048",
            established_s=60 + i,
            children=(child,),
        ),
        IkeSa(
            name="roadwarrior",
            uniqueid="4",
            state="CONNECTING",
            version="IKEv1",
            local_host="192.0.2.1",
            remote_host="203.0.113.9",
        ),
    )


def strongswan_frame(i: int) -> IpsecFrame:
    """strongSwan: counters and SAs; the daemon is gone at read 3, the session drops at read 4,
    and it is back at read 5."""
    if i == 3:
        return IpsecFrame(error=VICI_MISSING, available=False)
    if i == 4:
        return IpsecFrame(error=VICI_RESET, available=True)
    values: dict[str, int | None] = {
        "ActiveAcquire": 1,
        "ActiveReceive": i % 2,
        "AcquireFailures": i,
        "AcquireHeapSize": 1,
        "NegotiationFailures": 2 * i,
        "InvalidCookiesReceived": 5,
        "TotalGetSPI": 10 + 2 * i,
        "KeyAdditions": 10 + 2 * i,
        "KeyUpdates": 10 + 2 * i,
        "ConnectionListSize": 1,
        "OakleyMainMode": 3 + i,
        "OakleyQuickMode": 10 + 2 * i,
        "InvalidPackets": 0,
    }
    native = {
        "ikesas.total": 2,
        "ikesas.half-open": 1,
        "ike-init-in-req": 4 + i,
        "ike-auth-in-req": 3 + i,
        "invalid-spi": 5,
    }
    return IpsecFrame(
        values=values,
        native=native,
        native_totals=frozenset({"ike-init-in-req", "ike-auth-in-req", "invalid-spi"}),
        sas=_sas(i),
    )


def standard_providers() -> list[ScriptedIpsecProvider]:
    """The kernel and strongSwan providers of the standard test script."""
    return [
        ScriptedIpsecProvider(
            "kernel", kernel_frame, instance="kernel:net:[4026531840]", version="6.1.0-test"
        ),
        ScriptedIpsecProvider(
            "strongswan", strongswan_frame, instance="strongswan:charon", version="5.9.8"
        ),
    ]


# --- a Feed that takes IPsec samples only when a test says so ---------------------------

START: Final = datetime(2026, 1, 15, 9, 0, 0, tzinfo=UTC)


class SteppedIpsecFeed(FeedControls):
    """A :class:`core.sampling.feed.Feed` whose snapshots carry the real IpsecSampler's views.

    Each :meth:`step` reads every provider once through ``IpsecSampler.sample()`` (rates over
    a step clock of ``interval_s`` per read) and hands the stream one snapshot. Nothing is timed,
    so what a test sees depends only on how many steps it took.
    """

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        interval_s: float = 1.0,
        history_s: float = 60.0,
    ) -> None:
        """Wrap a real IpsecSampler over ``providers``.

        Scripted providers get a scripted clock (one interval per read, so rates are exact);
        real ones (a lab charon) keep the sampler's monotonic clock.
        """
        from core.ipsec.sampling import IpsecSampler

        self.providers = list(providers)
        scripted = [p for p in self.providers if isinstance(p, ScriptedIpsecProvider)]
        if len(scripted) == len(self.providers):
            self.sampler = IpsecSampler(
                self.providers,
                interval_s=interval_s,
                history_s=history_s,
                clock=_PerSample(scripted, interval_s),
            )
        else:
            self.sampler = IpsecSampler(self.providers, interval_s=interval_s, history_s=history_s)
        FeedControls.__init__(self, interval_s)  # pause and interval as every feed keeps them
        self._reads = 0
        self._seq = 0
        self._latest: Snapshot | None = None
        self._ready = asyncio.Event()
        self.closed = False

    @property
    def live(self) -> bool:
        """Scripted data is not this host's."""
        return False

    @property
    def source_name(self) -> str:
        """Header text."""
        return "ipsec-test"

    def step(self, samples: int = 1) -> Snapshot:
        """Take ``samples`` IPsec samples; the stream yields the last one."""
        view: IpsecView | None = None
        for _ in range(samples):
            view = self.sampler.sample()
            self._reads += 1
        assert view is not None
        self._seq += 1
        when = START + timedelta(seconds=self._interval_s * self._reads)
        view = dataclasses.replace(view, time=when)
        snap = Snapshot(
            seq=self._seq,
            time=when,
            started_at=START,
            source="ipsec-test",
            interval_s=self._interval_s,
            connections={},
            diff=ConnectionDiff(),
            ipsec=view,
        )
        self._latest = snap
        self._ready.set()
        return snap

    async def stream(self) -> AsyncIterator[Snapshot]:
        """Each new snapshot once (latest wins)."""
        while not self.closed:
            await self._ready.wait()
            self._ready.clear()
            if self._latest is not None:
                yield self._latest

    async def aclose(self) -> None:
        """Stop the stream and close the providers."""
        self.closed = True
        self._ready.set()
        self.sampler.close()


class _PerSample:
    """The sampler's clock: the scripted time of the provider being read (interval per read).

    IpsecSampler asks the clock once per read, when it ends, in that read's own thread (named
    ``tcpscope-ipsec-<provider>``, see core.ipsec.reads); the time is that provider's read
    count × interval, so every provider sees exact 1-interval steps.
    """

    def __init__(self, providers: Sequence[ScriptedIpsecProvider], interval_s: float) -> None:
        self._providers = {p.name: p for p in providers}
        self._interval_s = interval_s

    def __call__(self) -> float:
        name = threading.current_thread().name.removeprefix("tcpscope-ipsec-")
        provider = self._providers[name]
        return provider.reads * self._interval_s
