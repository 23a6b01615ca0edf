"""start_early: the first sample runs before the loop, and the loop uses it (no second call)."""

from __future__ import annotations

from core.connections.first_page import PageRequest
from core.sampling.sampler import Sampler
from tests.core.test_sampler import SlowSource, frame, take


async def test_the_loop_picks_up_the_early_first_sample() -> None:
    source = SlowSource([frame(1, 2), frame(1, 2, 3)], delay_s=0.05)
    sampler = Sampler(source, interval_s=0.1)
    sampler.start_early()
    sampler.start_early()  # once only
    try:
        first, second = await take(sampler, 2)
    finally:
        await sampler.aclose()
    assert len(first.connections) == 2 and len(second.connections) == 3
    assert first.started_at == first.time  # the early call's time is the run's start
    assert sampler.max_concurrent_calls == 1
    assert len(source.calls) >= 2
    (_, end1), (start2, _) = source.calls[:2]
    assert start2 >= end1  # never overlapping


async def test_an_early_failure_is_reported_in_the_stream() -> None:
    source = SlowSource([OSError("netlink went away"), frame(1)], delay_s=0.0)
    sampler = Sampler(source, interval_s=0.1)
    sampler.start_early()
    try:
        failed, recovered = await take(sampler, 2)
    finally:
        await sampler.aclose()
    assert failed.error is not None and "netlink went away" in failed.error.message
    assert recovered.error is None and len(recovered.connections) == 1


async def test_a_page_request_to_a_source_without_pages_changes_nothing() -> None:
    source = SlowSource([frame(1, 2), frame(1, 2, 3)], delay_s=0.01)
    sampler = Sampler(source, interval_s=0.1)
    sampler.start_early(PageRequest(rows=10))
    try:
        first, second = await take(sampler, 2)
    finally:
        await sampler.aclose()
    assert first.page is None and first.seq == 1 and len(first.connections) == 2
    assert second.seq == 2
