"""The table's sorted index: patched per tick, it must equal an index built from scratch.

Hypothesis plays random sequences of frames (connections appearing, closing, changing state
and owner) through the real Sampler; after every tick the incrementally updated index must
list exactly the rows, in exactly the order, of a fresh index over the same snapshot, for
every sort column, both directions and a filter. Column layout rules are checked here too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.connections.model import ProcessInfo, TcpState
from core.connections.namespaces import NamespaceInfo, NamespaceView, ReadBy
from core.connections.order_build import OrderBuild
from core.connections.query import Query, parse_query
from core.connections.row_index import RowIndex
from core.connections.row_order import RowOrder
from core.connections.snapshot import Snapshot
from core.connections.sort_keys import SORT_COLUMNS
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.sampling.sampler import Sampler
from tui.connections.columns import (
    COLUMNS,
    ENOUGH_CUT,
    IPV4_ENDPOINT,
    OWNER_NARROWEST,
    SORTABLE,
    layout,
)
from tui.prefs import DEFAULT_HIDDEN

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


def test_a_kept_sort_column_at_80_pushes_out_pid_not_the_process_name() -> None:
    # The process's name says who owns the connection; its PID is in the detail pane.
    for key in ("user", "age", "service", "offload", "applied"):
        widths = {c.key: (w, c.title) for c, w in layout(79, keep=key)}
        assert "process" in widths and "pid" not in widths, (key, widths)
        width, title = widths[key]
        assert width >= len(title) + 1, (key, widths)  # the title whole, and its arrow
    assert [c.key for c, _ in layout(79, keep="pid")][-2:] == ["pid", "process"]


def test_every_sort_column_fits_with_its_arrow_from_60_columns_up() -> None:
    # The table gets the terminal's width less its scrollbar: 58 leaves room for a 2-cell one.
    # Between 60 and ~72 columns a sort by PID or Process once put the layout past the right
    # edge, and the sorted column (the only one saying what the rows are ordered by) was cut.
    for total in range(58, 200):
        for key in SORTABLE:
            cols = layout(total, keep=key)
            widths = {c.key: w for c, w in cols}
            assert sum(widths.values()) + len(cols) - 1 <= total, (total, key, widths)
            titles = {c.key: c.title for c, _ in cols}  # (Local, Remote when narrowed)
            assert key in widths and widths[key] >= len(titles[key]) + 1, (total, key)
            assert {"state", "local", "remote"} <= widths.keys(), (total, key, widths)
            # An endpoint may narrow, but keeps its port whole and a few cells of the address.
            assert min(widths["local"], widths["remote"]) >= len("192.…200:65535"), (total, key)
            local, remote = widths["local"], widths["remote"]
            if min(local, remote) >= IPV4_ENDPOINT:
                continue
            # Narrowed: the cut is shared (Local once took all of it, 127.…3.3:32772 beside a
            # Remote of 21 cells), and both titles are short.
            assert abs(local - remote) <= 1, (total, key, widths)
            assert (titles["local"], titles["remote"]) == ("Local", "Remote"), (total, key)
            # Given the widest IPv4 endpoints on screen, each gets its width whenever both fit.
            for whole in ((17, 15), (15, 17), (15, 15), (19, 17)):
                fitted = {c.key: w for c, w in layout(total, keep=key, whole=whole)}
                assert fitted.keys() == widths.keys(), (total, key, whole)
                got = (fitted["local"], fitted["remote"])
                assert sum(got) == local + remote, (total, key, whole, got)
                if sum(whole) <= local + remote:
                    assert got[0] >= whole[0] and got[1] >= whole[1], (total, key, whole, got)
                elif min(whole) + max(14, max(whole) - ENOUGH_CUT) <= local + remote:
                    # one whole, the other cut by a few cells at most
                    assert got[0] >= whole[0] or got[1] >= whole[1], (total, key, whole, got)
                else:  # else both share the cut (one whole left the other at 14 cells)
                    assert abs((whole[0] - got[0]) - (whole[1] - got[1])) <= 2, (
                        total, key, whole, got,
                    )  # fmt: skip


def test_an_owner_column_stays_from_60_columns_up() -> None:
    """Find, understand who owns it, act: at 70 columns only PID was left, at 60 neither PID
    nor Process. Lesser columns and PID go first; the process name narrows (cut with …) and
    the endpoints narrow before it goes."""
    for total in range(58, 80):
        widths = {c.key: w for c, w in layout(total)}
        assert "process" in widths and widths["process"] >= OWNER_NARROWEST, (total, widths)
        assert min(widths["local"], widths["remote"]) >= 15, (total, widths)  # 127.0.0.1:port
        assert sum(widths.values()) + len(widths) - 1 == total, (total, widths)
        # The user hid Process: PID is the owner column then.
        widths = {c.key: w for c, w in layout(total, hidden={"process", *DEFAULT_HIDDEN})}
        assert "pid" in widths, (total, widths)
    # A kept sort column comes first; the PID (7 cells) stands in for the name where the name
    # does not fit beside it. Only a sort by an 8-cell column below ~63 columns leaves none.
    for total in range(58, 200):
        for key in SORTABLE:
            keys = [c.key for c, _ in layout(total, keep=key)]
            if total >= 60 or key not in ("service", "offload", "applied"):
                assert {"pid", "process"} & set(keys), (total, key, keys)


def test_layout_when_wide_shows_every_default_column_and_fits() -> None:
    cols = layout(199)
    assert [c.key for c, _ in cols] == [c.key for c in COLUMNS if c.key != "user"]
    assert {"in_rate", "out_rate", "service"} <= {c.key for c, _ in cols}
    assert sum(w for _, w in cols) + len(cols) - 1 == 199
    assert all(w >= c.width for c, w in cols)


ACTIONS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(SORT_COLUMNS)),  # `s` to this column first
        st.one_of(st.none(), st.sampled_from(SORT_COLUMNS)),  # then prepare this one
        st.integers(0, 6),  # slices of work before the snapshot
    ),
    min_size=8,
    max_size=8,
)


def fresh_order(snap: Snapshot, column: str, reverse: bool, text: str) -> list[str]:
    fresh = RowIndex(column, reverse)
    fresh.set_query(parse_query(text))
    fresh.update(snap, 2.0)
    return order(fresh)


@settings(max_examples=80, deadline=None)
@given(
    FRAMES,
    st.sampled_from(SORT_COLUMNS),
    st.sampled_from(["", "!state:l"]),
    ACTIONS,
    st.sampled_from([0, 256]),
)
def test_orders_built_in_slices_equal_a_fresh_sort(
    frames: list[list[tuple[int, TcpState, int | None]]],
    column: str,
    text: str,
    actions: list[tuple[str | None, str | None, int]],
    moves_at_once: int,
) -> None:
    """Every new order is made a few rows at a time (as on a 250k table), and a tick's rows
    moved at once or in slices, while ticks, re-sorts and prepared columns interleave: the
    shown rows are always read back consistently by position, whenever the shown order is
    current it equals a fresh sort, and once the work is done it is the order asked for."""
    live = RowIndex(column)
    live.sync_rows, live.chunk_rows, live.moves_at_once = 0, 3, moves_at_once
    live.move_batch, live.tick_budget_s = 2, 0.0 if moves_at_once == 0 else 0.008
    live.set_query(parse_query(text))
    snap = None
    for snap, (sort, prepare, steps) in zip(snapshots(frames), actions, strict=False):
        if sort is not None:
            live.set_sort(sort, False)
        if prepare is not None:
            live.prepare(prepare)
        for _ in range(steps):
            live.step(0.0)
        live.update(snap, 2.0)
        assert [live.position(i) for i in order(live)] == list(range(len(live)))
        if not live.building and not live.catching_up:
            assert order(live) == fresh_order(snap, live.sort_column, False, text)
            assert live.counts_filtered == fresh_counts(snap, text)
    assert snap is not None
    live.settle()
    assert not live.building and live.shown_column == live.sort_column
    assert order(live) == fresh_order(snap, live.sort_column, False, text)
    assert [live.position(i) for i in order(live)] == list(range(len(live)))
    assert live.counts_filtered == fresh_counts(snap, text)


def fresh_counts(snap: Snapshot, text: str) -> dict[TcpState, int]:
    fresh = RowIndex()
    fresh.set_query(parse_query(text))
    fresh.update(snap, 2.0)
    return fresh.counts_filtered


@settings(max_examples=40, deadline=None)
@given(FRAMES, st.sampled_from(SORT_COLUMNS), st.sampled_from(["", "!state:l"]))
def test_a_prepared_column_is_swapped_in_without_work(
    frames: list[list[tuple[int, TcpState, int | None]]], column: str, text: str
) -> None:
    """The next column's order, made while idle and kept current by later ticks, is shown
    by `s` at once: nothing is left to build, and it equals a fresh sort."""
    following = SORT_COLUMNS[(SORT_COLUMNS.index(column) + 1) % len(SORT_COLUMNS)]
    live = RowIndex(column)
    live.sync_rows, live.chunk_rows = 0, 4
    live.set_query(parse_query(text))
    snaps = snapshots(frames)
    for snap in snaps:
        live.update(snap, 2.0)
        live.prepare(following)
        live.settle()
    live.set_sort(following, True)
    assert not live.has_work
    assert order(live) == fresh_order(snaps[-1], following, True, text)


def test_a_dropped_order_lets_go_of_its_rows_a_slice_per_step() -> None:
    """`s` from Process swaps in the prepared order at once; the old order's stored keys (a
    tuple per row) are let go of a slice per step, not all in the key's call."""
    snap = snapshots([[(p, TcpState.ESTABLISHED, 1 + p % 3) for p in range(1, 120)]])[0]
    live = RowIndex("process")
    live.sync_rows, live.chunk_rows, live.retire_rows = 0, 4, 16
    live.update(snap, 2.0)
    live.prepare("user")
    live.settle()
    live.set_sort("user", False)
    assert not live.has_work and live.retiring  # shown at once, the old order still held
    live.step(3600.0)
    assert live.retiring  # 16 of its 119 rows a step
    live.settle()
    assert not live.retiring
    assert order(live) == fresh_order(snap, "user", False, "")


def alive() -> int:
    """How many orders and builds exist now (this test's and other tests' left-overs)."""
    return sum(1 for o in gc.get_objects() if isinstance(o, RowOrder | OrderBuild))


def test_orders_left_behind_are_freed_without_the_cyclic_collector() -> None:
    """A re-sort (or a new filter) drops the old order, and a build dropped half-way its
    steps: refcounting alone frees them (a cycle would keep 250k ids, and the snapshot a half
    build reads, until a full collection walked them all; frozen, for ever)."""
    snap = snapshots([[(p, TcpState.ESTABLISHED, 1) for p in range(1, 30)]])[0]
    live = RowIndex("state")
    live.sync_rows, live.chunk_rows = 0, 4
    live.update(snap, 2.0)
    live.settle()
    gc.collect()
    gc.disable()
    try:
        before = alive()
        for column in ("local", "remote", "pid"):
            live.set_sort(column, False)
            live.step(0.0)  # a build begun, then dropped by the next re-sort
        live.set_query(parse_query("!state:l"))
        live.settle()
        after = alive()
    finally:
        gc.enable()
    assert after == before  # the order shown now instead of the first: nothing left behind
    assert order(live) == fresh_order(snap, "pid", False, "!state:l")


HOST = NamespaceInfo(4026531840, True, ReadBy.SOCK_DIAG)
OTHERS = NamespaceInfo(4026532001, False, ReadBy.SOCK_DIAG, name="someone-else")


def views(n: int) -> NamespaceView:
    """A new view object every sample: other people's namespaces come and go (22 <-> 23)."""
    return NamespaceView((HOST,) if n % 2 else (HOST, OTHERS))


def fresh_shown(snap: Snapshot, column: str, query: Query) -> list[str]:
    fresh = RowIndex(column)
    fresh.set_query(query)
    fresh.update(snap, 2.0)
    return order(fresh)


@pytest.mark.parametrize("churn", [40, 3], ids=["bulk-every-sample", "few-changes"])
def test_a_new_filter_is_shown_under_churn_while_namespaces_change(churn: int) -> None:
    """An ``ns:`` filter, a new namespace view every sample (other people's namespaces come and
    go) and, in one case, more rows changing each sample than a tick patches: a filter the
    user asks for is shown within a few samples. Before, each of those samples threw away
    the build under way and began it again: on a table whose build needs more than a
    sample's slices the asked filter was never shown (the old filter's rows and counts and
    the sort header's "…" stayed for minutes)."""
    rows, samples, asked_at = 240, 14, 2
    frames: list[list[tuple[int, TcpState, int | None]]] = [
        [
            (port, TcpState.LISTEN if port % 5 == 0 else TcpState.ESTABLISHED, 1 + port % 3)
            for port in range(1 + n * churn, 1 + n * churn + rows)
        ]
        for n in range(samples)
    ]
    live = RowIndex("local")
    live.sync_rows, live.chunk_rows = 0, 8  # a build takes ~60 steps here, as ~250k rows do
    live.set_query(parse_query("ns:current"))
    asked = parse_query("ns:current state:listen")
    shown_at = None
    for n, plain in enumerate(snapshots(frames)):
        snap = dataclasses.replace(plain, namespaces=views(n))
        if n == asked_at:
            live.set_query(asked)
        live.update(snap, 2.0)
        for _ in range(25):  # the slices the table runs between two samples
            live.step(0.0)
        if (
            n >= asked_at
            and not live.building
            and not live.catching_up
            and order(live) == fresh_shown(snap, "local", asked)
        ):
            shown_at = n
            break
    assert shown_at is not None, "the asked filter was never shown"
    assert shown_at - asked_at <= 4
