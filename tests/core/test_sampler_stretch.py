"""A sampler whose samples outlast the interval stretches the interval by itself, and says so."""

from __future__ import annotations

import pytest

from core.sampling.controls import MAX_INTERVAL_S
from core.sampling.sampler import STRETCH, Sampler, stretched_interval
from tests.core.test_sampler import SlowSource, frame, take


def test_the_interval_holds_while_samples_fit_in_it() -> None:
    assert stretched_interval(1.0, 0.4) is None
    assert stretched_interval(1.0, 1.0) is None
    assert stretched_interval(1.0, 2.0) == pytest.approx(2.0 * STRETCH)
    assert stretched_interval(1.0, 100.0) == MAX_INTERVAL_S


class WaitsNoted(Sampler):
    """A Sampler that notes how long its loop asks to wait before each next sample."""

    waits: list[float]

    async def _sleep(self, delay_s: float) -> None:
        self.waits = [*getattr(self, "waits", []), delay_s]
        await super()._sleep(delay_s)


async def test_slow_samples_stretch_the_interval_and_the_snapshot_tells() -> None:
    source = SlowSource([frame(1, 2, 3)], delay_s=0.3)
    sampler = WaitsNoted(source, interval_s=0.1)
    try:
        first, second = await take(sampler, 2)
    finally:
        await sampler.aclose()
    for snap in (first, second):
        took_s = snap.stats.sample_ms / 1000
        assert took_s > snap.interval_s  # the source really is slower than the interval
        assert snap.stats.stretched_interval_s == stretched_interval(0.1, took_s)
    # After a 0.3 s sample the configured 0.1 s would mean no wait at all; the loop waits for
    # the rest of the stretched interval instead.
    assert sampler.waits[0] > 0


async def test_fast_samples_keep_the_configured_interval() -> None:
    source = SlowSource([frame(1, 2, 3)], delay_s=0.0)
    sampler = Sampler(source, interval_s=1.0)
    try:
        (snap,) = await take(sampler, 1)
    finally:
        await sampler.aclose()
    assert snap.stats.stretched_interval_s is None
