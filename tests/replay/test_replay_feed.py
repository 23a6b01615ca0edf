"""The replay feed: a Feed and Seekable; plays, pauses, steps, seeks, changes speed; parses seek
text; the A/B diff of connections and IPsec counters; never writes to the file."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.connections.model import TcpState
from core.connections.snapshot import Snapshot, StateChange
from core.demo import ipsec as demo_ipsec
from core.demo import scenario
from core.errors import UsageError
from core.ipsec.model import Kind
from core.recording.replay import (
    SPEEDS,
    ReplayFeed,
    diff_between,
    next_speed,
    open_replay,
    parse_seek,
)
from core.sampling.feed import Feed, Seekable
from tests.recording.util import demo_snapshots, write_recording

N = 300


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(9, N, interval_s=0.1)


@pytest.fixture(scope="module")
def path(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("replay") / "demo.tsr"
    write_recording(p, snaps, key_every=64)
    os.chmod(p, 0o444)
    return p


@pytest.fixture
def feed(path: Path) -> ReplayFeed:
    return open_replay(path)


async def nxt(stream: AsyncIterator[Snapshot]) -> Snapshot:
    return await asyncio.wait_for(anext(stream), 30)


def test_protocols(feed: ReplayFeed, snaps: list[Snapshot]) -> None:
    assert isinstance(feed, Feed) and isinstance(feed, Seekable)
    assert not feed.live
    assert feed.source_name == "replay:demo.tsr"
    assert feed.start_time == snaps[0].time and feed.end_time == snaps[-1].time
    assert feed.position == feed.start_time
    assert feed.length == N and feed.speed == 1.0
    assert feed.interval_s == pytest.approx(0.1)


async def test_plays_in_order_then_pauses_at_the_end(feed: ReplayFeed) -> None:
    feed.set_speed(16)
    stream = feed.stream()
    seqs = [(await nxt(stream)).seq for _ in range(40)]
    assert seqs == list(range(1, 41))
    feed.seek_index(N - 3)
    await nxt(stream)
    tail = [await nxt(stream) for _ in range(2)]
    assert [s.seq for s in tail] == [N - 1, N]
    assert feed.paused and tail[-1].paused
    feed.resume()  # at the end: plays again from the start
    assert (await nxt(stream)).seq == 1
    await feed.aclose()


async def test_pause_step_and_clamp(feed: ReplayFeed, snaps: list[Snapshot]) -> None:
    stream = feed.stream()
    first = await nxt(stream)
    assert first.seq == 1
    feed.step(5)
    snap = await nxt(stream)
    assert feed.paused and snap.paused and snap.seq == 6
    # its own changes (from sample 5), not those since the sample shown before the step
    assert snap.diff.added == snaps[5].connections.keys() - snaps[4].connections.keys()
    feed.step(-1)
    assert (await nxt(stream)).seq == 5
    feed.step(-100)
    assert (await nxt(stream)).seq == 1
    feed.step(10_000)
    assert (await nxt(stream)).seq == N
    # Paused: nothing comes until a control.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.5)
    await feed.aclose()


async def test_seek_by_time_and_text(feed: ReplayFeed, snaps: list[Snapshot]) -> None:
    stream = feed.stream()
    await nxt(stream)
    feed.pause()
    await nxt(stream)
    feed.seek(snaps[100].time + timedelta(milliseconds=50))
    assert (await nxt(stream)).seq == 101  # last sample at or before
    feed.seek(parse_seek("+2s", feed.position))
    assert (await nxt(stream)).seq == 121  # 2 s at 0.1 s per sample
    feed.seek(parse_seek("-1m", feed.position))
    assert (await nxt(stream)).seq == 1  # before the start: the first sample
    feed.seek(parse_seek("09:00:15", feed.position))
    assert (await nxt(stream)).seq == 160  # the last the bar labels 09:00:15 (09:00:15.9)
    feed.seek(parse_seek("09:00:15.0", feed.position))
    assert (await nxt(stream)).seq == 151  # a fraction typed is taken as it is
    await feed.aclose()


def markers(snap: Snapshot) -> tuple[frozenset[str], frozenset[str], frozenset[StateChange]]:
    """What the table marks of ``snap``: new rows (``+``), closed ones, State changes (``~``)."""
    d = snap.diff
    return d.added, d.removed, frozenset(d.state_changed)


@pytest.mark.parametrize("k", [1, 63, 64, 182, 299])
async def test_markers_after_a_seek_are_the_samples_own(
    feed: ReplayFeed, snaps: list[Snapshot], k: int
) -> None:
    """A seek showed ``+`` and ``~`` against the sample shown before the jump, so rows minutes
    old came up ``+ Established`` (and ``,`` ``.`` to the same sample dropped the ``+``); the
    markers of sample k are its change from sample k-1, as live, however it is reached."""
    stream = feed.stream()
    await nxt(stream)
    feed.pause()
    await nxt(stream)
    for start in (0, N - 1):  # a jump forwards and one backwards
        feed.seek_index(start)
        await nxt(stream)
        feed.seek(snaps[k].time)
        sought = await nxt(stream)
        assert sought.seq == k + 1
        feed.step(-1)
        await nxt(stream)
        feed.step(1)
        stepped = await nxt(stream)
        assert stepped.seq == k + 1
        assert markers(sought) == markers(stepped) == markers(snaps[k])
    await feed.aclose()


def test_parse_seek_forms() -> None:
    pos = datetime(2026, 1, 15, 23, 59, 0, tzinfo=UTC)
    assert parse_seek("+90s", pos) == pos + timedelta(seconds=90)
    assert parse_seek("-2m", pos) == pos - timedelta(minutes=2)
    assert parse_seek("+1h30m", pos) == pos + timedelta(minutes=90)
    assert parse_seek("-15", pos) == pos - timedelta(seconds=15)
    # a time without a fraction names the whole second the bar shows: its last microsecond
    rest = timedelta(microseconds=999_999)
    assert parse_seek("23:58:30", pos) == pos - timedelta(seconds=30) + rest
    assert parse_seek("00:01", pos) == pos + timedelta(minutes=2) + rest  # the nearest day
    assert parse_seek("23:58:30.25", pos) == pos - timedelta(seconds=29.75)
    iso = datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert parse_seek("2026-01-15T10:00:00+00:00", pos) == iso + rest
    assert parse_seek("2026-01-15T10:00:00.5+00:00", pos) == iso + timedelta(seconds=0.5)
    for bad in ("", "soon", "25:00:00", "+", "12:61"):
        with pytest.raises(UsageError):
            parse_seek(bad, pos)


def test_an_offset_or_time_beyond_any_date_is_a_usage_error() -> None:
    """``+99999999h`` raised OverflowError (no date so far away) through the app, which
    crashed: now it is refused as ``abc`` is. One within the dates stays a time the feed
    clamps to the recording."""
    pos = datetime(2026, 1, 15, 23, 59, 0, tzinfo=UTC)
    for far in ("+99999999h", "-99999999h", "+99999999999999999999s", "+" + "9" * 400):
        with pytest.raises(UsageError, match="seek offset out of range"):
            parse_seek(far, pos)
    assert parse_seek("+9999999h", pos) == pos + timedelta(hours=9999999)
    last = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)  # a crafted recording's times
    with pytest.raises(UsageError, match="seek offset out of range"):
        parse_seek("+1m", last)
    assert parse_seek("23:59:59", last) == datetime.max.replace(tzinfo=UTC)  # no next day
    assert parse_seek("00:00:15.0", datetime(1, 1, 1, tzinfo=UTC)) == datetime(
        1, 1, 1, 0, 0, 15, tzinfo=UTC
    )


def test_speed_bounds_and_steps(feed: ReplayFeed) -> None:
    for speed in SPEEDS:
        feed.set_speed(speed)
        assert feed.speed == speed
    for bad in (0.1, 32, 0):
        with pytest.raises(UsageError):
            feed.set_speed(bad)
    assert next_speed(1.0, +1) == 2.0 and next_speed(1.0, -1) == 0.5
    assert next_speed(16, +1) == 16 and next_speed(0.25, -1) == 0.25


async def test_speed_changes_the_pace(feed: ReplayFeed) -> None:
    """At ×16 a 0.1 s recording plays 16 samples per (recorded) second: measured by the
    playback clock the feed reports (the recorded gap / speed), not by wall time."""
    feed.set_speed(16)
    assert feed.delay_s == pytest.approx(0.1 / 16)
    feed.set_speed(0.25)
    assert feed.delay_s == pytest.approx(0.4)


async def test_replay_never_writes(path: Path, snaps: list[Snapshot]) -> None:
    before = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
    feed = open_replay(path)  # the file is read-only (0444): opening for write would fail
    stream = feed.stream()
    feed.set_speed(16)
    for _ in range(10):
        await nxt(stream)
    feed.seek(snaps[250].time)
    await nxt(stream)
    await feed.aclose()
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


def test_diff_between_marks(snaps: list[Snapshot]) -> None:
    a, b = snaps[100], snaps[200]
    diff = diff_between(a, b)
    assert {c.instance_id for c in diff.added} == b.connections.keys() - a.connections.keys()
    assert {c.instance_id for c in diff.removed} == a.connections.keys() - b.connections.keys()
    changed = {
        k
        for k in a.connections.keys() & b.connections.keys()
        if a.connections[k].state != b.connections[k].state
    }
    assert {c.before.instance_id for c in diff.state_changed} == changed
    # ledgerd's leak: its connections that were ESTABLISHED at A are CLOSE_WAIT at B.
    leaked = [c for c in diff.state_changed if c.after.owning_process == scenario.PID_LEDGER]
    assert leaked and all(c.after.state is TcpState.CLOSE_WAIT for c in leaked)
    assert diff.elapsed == b.time - a.time


def test_counter_deltas_and_reset(snaps: list[Snapshot]) -> None:
    a, b = snaps[190], snaps[230]
    diff = diff_between(a, b)
    assert len(diff.counters) == 21
    by_name = {d.counter: d for d in diff.counters}
    auth = by_name["AuthenticationFailures"]
    assert auth.delta is not None and auth.delta > 0
    assert auth.delta == (auth.after or 0) - (auth.before or 0)
    assert by_name["ActiveReceive"].kind is Kind.GAUGE
    # Across the IKE service restart, running totals went down: a reset, no delta.
    across = diff_between(snaps[demo_ipsec.RESTART_AT - 5], snaps[demo_ipsec.RESTART_AT + 5])
    invalid = next(d for d in across.counters if d.counter == "InvalidPackets")
    assert invalid.reset and invalid.delta is None
    # Without IPsec on either side there are no counter deltas.
    import dataclasses

    assert diff_between(dataclasses.replace(a, ipsec=None), b).counters == ()


def test_empty_recording_is_refused(tmp_path: Path, snaps: list[Snapshot]) -> None:
    from core.errors import RecordingError

    p = tmp_path / "head-only.tsr"
    write_recording(p, snaps[:1])
    data = p.read_bytes()
    import gzip

    header = gzip.decompress(data).splitlines()[0] + b"\n"
    p.write_bytes(gzip.compress(header))
    with pytest.raises(RecordingError, match="no samples"):
        open_replay(p)


@pytest.mark.parametrize("spins", [0, 1, 2, 3])
async def test_a_cancel_that_meets_a_control_still_ends_playback(path: Path, spins: int) -> None:
    """Cancelling a playing replay in the moment a control woke it (a speed change) was lost
    in Python 3.11's ``asyncio.wait_for``: the task played on to the recording's end."""
    feed = open_replay(path)
    feed.set_interval(5)

    async def play() -> None:
        async for _ in feed.stream():
            pass

    task = asyncio.create_task(play())
    await asyncio.sleep(0.05)  # the first sample out, waiting for the next
    feed.set_speed(2)
    for _ in range(spins):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    try:
        assert done == {task} and task.cancelled()
    finally:
        await feed.aclose()
