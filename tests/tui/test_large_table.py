"""A large table stays usable while a new order is made, or a tick's many rows are moved:
keys are handled between the slices of that work.

30,000 scripted rows (above the 5,000 that are sorted at once), through the real Sampler and
the real app: a re-sort by an unprepared column is made in slices on timers, and so are the
moves of a tick that changes 3,600 rows; the keys pressed meanwhile are handled before the
work is done; the finished order is a full sort's, and the cursor stays on its connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable

import pytest

from core.connections.model import ProcessInfo, TcpState
from core.connections.namespaces import NamespaceInfo, NamespaceView, ReadBy
from core.connections.snapshot import Snapshot
from core.connections.sort_keys import key_func
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from tests.tui.keys import burst, send
from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import make_app, step, table
from tui.connections import conn_table
from tui.connections.actions import FILTER_PENDING, ConfirmScreen
from tui.connections.conn_table import ConnTable
from tui.connections.state_bar import StateBar

N = 30_000
STATES = (TcpState.ESTABLISHED, TcpState.ESTABLISHED, TcpState.TIME_WAIT, TcpState.LISTEN)
PROCS = {pid: ProcessInfo(pid, f"p{pid}", "u", None, None, None) for pid in range(1000, 1008)}
ROWS = [
    ScriptedConn(
        f"10.0.{(j >> 8) & 255}.{j & 255}",
        1024 + j % 50_000,
        f"192.0.2.{j % 200}",
        443 + j % 7,
        STATES[j % len(STATES)],
        pid=1000 + j % 8,
        offload_state=0,
    )
    for j in range(N)
]


def big(_index: int) -> ScriptedFrame:
    return ScriptedFrame(ROWS, PROCS)


async def until(condition: object, what: str) -> None:
    for _ in range(2000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


def note_cursor_moves(t: ConnTable, flag: Callable[[], bool]) -> list[bool]:
    """``flag()`` as it is each time the table moves its cursor (the list fills in)."""
    handled: list[bool] = []
    cursor = t.action_cursor

    def noted(delta: int) -> None:
        handled.append(flag())
        cursor(delta)

    t.action_cursor = noted  # type: ignore[method-assign]
    return handled


async def test_keys_are_handled_while_a_large_order_is_made() -> None:
    feed = SteppedFeed(big)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        await step(pilot, app, feed)
        await until(lambda: not t.index.building and t.row_count == N, "the first order")
        await pilot.press("down", "down")
        on = t.cursor_id
        handled = note_cursor_moves(t, lambda: t.index.building)
        # Keys as a terminal sends them, without waiting for the app to be idle in between.
        send(app, "less_than_sign")  # the previous column: never prepared, made in slices
        await until(lambda: t.index.sort_column != "state", "the re-sort")
        assert t.index.building
        assert "…" in t.render_line(0).text  # the header says the order is on its way
        send(app, "down")
        await until(lambda: handled, "the Down key")
        assert handled == [True]  # handled between slices, not after the whole sort
        moved = t.cursor_id
        assert moved != on
        await until(lambda: not t.index.building, "the new order")
        column = t.index.sort_column
        assert t.index.shown_column == column != "state"
        assert app.snapshot is not None
        key = key_func(column, app.snapshot.processes)
        expected = [c.instance_id for c in sorted(app.snapshot.connections.values(), key=key)]
        assert [t.row_id_at(i) for i in range(t.row_count)] == expected
        assert t.cursor_id == moved  # the cursor stayed on its connection
        assert "…" not in t.render_line(0).text


CHURN = 1800
"""Connections replaced by the second frame: 3,600 rows change (1,800 new, 1,800 closing into
ghosts), more than a tick moves at once and fewer than a new order is made for."""


def churned(index: int) -> ScriptedFrame:
    if not index:
        return big(index)
    fresh = [
        ScriptedConn(
            f"10.9.{(j >> 8) & 255}.{j & 255}",
            2000 + j,
            "192.0.2.7",
            443,
            TcpState.ESTABLISHED,
            pid=1000 + j % 8,
            offload_state=0,
        )
        for j in range(CHURN)
    ]
    return ScriptedFrame(ROWS[CHURN:] + fresh, PROCS)


async def test_keys_are_handled_while_a_tick_moves_many_rows() -> None:
    feed = SteppedFeed(churned)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        await step(pilot, app, feed)
        await until(lambda: not t.index.has_work and t.row_count == N, "the first orders")
        await pilot.press("down", "down")
        handled = note_cursor_moves(t, lambda: t.index.catching_up)
        t.index.tick_budget_s = 0.0  # every move in slices (a fast host does many at once)
        snap = await feed.step()
        while app.snapshot is None or app.snapshot.seq < snap.seq:
            await asyncio.sleep(0)
        assert t.index.catching_up  # the tick noted its rows; slices move them
        send(app, "down")
        await until(lambda: handled, "the Down key")
        assert handled == [True]  # handled between slices, not after every row moved
        moved = t.cursor_id
        await until(lambda: not t.index.has_work, "the moves")
        key = key_func("state", snap.processes)
        shown = [*snap.connections.values(), *(g.connection for g in snap.ghosts)]
        expected = [c.instance_id for c in sorted(shown, key=key)]
        assert [t.row_id_at(i) for i in range(t.row_count)] == expected
        assert t.cursor_id == moved  # the cursor stayed on its connection


async def test_a_filter_made_in_slices_shows_its_counts_with_its_rows() -> None:
    """When the filtered order of a large table is shown (its last slice), the state counts
    are the filter's in the same call, so both reach the screen in the same frame."""
    feed = SteppedFeed(big)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        await step(pilot, app, feed)
        await until(lambda: not t.index.has_work and t.row_count == N, "the first orders")
        bar = app.screen.query_one(StateBar)
        seen: list[str] = []
        work = t._work

        def noted() -> None:
            work()
            if not t.index.building:
                seen.append(str(bar.visual))

        t._work = noted  # type: ignore[method-assign]
        await pilot.press("slash", *"state:listen", "enter")
        await until(lambda: seen, "the filtered order")
        listening = sum(1 for c in ROWS if c.state is TcpState.LISTEN)
        assert f"Listen {listening}/{listening}" in seen[0]
        assert f"Established 0/{N - N // 4 * 2}" in seen[0]


HOST_NS = NamespaceInfo(4026531840, True, ReadBy.SOCK_DIAG)
OTHER_NS = NamespaceInfo(4026532001, False, ReadBy.SOCK_DIAG, name="someone-else")


class NamespacesComeAndGo(SteppedFeed):
    """Each sample with a new namespace view: other people's namespaces come and go."""

    samples = 0

    async def step(self) -> Snapshot:
        self.samples += 1
        view = NamespaceView((HOST_NS,) if self.samples % 2 else (HOST_NS, OTHER_NS))
        snap = dataclasses.replace(await self.sampler.sample_once(), namespaces=view)
        self._pending = snap
        self._ready.set()
        return snap


async def test_a_filter_is_shown_while_namespaces_come_and_go() -> None:
    """``--filter ns:current``, a sample every 20 ms with a new namespace view (faster than
    a 30,000-row order is made): a filter typed with ``/`` is shown, header and counts, and
    stays. Before, each sample began the build again: the old rows stayed for minutes."""
    feed = NamespacesComeAndGo(big)
    app = make_app(feed, filter_text="ns:current")
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(app)
        await step(pilot, app, feed)
        await until(lambda: not t.index.building and t.row_count == N, "the first order")
        await pilot.press("slash", *" state:listen", "enter")
        assert t.index.query.text == "ns:current state:listen"
        listening = sum(1 for c in ROWS if c.state is TcpState.LISTEN)
        clock = asyncio.get_running_loop().time
        deadline = clock() + 10.0  # made in well under a second on an idle host
        while clock() < deadline:
            await feed.step()
            await asyncio.sleep(0.02)
            if not t.index.building and t.row_count == listening:
                break
        assert not t.index.building, "the filter asked for was never shown"
        assert t.row_count == listening
        assert "…" not in t.render_line(0).text
        bar = app.screen.query_one(StateBar)
        assert f"Listen {listening}/{listening}" in str(bar.visual)


class LiveFeed(SteppedFeed):
    """The big table as if sampled now: ``x`` and ``K`` are offered (not the demo's)."""

    @property
    def live(self) -> bool:
        """Sampled now, as far as the app can tell."""
        return True


async def test_x_and_k_wait_for_a_new_filter_made_in_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a new filter's rows are made in slices, the rows shown are the previous
    filter's: ``K`` asked to terminate the process of a row the new filter leaves out, and
    the count line showed the old filter's counts under the new filter. Now both keys refuse
    with a toast and the count line says the filter is being applied, until its rows show."""
    monkeypatch.setattr(conn_table, "BUILD_STEP_S", 0.0)  # one chunk a slice: many slices
    feed = LiveFeed(big)
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(app)
        await step(pilot, app, feed)
        await until(lambda: not t.index.has_work and t.row_count == N, "the first orders")
        t.index.chunk_rows = 64
        before = t.cursor_connection
        assert before is not None and before.state is not TcpState.TIME_WAIT
        bar = app.screen.query_one(StateBar)
        await burst(pilot, "slash", *"state:timewait", "enter", "K", "x")
        assert t.index.building, "the filter's rows were made before the keys: no test"
        assert not isinstance(app.screen, ConfirmScreen)
        said = [str(n.message) for n in app._notifications]
        assert said == [FILTER_PENDING] * 2, said
        line = str(bar.visual)
        assert "applying filter…" in line and "shown" not in line, line
        assert f"Established {N // 2}" in line  # all rows' counts, not the old filter's
        await until(lambda: not t.index.building, "the filtered order")
        await pilot.pause()
        waiting = sum(1 for c in ROWS if c.state is TcpState.TIME_WAIT)
        line = str(bar.visual)
        assert "applying filter" not in line and f"{waiting} of {N} shown" in line, line
        conn = t.cursor_connection
        assert conn is not None and conn.state is TcpState.TIME_WAIT


WAITING = [dataclasses.replace(c, state=TcpState.CLOSE_WAIT) for c in ROWS[:2]]


def one_closes(index: int) -> ScriptedFrame:
    """Two CloseWait connections, then one of them closed."""
    return ScriptedFrame(WAITING[index:] + ROWS[2:], PROCS)


def counts_read(line: str) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    """``State shown/all`` pairs and ``N of M shown`` of a count line."""
    pairs = [(s, int(a), int(b)) for s, a, b in re.findall(r"(\w+) (\d+)/(\d+)", line)]
    found = re.search(r"(\d+) of (\d+) shown", line)
    assert found is not None, line
    return pairs, (int(found[1]), int(found[2]))


async def test_the_count_line_never_shows_more_rows_filtered_than_there_are() -> None:
    """Under ``state:closewait`` one CloseWait connection closes; the tick's moves wait for
    slices. The count line read ``CloseWait 2/1 │ 2 of 30001 shown``: the counts of all rows
    of the new sample, those filtered of the rows not moved yet. Now both are of one moment
    (the rows shown until they are moved), then the new sample's."""
    feed = SteppedFeed(one_closes)
    app = make_app(feed, filter_text="state:closewait")
    async with app.run_test(size=(80, 24)) as pilot:
        t = table(app)
        await step(pilot, app, feed)
        await until(lambda: not t.index.has_work and t.row_count == 2, "the first orders")
        bar = app.screen.query_one(StateBar)
        assert counts_read(str(bar.visual)) == ([("CloseWait", 2, 2)], (2, N))
        t.index.moves_at_once, t.index.tick_budget_s = 0, 0.0  # every move in slices
        snap = await feed.step()
        while app.snapshot is None or app.snapshot.seq < snap.seq:
            await asyncio.sleep(0)
        assert t.index.catching_up, "the tick's rows were moved at once: no test"
        pairs, (shown, total) = counts_read(str(bar.visual))
        assert shown <= total and all(kept <= of for _, kept, of in pairs), str(bar.visual)
        assert (pairs, (shown, total)) == ([("CloseWait", 2, 2)], (2, N))  # the rows shown
        await until(lambda: not t.index.has_work, "the moves")
        await pilot.pause()
        assert counts_read(str(bar.visual)) == ([("CloseWait", 1, 1)], (1, N - 1))
