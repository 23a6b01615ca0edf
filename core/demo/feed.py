"""The demo Feed: the real Sampler over the scripted demo host, IPsec readings in lock-step.

Why a thin wrapper instead of ``Sampler(..., ipsec=IpsecSampler(...))``: the sampler runs its
IPsec loop concurrently with the connection loop, so which IPsec reading rides with which
connection sample would depend on thread timing, and the demo promises the same screens frame
for frame for a seed. Here the IPsec sampler is read exactly once per connection sample
(catching up if the consumer skipped some), so snapshot *n* always carries IPsec reading *n*.
Everything else (records, diffs, ghosts, pause, interval, rates, resets) is the real code.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from core.connections.snapshot import Snapshot
from core.demo.ipsec import DemoIpsecProvider
from core.demo.scenario import frames
from core.demo.source import DemoSource
from core.ipsec.sampling import IpsecSampler
from core.sampling.controls import PassedControls, check_interval
from core.sampling.sampler import Sampler

if TYPE_CHECKING:
    from core.ipsec.model import IpsecView

DEMO_START: Final = datetime(2026, 1, 15, 9, 0, 0, tzinfo=UTC)
"""The demo host's clock starts here on every run."""
HISTORY_S: Final = 600.0


class DemoClock:
    """Starts at :data:`DEMO_START` and advances by the feed's current interval per call."""

    def __init__(self, interval: Callable[[], float], start: datetime = DEMO_START) -> None:
        """``interval`` is read on every tick, so ``set_interval`` keeps times consistent."""
        self._interval = interval
        self._next = start

    def __call__(self) -> datetime:
        """The current tick's time; advances the clock."""
        now = self._next
        self._next = now + timedelta(seconds=self._interval())
        return now


class _TickClock:
    """Monotonic seconds for the IPsec sampler that advance by the interval per reading, so
    the demo's rates do not depend on thread timing."""

    def __init__(self, interval: Callable[[], float]) -> None:
        self._interval = interval
        self._now = 0.0

    def __call__(self) -> float:
        self._now += self._interval()
        return self._now


def _ipsec_sampler(seed: int, interval: Callable[[], float]) -> IpsecSampler:
    """The real IPsec sampler over the demo provider, on the demo's clock."""
    provider = DemoIpsecProvider(seed, interval_s=interval())
    return IpsecSampler(
        [provider], interval_s=interval(), history_s=HISTORY_S, clock=_TickClock(interval)
    )


class DemoFeed(PassedControls):
    """Implements :class:`core.sampling.feed.Feed` for the demo host."""

    def __init__(self, seed: int, *, interval_s: float = 1.0, ipsec: bool = True) -> None:
        """Build the scripted source, the real sampler and the IPsec sampler; nothing runs yet."""
        self.seed = seed
        check_interval(interval_s)
        self._sampler = Sampler(
            DemoSource(frames(seed)),
            interval_s=interval_s,
            clock=DemoClock(lambda: self._sampler.interval_s),
        )
        super().__init__(self._sampler)
        interval = self._interval_now
        self._ipsec = _ipsec_sampler(seed, interval) if ipsec else None
        self._ipsec_reads = 0
        self._ipsec_view: IpsecView | None = None

    def _interval_now(self) -> float:
        return self._sampler.interval_s

    # --- Feed ----------------------------------------------------------------------
    @property
    def live(self) -> bool:
        """False: the demo host lives on its own clock (a fixed start), so ages and "last
        sample" must be measured against its sample times, as for a recording."""
        return False

    @property
    def source_name(self) -> str:
        """``demo``."""
        return "demo"

    def set_interval(self, interval_s: float) -> None:
        """Change the interval (the demo clock follows it)."""
        super().set_interval(interval_s)
        if self._ipsec is not None:
            self._ipsec.interval_s = interval_s

    async def stream(self) -> AsyncIterator[Snapshot]:
        """The sampler's snapshots, each with the IPsec reading of the same sample number."""
        async for snap in self._sampler.stream():
            yield await self._with_ipsec(snap)

    async def aclose(self) -> None:
        """Stop the sampler and the IPsec sampler."""
        await self._sampler.aclose()
        if self._ipsec is not None:
            await asyncio.to_thread(self._ipsec.close)

    # --- deterministic stepping (tests, screenshots, fast-forward) ------------------
    async def next_snapshot(self) -> Snapshot:
        """Take the next sample now, without the timed loop (same content as the stream)."""
        return await self._with_ipsec(await self._sampler.sample_once())

    async def advance(self, samples: int) -> Snapshot | None:
        """Fast-forward ``samples`` samples (e.g. to a scenario phase); returns the last."""
        snap: Snapshot | None = None
        for _ in range(samples):
            snap = await self.next_snapshot()
        return snap

    async def _with_ipsec(self, snap: Snapshot) -> Snapshot:
        # The real cost of a scripted sample is this machine's timing noise; the demo shows a
        # scripted cost instead so that its screens are the same on every run. For the same
        # reason it never shows a stretched interval: a busy machine stretched a demo sample
        # now and then, and the same seed then recorded a different header.
        stats = dataclasses.replace(
            snap.stats,
            sample_ms=round(0.35 + 0.004 * snap.stats.sockets, 3),
            stretched_interval_s=None,
        )
        snap = dataclasses.replace(snap, stats=stats)
        if self._ipsec is None:
            return snap
        if self._ipsec_reads < snap.seq:
            self._ipsec_view = await asyncio.to_thread(self._catch_up, snap.seq)
        view = self._ipsec_view
        if view is not None and view.time != snap.time:
            # The IPsec sampler stamps wall-clock time; the demo host lives on its own clock.
            view = dataclasses.replace(view, time=snap.time)
        return dataclasses.replace(snap, ipsec=view)

    def _catch_up(self, seq: int) -> IpsecView | None:
        assert self._ipsec is not None
        view: IpsecView | None = None
        while self._ipsec_reads < seq:
            view = self._ipsec.sample()
            self._ipsec_reads += 1
        return view


def demo_feed(seed: int, *, interval_s: float = 1.0, ipsec: bool = True) -> DemoFeed:
    """The demo :class:`core.sampling.feed.Feed` for ``seed`` (raises UsageError for a bad
    interval); ``ipsec=False`` leaves the IPsec tunnel out (``--no-ipsec``)."""
    return DemoFeed(seed, interval_s=interval_s, ipsec=ipsec)
