"""The table's sorted index: patched per tick, it must equal an index built from scratch.

Hypothesis plays random sequences of frames (connections appearing, closing, changing state
and owner) through the real Sampler; after every tick the incrementally updated index must
list exactly the rows, in exactly the order, of a fresh index over the same snapshot, for
every sort column, both directions and a filter. Column layout rules are checked here too.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.connections.model import ProcessInfo, TcpState
from core.connections.query import SORT_COLUMNS, parse_query
from core.connections.row_index import RowIndex
from core.connections.snapshot import Snapshot
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.sampling.sampler import Sampler
from tui.connections.columns import COLUMNS, layout

PROCS = {p: ProcessInfo(p, f"p{p % 3}", "u", None, None, None) for p in range(1, 6)}
ROW = st.tuples(
    st.integers(1, 40),  # local port (identity)
    st.sampled_from(list(TcpState)),
    st.one_of(st.none(), st.integers(1, 5)),
)
FRAMES = st.lists(st.lists(ROW, max_size=30, unique_by=lambda r: r[0]), min_size=1, max_size=8)


def frame(rows: list[tuple[int, TcpState, int | None]]) -> ScriptedFrame:
    return ScriptedFrame(
        [
            ScriptedConn("10.0.0.1", port, "10.0.0.2", 80, state, pid=pid, offload_state=port % 4)
            for port, state, pid in rows
        ],
        PROCS,
    )


def snapshots(frames: list[list[tuple[int, TcpState, int | None]]]) -> list[Snapshot]:
    sampler = Sampler(
        ScriptedSource([frame(f) for f in frames]),
        ghost_ttl_s=2.0,
        clock=StepClock(datetime(2026, 1, 1, tzinfo=UTC)),
    )

    async def take() -> list[Snapshot]:
        return [await sampler.sample_once() for _ in frames]

    return asyncio.run(take())


def order(index: RowIndex) -> list[str]:
    return [index.row_id(i) for i in range(len(index))]


@settings(max_examples=80, deadline=None)
@given(
    FRAMES,
    st.sampled_from(SORT_COLUMNS),
    st.booleans(),
    st.sampled_from(["", "!state:l"]),
    st.lists(st.booleans(), min_size=8, max_size=8),
)
# Found by CI: an owner that goes away (pid 1 → none) without a State change must re-sort.
@example(
    [[(1, TcpState.CLOSED, 1)], [(1, TcpState.CLOSED, None), (2, TcpState.CLOSED, None)]],
    "pid",
    False,
    "",
    [False] * 8,
)
def test_incremental_index_equals_a_fresh_one(
    frames: list[list[tuple[int, TcpState, int | None]]],
    column: str,
    reverse: bool,
    text: str,
    skips: list[bool],
) -> None:
    live = RowIndex(column, reverse)
    live.set_query(parse_query(text))
    for snap, skip in zip(snapshots(frames), skips, strict=False):
        if skip:
            continue  # a snapshot the consumer never applied: the next diff does not cover it
        live.update(snap, 2.0)
        fresh = RowIndex(column, reverse)
        fresh.set_query(parse_query(text))
        fresh.update(snap, 2.0)
        assert order(live) == order(fresh)
        assert live.counts_all == fresh.counts_all
        assert live.counts_filtered == fresh.counts_filtered
        assert set(live.ghosts) == set(fresh.ghosts)
        shown = {
            k
            for k in snap.connections
            if parse_query(text).matches(
                snap.connections[k], PROCS.get(snap.connections[k].owning_process or 0)
            )
        }
        assert shown <= set(order(live))


def test_layout_at_80_keeps_full_ipv4_endpoints_and_a_readable_process() -> None:
    cols = layout(79)  # 80 minus the scrollbar
    widths = {c.key: w for c, w in cols}
    assert list(widths) == ["marker", "state", "local", "remote", "pid", "process"]
    assert widths["local"] >= len("255.255.255.255:65535") <= widths["remote"]
    assert widths["process"] >= 12
    assert sum(w for _, w in cols) + len(cols) - 1 == 79


def test_layout_keeps_the_sort_column_and_drops_folded_ones() -> None:
    keys = [c.key for c, _ in layout(79, hidden={"offload"}, keep="offload")]
    assert "offload" in keys  # sorted by it: its arrow must show
    assert "age" in [c.key for c, _ in layout(79, keep="age")]
    wide = [c.key for c, _ in layout(199, hidden={"user", "offload", "applied"})]
    assert "offload" not in wide and "applied" not in wide


def test_layout_when_wide_shows_every_default_column_and_fits() -> None:
    cols = layout(199)
    assert [c.key for c, _ in cols] == [c.key for c in COLUMNS if c.key != "user"]
    assert {"in_rate", "out_rate", "service"} <= {c.key for c, _ in cols}
    assert sum(w for _, w in cols) + len(cols) - 1 == 199
    assert all(w >= c.width for c, w in cols)


def _sorted_after_preparing(
    frames: list[list[tuple[int, TcpState, int | None]]],
    column: str,
    text: str,
    slices: list[int],
    *,
    finish: bool,
) -> tuple[list[str], list[str]]:
    """Prepare the column after ``column`` in ``slices`` between ticks (to the end when
    ``finish``), sort by it; returns that order and a fresh index's order."""
    following = SORT_COLUMNS[(SORT_COLUMNS.index(column) + 1) % len(SORT_COLUMNS)]
    live = RowIndex(column)
    live.set_query(parse_query(text))
    snaps = snapshots(frames)
    for snap, rows in zip(snaps, slices, strict=False):
        live.update(snap, 2.0)
        if rows:
            live.prepare(following, rows_per_step=rows)
    while finish and not live.prepare(following, rows_per_step=3):
        pass
    live.set_sort(following, False)
    fresh = RowIndex(following)
    fresh.set_query(parse_query(text))
    fresh.update(snaps[-1], 2.0)
    return order(live), order(fresh)


@settings(max_examples=60, deadline=None)
@given(
    FRAMES,
    st.sampled_from(SORT_COLUMNS),
    st.sampled_from(["", "!state:l"]),
    st.lists(st.integers(1, 12), min_size=8, max_size=8),
)
def test_keys_prepared_ahead_equal_a_fresh_sort(
    frames: list[list[tuple[int, TcpState, int | None]]],
    column: str,
    text: str,
    slices: list[int],
) -> None:
    """Keys of the next column, computed in slices between ticks, sort like a fresh index."""
    live, fresh = _sorted_after_preparing(frames, column, text, slices, finish=True)
    assert live == fresh


@settings(max_examples=60, deadline=None)
@given(
    FRAMES,
    st.sampled_from(SORT_COLUMNS),
    st.sampled_from(["", "!state:l"]),
    st.lists(st.integers(0, 3), min_size=8, max_size=8),
)
def test_sorting_by_a_partly_prepared_column_equals_a_fresh_sort(
    frames: list[list[tuple[int, TcpState, int | None]]],
    column: str,
    text: str,
    slices: list[int],
) -> None:
    """`s` again before idle time keyed every row: the rest are keyed then, same order."""
    live, fresh = _sorted_after_preparing(frames, column, text, slices, finish=False)
    assert live == fresh
