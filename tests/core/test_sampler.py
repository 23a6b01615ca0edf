"""The async sampler: no overlap, latest-wins, errors and hangs reported, pause, ghosts."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from core.connections.model import TcpState
from core.connections.snapshot import (
    ConnectionDiff,
    ErrorKind,
    Snapshot,
    StateChange,
    diff_connections,
)
from core.connections.sources.base import SourceSample
from core.connections.sources.scripted import (
    Frame,
    ScriptedConn,
    ScriptedFrame,
    ScriptedSource,
    StepClock,
)
from core.errors import AccessDenied, UsageError
from core.sampling.sampler import Sampler

START = datetime(2026, 1, 1, tzinfo=UTC)


def conn(port: int, state: TcpState = TcpState.ESTABLISHED) -> ScriptedConn:
    return ScriptedConn("192.0.2.1", 443, "198.51.100.7", port, state, pid=100)


def frame(*ports: int) -> ScriptedFrame:
    return ScriptedFrame([conn(p) for p in ports])


async def take(sampler: Sampler, n: int) -> list[Snapshot]:
    out: list[Snapshot] = []
    async for snap in sampler.stream():
        out.append(snap)
        if len(out) == n:
            break
    return out


class SlowSource(ScriptedSource):
    """A scripted source whose every call takes ``delay_s`` (a slow kernel, simulated)."""

    def __init__(self, frames: Sequence[Frame], delay_s: float) -> None:
        super().__init__(frames)
        self.delay_s = delay_s
        self.calls: list[tuple[float, float]] = []

    def sample(self, now: datetime, *, first: bool) -> SourceSample:
        began = time.monotonic()
        time.sleep(self.delay_s)
        result = super().sample(now, first=first)
        self.calls.append((began, time.monotonic()))
        return result


async def test_samples_never_overlap() -> None:
    source = SlowSource([frame(1)], delay_s=0.15)
    sampler = Sampler(source, interval_s=0.1)
    await take(sampler, 4)
    await sampler.aclose()
    assert sampler.max_concurrent_calls == 1
    for (_, end), (begin, _) in zip(source.calls, source.calls[1:], strict=False):
        assert begin >= end


async def test_slow_consumer_gets_latest_with_coalesced_diff() -> None:
    frames: list[Frame] = [frame(1), frame(1, 2), frame(1, 2, 3), frame(2, 3), frame(2, 3)]
    sampler = Sampler(ScriptedSource(frames), interval_s=0.1, clock=StepClock(START))
    stream = sampler.stream()
    first = await anext(stream)
    assert first.seq == 1
    # The consumer is busy; the sampler keeps going. (Wait for a published snapshot, not for
    # samples_taken: a source call is counted when it returns, a moment before publication.)
    while (latest := sampler.latest) is None or latest.seq < 4:
        await asyncio.sleep(0.05)
    snap = await anext(stream)
    await sampler.aclose()
    latest = sampler.latest
    assert latest is not None and snap.seq == latest.seq
    assert snap.seq >= 4
    assert snap.skipped >= 2
    added_ports = {int(key.rsplit(":", 1)[1]) for key in snap.diff.added}
    removed_ports = {int(key.rsplit(":", 1)[1]) for key in snap.diff.removed}
    assert added_ports == {2, 3}
    assert removed_ports == {1}


async def test_failing_source_reports_and_recovers() -> None:
    frames: list[Frame] = [
        frame(1),
        RuntimeError("netlink said no"),
        AccessDenied("needs CAP_NET_ADMIN"),
        frame(1, 2),
    ]
    sampler = Sampler(ScriptedSource(frames), interval_s=0.1, clock=StepClock(START))
    snaps = await take(sampler, 4)
    await sampler.aclose()
    ok, boom, denied, back = snaps
    assert ok.error is None and not ok.stale
    assert boom.error is not None and boom.error.kind is ErrorKind.EXCEPTION
    assert "netlink said no" in boom.error.message
    assert boom.stale and boom.connections == ok.connections
    assert denied.error is not None and denied.error.kind is ErrorKind.PERMISSION
    assert denied.error.since == boom.error.since
    assert back.error is None and not back.stale
    assert len(back.diff.added) == 1 and len(back.connections) == 2


async def test_hung_source_times_out_without_a_second_call() -> None:
    release = threading.Event()

    class HangingSource(ScriptedSource):
        def sample(self, now: datetime, *, first: bool) -> SourceSample:
            if not first:
                release.wait(10)
            return super().sample(now, first=first)

    # The first call answers at once, but a loaded host may not run its thread within 0.2 s:
    # the short timeout is for the hang only.
    sampler = Sampler(HangingSource([frame(1), frame(1, 2)]), interval_s=0.1, timeout_s=60)
    stream = sampler.stream()
    assert (await anext(stream)).error is None
    sampler.timeout_s = 0.2
    hung = await anext(stream)
    assert hung.error is not None and hung.error.kind is ErrorKind.TIMEOUT
    assert hung.stale
    hung_again = await anext(stream)
    assert hung_again.error is not None
    release.set()
    recovered = await anext(stream)
    while recovered.error is not None:
        recovered = await anext(stream)
    await sampler.aclose()
    assert len(recovered.connections) == 2
    assert sampler.max_concurrent_calls == 1


async def test_pause_stops_sampling_and_resume_restarts() -> None:
    sampler = Sampler(ScriptedSource([frame(1)]), interval_s=0.1)
    stream = sampler.stream()
    await anext(stream)
    sampler.pause()
    while sampler.calls_in_flight:  # a sample in flight still completes
        await asyncio.sleep(0.01)
    taken = sampler.samples_taken
    # An observation window of five intervals: a running sampler would sample in it. (A slow
    # host can only make it sample less, so the check cannot fail for timing reasons.)
    await asyncio.sleep(0.5)
    assert sampler.samples_taken == taken
    assert sampler.paused
    sampler.resume()
    first = await anext(stream)
    second = await anext(stream)
    await sampler.aclose()
    assert second.seq > first.seq
    assert sampler.samples_taken >= taken + 2


async def test_interval_changes_at_run_time() -> None:
    sampler = Sampler(ScriptedSource([frame(1)]), interval_s=30)
    stream = sampler.stream()
    await anext(stream)
    sampler.set_interval(0.1)  # wakes the 30 s sleep
    await asyncio.wait_for(anext(stream), 5)
    with pytest.raises(UsageError):
        sampler.set_interval(0.01)
    with pytest.raises(UsageError):
        sampler.set_interval(61)
    await sampler.aclose()
    assert sampler.interval_s == 0.1


async def test_ghosts_keep_last_state_and_expire() -> None:
    frames: list[Frame] = [
        ScriptedFrame([conn(1), conn(2)]),
        ScriptedFrame([conn(1), conn(2, TcpState.CLOSE_WAIT)]),
        ScriptedFrame([conn(1)]),
        *[ScriptedFrame([conn(1)])] * 6,
    ]
    sampler = Sampler(ScriptedSource(frames), interval_s=0.1, ghost_ttl_s=3, clock=StepClock(START))
    snaps = [await sampler.sample_once() for _ in range(8)]
    await sampler.aclose()
    assert snaps[1].diff.state_changed[0].new is TcpState.CLOSE_WAIT
    gone = snaps[2]
    assert len(gone.diff.removed) == 1
    (ghost,) = gone.ghosts
    assert ghost.connection.state is TcpState.CLOSE_WAIT
    assert ghost.closed_at == gone.time
    assert [len(s.ghosts) for s in snaps[2:]] == [1, 1, 1, 0, 0, 0]


async def test_creation_time_bounds_and_state_change_time() -> None:
    frames: list[Frame] = [
        ScriptedFrame([conn(1)]),
        ScriptedFrame([conn(1, TcpState.FIN_WAIT1), conn(2)]),
    ]
    sampler = Sampler(ScriptedSource(frames), clock=StepClock(START))
    before, after = [await sampler.sample_once() for _ in range(2)]
    await sampler.aclose()
    old = next(iter(before.connections.values()))
    assert old.created_before_start and old.creation_time == START
    assert old.state_changed_at is None and old.time_of_last_state_change is None
    changed = after.connections[old.instance_id]
    assert changed.creation_time == START
    assert changed.state_changed_at == after.time and changed.time_of_last_state_change is None
    new = next(c for c in after.connections.values() if c.remote_port == 2)
    assert not new.created_before_start and new.creation_time == after.time


def test_diff_then_folds_two_diffs() -> None:
    a = ConnectionDiff(
        frozenset({"x", "y"}),
        frozenset({"z"}),
        (StateChange("w", TcpState.LISTEN, TcpState.CLOSED),),
    )
    b = ConnectionDiff(
        frozenset({"z"}),
        frozenset({"y"}),
        (StateChange("x", TcpState.SYN_SENT, TcpState.ESTABLISHED),),
    )
    both = a.then(b)
    assert both.added == {"x"}  # y came and went; z went and came back
    assert both.removed == set()
    assert [c.instance_id for c in both.state_changed] == ["w"]


def test_diff_connections_uses_identity() -> None:
    src = ScriptedSource([frame(1, 2), ScriptedFrame([conn(1), conn(2, TcpState.CLOSE_WAIT)])])
    first = src.sample(START, first=True).connections
    second = src.sample(START, first=False).connections
    diff = diff_connections(first, second)
    assert not diff.added and not diff.removed
    assert [c.new for c in diff.state_changed] == [TcpState.CLOSE_WAIT]
    same = [k for k in first if first[k] is second[k]]
    assert len(same) == 1


async def test_ipsec_arrives_on_its_own_stream_at_its_own_interval() -> None:
    """A real IpsecSampler (kernel provider, /proc/net/xfrm_stat) delivers views between
    connection samples on its own stream; the connection stream does not repeat a sample."""
    from core.ipsec.providers import get_providers
    from core.ipsec.sampling import IpsecSampler

    ipsec = IpsecSampler(get_providers("kernel"), interval_s=0.2)
    sampler = Sampler(ScriptedSource([frame(1)]), interval_s=30, ipsec=ipsec)
    snaps = sampler.stream()
    first = await anext(snaps)
    views = []
    async for view in sampler.ipsec_stream():
        views.append(view)
        if len(views) == 3:
            break
    # One connection sample in 30 s, and no re-published copy of it in between.
    assert sampler.latest is first and first.seq == 1
    await sampler.aclose()
    assert len({v.time for v in views}) == len(views) == 3
    assert views[-1].active_providers == ("kernel",)


def test_a_replaced_record_without_state_change_is_listed_as_changed() -> None:
    owner_found = ScriptedFrame(
        [ScriptedConn("192.0.2.1", 443, "198.51.100.7", 1, TcpState.ESTABLISHED)]
    )
    src = ScriptedSource([owner_found, frame(1)])  # the second frame knows the owner (pid 100)
    first = src.sample(START, first=True).connections
    second = src.sample(START, first=False).connections
    diff = diff_connections(first, second)
    (key,) = second
    assert first[key].owning_process is None and second[key].owning_process == 100
    assert diff.changed == {key} and not diff.state_changed
    later = ConnectionDiff(removed=frozenset({key}))
    assert diff.then(later).changed == frozenset()


async def test_each_sample_gives_the_c_heaps_free_pages_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After every sample, in the sampling thread, the memory the sample freed goes back to
    the kernel (core.allocator.give_back; its effect on RSS: tests/core/test_allocator.py)."""
    from core import allocator

    threads: list[str] = []
    give_back = allocator.give_back

    def noted() -> None:
        threads.append(threading.current_thread().name)
        give_back()

    monkeypatch.setattr(allocator, "give_back", noted)
    sampler = Sampler(ScriptedSource([frame(1), frame(1, 2), frame(2)]), interval_s=0.1)
    await take(sampler, 3)
    await sampler.aclose()
    assert len(threads) >= 3
    assert threading.main_thread().name not in threads


@pytest.mark.parametrize("spins", [0, 1, 2, 3])
async def test_a_cancel_that_meets_a_wake_still_ends_the_loop(spins: int) -> None:
    """Cancelling the sampling loop in the same moment something woke its sleep (a new
    interval, a resume) was lost in Python 3.11's ``asyncio.wait_for``: the loop slept on,
    sampling forever, and an event loop closing its tasks (a test's end) hung on it."""
    sampler = Sampler(ScriptedSource([frame(1)] * 1000), interval_s=5)
    await take(sampler, 1)
    (loop_task,) = [t for t in asyncio.all_tasks() if t.get_name() == "tcpscope-sampler"]
    await asyncio.sleep(0.05)  # asleep until the next sample
    sampler.set_interval(5)
    for _ in range(spins):
        await asyncio.sleep(0)
    loop_task.cancel()
    done, _ = await asyncio.wait([loop_task], timeout=2)
    try:
        assert done == {loop_task} and loop_task.cancelled()
    finally:
        await sampler.aclose()
