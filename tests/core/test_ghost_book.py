"""The sampler's ghosts kept in place (GhostBook) and the table fed by their deltas.

The book must hold exactly the ghosts :func:`next_ghosts` makes (the rule a recording's reader
replays), whatever the order of closes, reopenings and clock steps, and each delta must turn
the last ghosts into the new ones. The table (RowIndex) fed by the real Sampler's deltas must
show what a table that looks at every ghost shows, tick after tick; and it must really take
the delta's way (else these tests would pass on the old code path alone).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.model import TcpConnection, TcpState
from core.connections.row_index import RowIndex
from core.connections.snapshot import Ghost, GhostBook, Snapshot, next_ghosts
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.connections.tick_changes import tick_changes
from core.recording.redact import SnapshotRedactor
from core.sampling.sampler import Sampler

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = st.sampled_from([f"k{i}" for i in range(12)])
STEP = st.tuples(
    st.sets(KEYS, max_size=5),  # closed this sample
    st.sets(KEYS, max_size=3),  # open again this sample
    st.sampled_from([0.0, 0.5, 1.0, 2.5, -3.0]),  # seconds since the last sample (may go back)
)


@dataclass(frozen=True)
class Record:
    """A ghost's record, as far as the book reads it."""

    instance_id: str


def record(key: str) -> TcpConnection:
    return cast(TcpConnection, Record(key))


def conn(port: int) -> ScriptedConn:
    return ScriptedConn("10.0.0.1", port + 1, "10.0.0.2", 80, TcpState.ESTABLISHED)


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=25), st.sampled_from([0.5, 2.0, 5.0]))
def test_the_book_holds_what_next_ghosts_makes_and_its_deltas_add_up(
    steps: list[tuple[set[str], set[str], float]], ttl_s: float
) -> None:
    book = GhostBook(ttl_s)
    expected: dict[str, Ghost] = {}
    shown: dict[str, Ghost] = {}  # a consumer applying only the deltas
    gen = None
    now = T0
    for closed, reopened, dt in steps:
        now += timedelta(seconds=dt)
        removed = [(key, record(key)) for key in sorted(closed - reopened)]
        delta = book.advance(removed, sorted(reopened - closed), now)
        expected = next_ghosts(expected, removed, sorted(reopened - closed), now, ttl_s)
        # same ghosts: keys, times and records
        assert {k: (g.closed_at, g.connection) for k, g in book.ghosts.items()} == {
            k: (g.closed_at, g.connection) for k, g in expected.items()
        }
        assert gen is None or delta.since == gen
        gen = delta.gen
        for key in delta.dropped:
            shown.pop(key, None)
        shown.update((g.connection.instance_id, g) for g in delta.added)
        assert shown.keys() == book.ghosts.keys()
        assert all(shown[k] is book.ghosts[k] for k in shown)


def snapshots(frames: list[list[int]], ttl_s: float) -> list[Snapshot]:
    """The real Sampler over scripted frames (the ports open in each), 1 s apart."""
    source = ScriptedSource([ScriptedFrame([conn(p) for p in ports], {}) for ports in frames])
    sampler = Sampler(source, ghost_ttl_s=ttl_s, clock=StepClock(T0))

    async def take() -> list[Snapshot]:
        return [await sampler.sample_once() for _ in frames]

    return asyncio.run(take())


FRAMES = st.lists(st.lists(st.integers(0, 20), max_size=15, unique=True), min_size=2, max_size=10)


@settings(max_examples=60, deadline=None)
@given(
    FRAMES,
    st.sampled_from([1.0, 3.0]),
    st.sampled_from([0.5, 1.0, 3.0, 10.0]),
    st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_a_table_fed_deltas_shows_what_a_full_look_shows(
    frames: list[list[int]], sampler_ttl: float, table_ttl: float, skips: list[bool]
) -> None:
    live = RowIndex("state", False)
    for snap, skip in zip(snapshots(frames, sampler_ttl), skips, strict=False):
        if skip:
            continue  # never applied here: the next delta does not start from what it holds
        live.update(snap, table_ttl)
        fresh = RowIndex("state", False)
        fresh.update(snap, table_ttl)
        assert [live.row_id(i) for i in range(len(live))] == [
            fresh.row_id(i) for i in range(len(fresh))
        ]
        assert live.ghosts == fresh.ghosts
        assert dict(live.rows.ghosts) == dict(fresh.rows.ghosts)
        assert live.counts_all == fresh.counts_all


def test_ticks_take_the_deltas_way_when_they_follow(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    given_deltas: list[object] = []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        given_deltas.append(kwargs.get("delta"))
        return tick_changes(*args, **kwargs)

    monkeypatch.setattr("core.connections.row_index.tick_changes", spy)
    frames = [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]]
    snaps = snapshots(frames, 3.0)
    index = RowIndex("state", False)
    for snap in snaps:
        index.update(snap, 3.0)
    # the first snapshot has nothing to start from; every later one follows the last
    assert given_deltas[0] is None
    assert all(d is not None for d in given_deltas[1:])
    fresh = RowIndex("state", False)
    fresh.update(snaps[-1], 3.0)
    assert index.ghosts and index.ghosts == fresh.ghosts
    # a table that shows ghosts for less time than the sampler keeps them looks at each
    given_deltas.clear()
    short = RowIndex("state", False)
    for snap in snaps:
        short.update(snap, 1.0)
    assert given_deltas and all(d is None for d in given_deltas)


def test_a_redacted_feeds_ghost_rows_are_redacted() -> None:
    """``--redact`` rewrites every snapshot, ghosts included; the sampler's delta holds its
    own, real records, so a redacted snapshot must not carry it into the table."""
    redactor = SnapshotRedactor()
    frames = [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6], [4, 5, 6, 7]]
    index = RowIndex("state", False)
    for snap in snapshots(frames, 3.0):
        index.update(redactor.snapshot(snap), 3.0)
    assert index.rows.ghosts
    shown = {c.local_address for c in index.rows.ghosts.values()}
    assert "10.0.0.1" not in shown, shown
