"""Pilot tests of the app on scripted data stepped through the real Sampler."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import ScreenStackError
from textual.command import CommandList
from textual.filter import Monochrome
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Collapsible, LoadingIndicator, Static

from core.connections.model import ProcessInfo, TcpConnection, TcpState
from core.connections.property_rules import PROPERTIES
from core.connections.seed_tables import ENUMS
from core.connections.snapshot import Privilege, Snapshot
from core.connections.sort_keys import SORT_COLUMNS
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from core.sampling.feed import Seekable
from tests.tui.scripted import HOST, PROCS, START, SteppedFeed, base_conns, demo_frames
from tui.app import TcpscopeApp
from tui.connections.columns import BY_KEY
from tui.connections.conn_table import ConnTable
from tui.connections.detail import DetailPane
from tui.connections.screen import ConnectionsScreen
from tui.screens.help import HelpScreen
from tui.screens.too_small import TooSmallScreen
from tui.widgets.filter_bar import FilterBar


def make_app(feed: SteppedFeed, **kwargs: object) -> TcpscopeApp:
    return TcpscopeApp(feed, hostname=HOST, **kwargs)  # type: ignore[arg-type]


async def settle(pilot: Pilot[int], app: TcpscopeApp, seq: int) -> None:
    """Let the app take in snapshot ``seq`` (no sleeping: pump the message loop)."""
    for _ in range(100):
        if app.snapshot is not None and app.snapshot.seq >= seq:
            break
        await pilot.pause()
    await pilot.pause()
    assert app.snapshot is not None and app.snapshot.seq >= seq


async def step(pilot: Pilot[int], app: TcpscopeApp, feed: SteppedFeed) -> None:
    snap = await feed.step()
    await settle(pilot, app, snap.seq)


def table(app: TcpscopeApp) -> ConnTable:
    return app.screen.query_one(ConnTable)


def listed(app: TcpscopeApp) -> list[TcpConnection]:
    t = table(app)
    return [t.index.rows[t.row_id_at(i)] for i in range(t.row_count)]


def line_text(app: TcpscopeApp, conn_id: str) -> str:
    t = table(app)
    position = t.position_of(conn_id)
    assert position is not None
    t.move_cursor_to(conn_id)
    return t.render_line(position - int(t.scroll_offset.y) + 1).text


def static_text(widget: Static, width: int = 200) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def pane_text(pane: DetailPane, width: int = 200) -> str:
    """Everything the detail pane says, folded group included, top to bottom."""
    ids = ("#detail-summary", "#detail-body", "#detail-missing-body", "#detail-more")
    return "\n".join(static_text(pane.query_one(i, Static), width) for i in ids)


def by_port(app: TcpscopeApp, local: int, remote: int) -> TcpConnection:
    assert app.snapshot is not None
    return next(
        c
        for c in app.snapshot.connections.values()
        if c.local_port == local and c.remote_port == remote
    )


async def sort_by(pilot: Pilot[int], app: TcpscopeApp, column: str) -> None:
    for _ in range(12):
        if table(app).index.sort_column == column:
            return
        await pilot.press("s")
    raise AssertionError(f"s never reached {column}")


# --- sorting ------------------------------------------------------------------------------
async def test_sort_by_state_offload_pid_follows_the_data() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        assert app.snapshot is not None
        conns = list(app.snapshot.connections.values())
        for column, value in (
            ("state", lambda c: int(c.state)),
            ("pid", lambda c: -1 if c.owning_process is None else c.owning_process),
            ("offload", lambda c: -1 if c.offload_state is None else c.offload_state),
        ):
            await sort_by(pilot, app, column)

            def expected_key(c: TcpConnection, value=value) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
                return (value(c), c.local_port, c.remote_port, c.instance_id)

            expected = sorted(conns, key=expected_key)
            assert [c.instance_id for c in listed(app)] == [c.instance_id for c in expected]
            await pilot.press("S")
            assert [c.instance_id for c in listed(app)] == [
                c.instance_id for c in reversed(expected)
            ]
            await pilot.press("S")


async def test_at_60_columns_every_sort_column_shows_its_arrow() -> None:
    """At 60x16 PID and Process sorted the rows while the header, cut at the right edge,
    showed no ▲: the endpoints give way instead, cut in the address, never in the port."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(60, 16)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("P")  # PID, then `s` through every sort column after it
        for key in SORT_COLUMNS[SORT_COLUMNS.index("pid") :]:
            await pilot.pause()
            t = table(app)
            assert t.index.sort_column == key
            header = t.render_line(0).text
            assert f"{BY_KEY[key].title}▲" in header, (key, header)
            assert "…" not in header, header  # narrowed endpoints take their short titles
            for y in range(1, min(t.row_count, 13) + 1):
                conn = t.index.rows[t.row_id_at(int(t.scroll_offset.y) + y - 1)]
                line = t.render_line(y).text
                assert f":{conn.local_port} " in line and f":{conn.remote_port} " in line, line
            await pilot.press("s")


async def test_state_sort_is_numeric_not_alphabetical() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        states = [c.state for c in listed(app)]
        assert states[0] is TcpState.LISTEN  # 2; alphabetically CloseWait would come first
        assert [int(s) for s in states] == sorted(int(s) for s in states)


# --- filter -------------------------------------------------------------------------------
async def test_filter_tokens_narrow_and_escape_clears() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        total = len(listed(app))
        await pilot.press("slash")
        await pilot.press(*"state:est !proc:python")
        await pilot.press("enter")
        rows = listed(app)
        assert rows and all(c.state is TcpState.ESTABLISHED for c in rows)
        assert all(c.owning_process != 404 for c in rows)
        assert app.snapshot is not None
        expected = [
            c
            for c in app.snapshot.connections.values()
            if c.state is TcpState.ESTABLISHED and c.owning_process != 404
        ]
        assert len(rows) == len(expected)
        status = app.screen.query_one("#filter-status", Static)
        assert "state:est !proc:python" in static_text(status)
        await pilot.press("escape")
        assert len(listed(app)) == total
        assert "none" in static_text(status)


async def test_port_and_pid_tokens() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        screen = app.screen
        assert isinstance(screen, ConnectionsScreen)
        screen._apply_filter("port:5432")
        assert {(c.local_port, c.remote_port) for c in listed(app)} == {
            (5432, 0),
            (5432, 39000),
            (39000, 5432),
        }
        screen._apply_filter("lport:80 pid:101")
        assert {c.remote_port for c in listed(app)} == {0, 51000, 51001}


async def test_bad_filter_keeps_the_active_one_and_says_why() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("slash", *"port:22", "enter")
        before = [c.instance_id for c in listed(app)]
        await pilot.press("slash")
        app.screen.query_one("#filter-input").value = "state:bogus"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert [c.instance_id for c in listed(app)] == before
        assert app.screen.query_one(FilterBar).editing
        assert "matches no State" in static_text(app.screen.query_one("#filter-status", Static))


# --- cursor -------------------------------------------------------------------------------
def drawn_lines(t: ConnTable) -> list[str]:
    """The table's lines as the compositor gets them (a line not marked for repaint comes
    from the widget's cache), each with its styles."""
    size = t.size
    return [
        "".join(repr(s) for s in t.render_lines(Region(0, y, size.width, 1))[0])
        for y in range(size.height)
    ]


async def test_cursor_steps_repaint_the_rows_they_change() -> None:
    # A cursor step repaints only the rows it left and reached (a whole repaint costs tens of
    # ms at 250k rows): what is drawn after each key must be what a whole repaint draws.
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 20)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        for key in ("down", "down", "up", "pagedown", "down", "home", "end", "up"):
            await pilot.press(key)
            await pilot.pause()
            drawn = drawn_lines(t)
            t.refresh()
            assert drawn == drawn_lines(t), key
            assert t.row_id_at(t.cursor_row) == t.cursor_id


ESTABLISHED_ROWS = [
    ScriptedConn("10.0.0.1", 40000 + j, "192.0.2.9", 443, TcpState.ESTABLISHED, pid=101)
    for j in range(60)
]
NEWCOMER = ScriptedConn("10.0.0.1", 40004, "192.0.2.9", 444, TcpState.ESTABLISHED, pid=101)


def same_rows_then_a_newcomer(index: int) -> ScriptedFrame:
    """Frames 0-2: the same 60 connections (only their ages change); 3: one more, which sorts
    sixth: the rows below it on screen move down (the cursor, on the first row, stays)."""
    return ScriptedFrame(ESTABLISHED_ROWS + ([NEWCOMER] if index >= 3 else []), PROCS)


async def test_a_tick_repaints_rows_that_only_aged_in_slices_and_moved_rows_at_once() -> None:
    # Slices are for large tables (250k rows); this one is made to use them at 60.
    feed = SteppedFeed(same_rows_then_a_newcomer)
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        t = table(app)
        t.slices_above_rows = 0
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        after_tick: list[list[str]] = []  # what the next frame shows, as a tick leaves it
        update = t.update_snapshot

        def noted(snap: Snapshot) -> None:
            update(snap)
            after_tick.append(drawn_lines(t))

        t.update_snapshot = noted  # type: ignore[method-assign]
        await pilot.press("end")  # scrolled since the last tick: still its rows on screen
        await step(pilot, app, feed)  # every row one second older, the same rows on screen
        for _ in range(200):
            if not t.repainting:
                break
            await pilot.pause(0.01)
        aged = drawn_lines(t)
        t.refresh()
        assert aged == drawn_lines(t)  # every line repainted once the slices are done
        first = after_tick[0]
        assert first[:11] == aged[:11]  # the header and the first slice at once
        assert first != aged  # the lines below a frame or more later
        await pilot.press("home")
        cursor = t.cursor_row
        await step(pilot, app, feed)  # the newcomer: the rows below it move down at once
        moved = after_tick[1]
        t.refresh()
        assert moved == drawn_lines(t)
        assert t.cursor_row == cursor and any(":40004" in line for line in moved[2:11])


async def test_a_smaller_tables_tick_repaints_every_row_in_one_frame() -> None:
    # Below SLICES_ABOVE_ROWS a tick that only ages the rows is one frame, not four: what
    # the first frame after the tick shows is the whole table, every age new.
    feed = SteppedFeed(same_rows_then_a_newcomer)
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        t = table(app)
        after_tick: list[list[str]] = []
        update = t.update_snapshot

        def noted(snap: Snapshot) -> None:
            update(snap)
            after_tick.append(drawn_lines(t))

        t.update_snapshot = noted  # type: ignore[method-assign]
        before = drawn_lines(t)
        await step(pilot, app, feed)  # every row one second older, the same rows on screen
        assert not t.repainting
        first = after_tick[0]
        t.refresh()
        assert first == drawn_lines(t) and first != before


async def test_cursor_stays_on_its_connection_when_rows_are_inserted_above() -> None:
    above = ScriptedConn("10.0.0.5", 20, "192.0.2.77", 1, TcpState.ESTABLISHED, pid=101)
    feed = SteppedFeed(
        [ScriptedFrame(base_conns(), PROCS), ScriptedFrame([*base_conns(), above], PROCS)]
    )
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        target = by_port(app, 5432, 39000)
        t = table(app)
        assert t.move_cursor_to(target.instance_id)
        row_before = t.cursor_row
        await step(pilot, app, feed)  # inserts an Established :20 above :5432
        assert t.cursor_id == target.instance_id
        assert t.cursor_row == row_before + 1
        await sort_by(pilot, app, "pid")
        assert t.cursor_id == target.instance_id
        await pilot.press("S")
        assert t.cursor_id == target.instance_id
        assert t.row_id_at(t.cursor_row) == target.instance_id


# --- ghosts and lifecycle -----------------------------------------------------------------
async def test_ghost_rows_appear_hold_the_cursor_and_expire() -> None:
    feed = SteppedFeed(ghost_ttl_s=2.0)
    app = make_app(feed, ghost_ttl_s=2.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        closing = by_port(app, 80, 51001)
        t = table(app)
        t.move_cursor_to(closing.instance_id)
        position = t.cursor_row
        await step(pilot, app, feed)  # 51001 closes
        assert closing.instance_id in t.index.ghosts
        assert t.cursor_id == closing.instance_id
        text = line_text(app, closing.instance_id)
        assert text.startswith("x") and "Established" in text
        await step(pilot, app, feed)
        assert closing.instance_id in t.index.ghosts  # 1 s after closing: still there
        await step(pilot, app, feed)
        assert closing.instance_id not in t.index.rows  # 2 s: expired
        assert t.cursor_id is not None and t.cursor_id != closing.instance_id
        assert t.cursor_row == position


async def test_new_and_changed_rows_are_marked() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        new = by_port(app, 21, 50021)
        changed = by_port(app, 22, 40022)
        old = by_port(app, 5432, 39000)
        assert line_text(app, new.instance_id).startswith("+")
        assert line_text(app, changed.instance_id).startswith("~")
        assert line_text(app, old.instance_id).startswith(" ")


# --- detail pane --------------------------------------------------------------------------
async def test_detail_pane_shows_every_property_and_seed_meanings() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        conn = by_port(app, 80, 51000)
        table(app).move_cursor_to(conn.instance_id)
        await pilot.press("enter")
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        pane = app.screen.query_one(DetailPane)
        assert pane.display
        text = pane_text(pane)
        for spec in PROPERTIES:
            assert spec.wmi_name in text
        assert len(PROPERTIES) == 32
        established = ENUMS["State"].decode(5)
        offloaded = ENUMS["OffloadState"].decode(2)
        assert established.meaning and established.meaning[:40] in text
        assert f"5 {established.name}" in text
        assert f"2 {offloaded.name}" in text
        assert "not reported" in text  # e.g. Caption's reason
        assert "nginx -g daemon off;" in text and "www-data" in text and "/usr/sbin/nginx" in text
        assert "rtt" in text and "1.250 ms" in text
        # byte counters grow by 5120 B per 1 s step while the pane is open
        assert pane.rates()[-1] == 5120.0
        await pilot.press("escape")
        assert not pane.display
        assert table(app).cursor_id == conn.instance_id


async def test_detail_takes_over_at_80x24_and_sits_beside_when_wide() -> None:
    for size, beside in (((80, 24), False), ((160, 48), True)):
        feed = SteppedFeed()
        app = make_app(feed)
        async with app.run_test(size=size) as pilot:
            await step(pilot, app, feed)
            await pilot.press("down", "down")
            cursor = table(app).cursor_id
            await pilot.press("enter")
            await pilot.pause()
            pane = app.screen.query_one(DetailPane)
            assert pane.display and pane.region.width > 0
            assert table(app).display is beside
            if beside:
                assert table(app).region.right <= pane.region.x
            else:
                assert pane.region.width == size[0]
            await pilot.press("escape")
            await pilot.pause()
            assert table(app).display and table(app).cursor_id == cursor


# --- pause, interval, header --------------------------------------------------------------
async def test_pause_stops_updates_and_resume_continues() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("space")
        assert feed.paused and app.paused
        seq = app.snapshot.seq  # type: ignore[union-attr]
        await feed.step()
        for _ in range(5):
            await pilot.pause()
        assert app.snapshot.seq == seq  # type: ignore[union-attr]
        assert "PAUSED" in static_text(app.screen.query_one("#header", Static))
        assert app.screen.active_bindings["space"].binding.action == "resume"  # footer says it
        await pilot.press("space")
        assert not feed.paused
        await step(pilot, app, feed)
        assert app.snapshot.seq > seq


async def test_interval_keys_change_the_feed() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("plus")
        assert feed.interval_s == 0.5
        await pilot.press("minus", "minus")
        assert feed.interval_s == 2.0


async def test_faster_from_an_interval_below_the_steps_keeps_it() -> None:
    """`--interval 0.1` then `+` ("Faster") set 0.25 s: sampling became slower."""
    feed = SteppedFeed()
    feed.set_interval(0.1)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("plus")
        assert feed.interval_s == 0.1
        assert "sampling every 0.1 s already" in [str(n.message) for n in app._notifications]
        await pilot.press("minus")
        assert feed.interval_s == 0.25


async def test_a_toast_never_sends_control_characters_to_the_terminal() -> None:
    """A sampler error's text from a recording or a remote agent (``ERR\x1b]0;…\x07``) went
    to the terminal raw in its toast and retitled it: toasts show it escaped, whoever calls."""
    hostile = "ERR\x1b]0;pwned\x07 \u202e[b]x"
    feed = SteppedFeed([demo_frames(0), OSError(hostile), demo_frames(0)])
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await feed.step()
        for _ in range(10):
            await pilot.pause()
        app.notify("title\x07too", title="t\x1b]0;x\x07")
        await pilot.pause()
        shown = [(str(n.message), n.title) for n in app._notifications]
        error = ("OSError: ERR\\x1b]0;pwned\\x07 \\u202e[b]x", "Sampler error (exception)")
        assert error in shown, shown
        assert ("title\\x07too", "t\\x1b]0;x\\x07") in shown, shown
        assert all(m.isprintable() and t.isprintable() for m, t in shown), shown


async def test_header_says_host_source_age_and_privilege() -> None:
    frames = [ScriptedFrame(base_conns(), PROCS, Privilege(("owners of other users' sockets",)))]
    feed = SteppedFeed(frames)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        text = static_text(app.screen.query_one("#header", Static))
        assert HOST in text and "source demo" in text and "every 1s" in text
        assert "(0s ago)" in text and "privileged cells hidden" in text


async def test_header_age_keeps_counting_while_no_sample_comes() -> None:
    # A sample redraws the header; its own one-second tick redraws it only once a whole
    # second passed without one (paused, or a slow source), with the age as of that moment.
    feed = SteppedFeed()
    now = [START]
    app = make_app(feed, clock=lambda: now[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        assert app.snapshot is not None
        now[0] = app.snapshot.time + timedelta(seconds=7)
        header = app.screen.query_one("#header", Static)
        for _ in range(40):  # the tick is real time: up to two seconds
            if "(7s ago)" in static_text(header):
                break
            await pilot.pause(0.05)
        assert "(7s ago)" in static_text(header)


async def test_source_error_shows_a_banner_and_recovers() -> None:
    frames = [demo_frames(0), OSError("netlink went away"), demo_frames(0)]
    feed = SteppedFeed(frames)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        snap = await feed.step()
        for _ in range(10):
            await pilot.pause()
        assert snap.error is not None
        banner = app.screen.query_one("#banner", Static)
        assert banner.display and "netlink went away" in static_text(banner)
        assert any("netlink went away" in str(n.message) for n in app._notifications)
        await step(pilot, app, feed)
        assert not banner.display
        assert listed(app)


# --- group view ---------------------------------------------------------------------------
async def test_group_by_process_counts_and_expands() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("g")
        t = table(app)
        groups = [t.row_id_at(i) for i in range(t.row_count)]
        assert all(g.startswith("group:") for g in groups)
        assert groups[0] == "group:101"  # nginx owns the most connections
        assert "nginx" in t.render_line(1).text and "Listen 1" in t.render_line(1).text
        assert t.cursor_id == "group:202"  # the cursor stays with its connection (sshd's)
        t.move_cursor_to("group:101")
        await pilot.press("enter")
        assert t.row_count == len(groups) + 4  # nginx's 4 connections
        await pilot.press("g")
        assert not t.row_id_at(0).startswith("group:")


# --- screens --------------------------------------------------------------------------------
async def test_help_ipsec_screen_and_tab() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        texts = " ".join(static_text(s) for s in app.screen.query(Static))
        for word in ("filter", "pause", "quit", "new:", "closed:"):
            assert word in texts
        # every field the filter takes, the namespace ones included (a hand copy missed them)
        for field in ("state:", "raddr:", "user:", "ns:", "container:"):
            assert field in texts, field
        await pilot.press("escape")
        await pilot.press("2")
        assert app.current_mode == "ipsec" and app.screen.id == "ipsec"
        await pilot.press("tab")
        assert isinstance(app.screen, ConnectionsScreen)
        await pilot.press("tab")
        assert app.current_mode == "ipsec"
        await pilot.press("1")
        assert isinstance(app.screen, ConnectionsScreen)


async def test_too_small_terminal_shows_a_message_then_the_layout() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        text = static_text(app.screen.query_one("#too-small", Static))
        assert text.strip() == "terminal too small: 50×12, need 60×16"
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, ConnectionsScreen)


@pytest.mark.parametrize("key", ["question_mark", "2", "tab", "ctrl+p", "slash"])
async def test_below_the_minimum_size_no_key_opens_a_screen_over_the_message(key: str) -> None:
    """At 40x10 ``?`` drew the help box over "terminal too small", cut; ``2`` or Tab showed
    the IPsec screen at that size. Below the minimum only quitting answers."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        stack = list(app.screen_stack)
        await pilot.press(key)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen), app.screen
        assert list(app.screen_stack) == stack and app.current_mode == "connections"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


# --- untrusted text -------------------------------------------------------------------------
async def test_process_controlled_text_renders_literally() -> None:
    evil = "[red]x[/red][link=http://x]\x1b[2J\x1b]0;pwned\x07"
    procs = {666: ProcessInfo(666, evil, f"[bold]{evil}", (evil, "--arg", evil), "/tmp/[i]x", 1.0)}
    frame = ScriptedFrame(
        [ScriptedConn("127.0.0.1", 9999, "0.0.0.0", 0, TcpState.LISTEN, pid=666, inode=9)], procs
    )
    feed = SteppedFeed([frame])
    app = make_app(feed)
    async with app.run_test(size=(200, 50)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("enter")
        await pilot.pause()
        line = table(app).render_line(1).text
        assert "[red]x[/red][link=http://x]" in line[:200] or "[red]x[/red]" in line
        assert "\x1b" not in line and "\x07" not in line
        body = pane_text(app.screen.query_one(DetailPane), width=400)
        assert "[red]x[/red][link=http://x]\\x1b[2J\\x1b]0;pwned\\x07" in body
        assert "[bold]" in body and "/tmp/[i]x" in body
        assert "\x1b" not in body


async def test_a_process_name_in_the_state_hint_renders_literally() -> None:
    """The CloseWait hint names the owning process: its name is untrusted text there too."""
    evil = "[red]x[/red]\x1b[2J\x1b]0;pwned\x07"
    procs = {666: ProcessInfo(666, evil, "u", None, None, 1.0)}
    row = ScriptedConn("127.0.0.1", 9999, "127.0.0.1", 5, TcpState.CLOSE_WAIT, pid=666, inode=9)
    feed = SteppedFeed([ScriptedFrame([row], procs)])
    app = make_app(feed)
    async with app.run_test(size=(200, 50)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("enter")
        await pilot.pause()
        body = pane_text(app.screen.query_one(DetailPane), width=400)
    expected = "[red]x[/red]\\x1b[2J\\x1b]0;pwned\\x07 (666) has not closed this socket yet"
    assert expected in body, body
    assert "\x1b" not in body and "\x07" not in body


# --- preferences ----------------------------------------------------------------------------
async def test_sort_columns_theme_persist_but_not_the_filter(xdg_config: Path) -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await sort_by(pilot, app, "pid")
        await pilot.press("S")
        await pilot.press("slash", *"state:listen", "enter")
        app.theme = "nord"
        await app.run_action("toggle_column('user')")
        await pilot.pause()
    saved = json.loads((xdg_config / "tcpscope" / "prefs.json").read_text())
    assert saved["sort_column"] == "pid" and saved["sort_reverse"] is True
    assert saved.get("filter", "") == "" and saved["theme"] == "nord"
    assert "user" not in saved["hidden_columns"]
    feed2 = SteppedFeed()
    app2 = make_app(feed2)
    async with app2.run_test(size=(120, 40)) as pilot:
        await step(pilot, app2, feed2)
        t = table(app2)
        assert t.index.sort_column == "pid" and t.index.reverse
        assert {c.state for c in listed(app2)} != {TcpState.LISTEN}  # filter not carried over
        assert t.index.query.empty
        assert app2.theme == "nord"
        assert "User" in t.render_line(0).text


async def test_corrupt_preferences_give_a_notice_and_defaults(xdg_config: Path) -> None:
    path = xdg_config / "tcpscope" / "prefs.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        assert table(app).index.sort_column == "state"
        assert any("corrupt" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize(
    "doc, said",
    [
        ({"theme": "bogus-theme", "sort_column": "pid"}, "theme"),
        ({"theme": "bogus-theme", "filter": 7, "sort_column": "pid"}, "filter, theme"),
    ],
    ids=["alone", "with-another"],
)
async def test_an_unknown_theme_is_a_bad_value_like_any_other(
    xdg_config: Path, doc: dict[str, object], said: str
) -> None:
    path = xdg_config / "tcpscope" / "prefs.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    feed = SteppedFeed()
    app = make_app(feed)
    default_theme = app.theme
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        messages = [str(n.message) for n in app._notifications]
        value = "values" if "," in said else "value"
        assert messages == [f"ignoring bad {value} in {path}: {said}"], messages
        assert app.theme == default_theme and app.prefs.theme is None
        assert table(app).index.sort_column == "pid"  # the good values are kept


USERS_PREFS_WITH_A_TYPO = (
    b'{"sort_column":"pid","sort_reverse":true,"hidden_columns":["user"],"theme":"nord",}'
)


@pytest.mark.parametrize(
    "content",
    [
        USERS_PREFS_WITH_A_TYPO,
        b'{"theme": "nord", "filter": "' + b"x" * 70_000 + b'"}',
        b'{"theme": "nord", "x": "\xff"}',
    ],
    ids=["trailing-comma", "over-64KiB", "not-utf8"],
)
async def test_a_preferences_file_that_cannot_be_read_is_never_saved_over(
    xdg_config: Path, content: bytes
) -> None:
    path = xdg_config / "tcpscope" / "prefs.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("s")
        await pilot.press("s")
        await asyncio.to_thread(app._prefs_saver.wait, 30.0)
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        told = [m for m in said if m.startswith("not saving preferences:")]
        assert len(told) == 1, said
        assert told[0].startswith(f"not saving preferences: {path} could not be read (")
        assert told[0].endswith("); fix or remove it")
        await pilot.press("q")
    assert path.read_bytes() == content  # the user's theme and sort order are still there
    assert sorted(p.name for p in path.parent.iterdir()) == ["prefs.json"]


async def test_unwritable_preferences_give_a_notice(xdg_config: Path) -> None:
    xdg_config.mkdir(parents=True)
    (xdg_config / "tcpscope").write_text("a file where the directory should be")
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("s")
        await asyncio.to_thread(app._prefs_saver.wait, 30.0)  # written in a thread of its own
        await pilot.pause()
        assert any("cannot save" in str(n.message) for n in app._notifications)
        assert table(app).index.sort_column == "local"


async def test_state_counts_for_all_and_filtered() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(160, 40)) as pilot:
        await step(pilot, app, feed)
        bar = app.screen.query_one("#state-bar", Static)
        conns = list(app.snapshot.connections.values())  # type: ignore[union-attr]

        def count(state: TcpState, port: int | None = None) -> int:
            return sum(
                1 for c in conns if c.state is state and port in (None, c.local_port, c.remote_port)
            )

        text = static_text(bar)
        for state, label in ((TcpState.ESTABLISHED, "Established"), (TcpState.LISTEN, "Listen")):
            assert f"{label} {count(state)} " in text
        await pilot.press("slash", *"port:80", "enter")
        text = static_text(bar)
        for state, label in (
            (TcpState.ESTABLISHED, "Established"),
            (TcpState.LISTEN, "Listen"),
            (TcpState.TIME_WAIT, "TimeWait"),
        ):
            assert f"{label} {count(state, 80)}/{count(state)}" in text
        assert count(TcpState.ESTABLISHED, 80) not in (0, count(TcpState.ESTABLISHED))


async def test_command_palette_runs_the_same_actions() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("ctrl+p")
        await pilot.press(*"Group by process")
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(5):
            await pilot.pause()
        assert table(app).grouped
        await pilot.press("ctrl+p")
        await pilot.press(*"Pause")
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(5):
            await pilot.pause()
        assert feed.paused


async def palette_titles(pilot: Pilot[int], app: TcpscopeApp, query: str) -> list[str]:
    """The titles the command palette lists for ``query`` (it is left open)."""
    await pilot.press("ctrl+p", *query)
    options = app.screen.query_one(CommandList)
    for _ in range(50):  # the providers search in workers
        await pilot.pause(0.02)
        if options.option_count and not app.screen.query_one(LoadingIndicator).display:
            break
    prompts = (options.get_option_at_index(i).prompt for i in range(options.option_count))
    return [str(p).split("\n")[0] for p in prompts]


async def test_palette_names_every_key_once() -> None:
    """The palette had no entry for ``n`` (searching "dns", "host" or "name" found nothing)
    nor ``u``, said "Group by process — Toggle one row per owning process" though ``g``
    cycles on to container/namespace, and listed "Quit" twice (ours and Textual's)."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        for query in ("dns", "host", "name"):
            assert "Host names (reverse DNS)" in await palette_titles(pilot, app, query), query
            await pilot.press("escape")
        assert await palette_titles(pilot, app, "quit") == ["Quit"]
        await pilot.press("escape")
        group = [t for t in await palette_titles(pilot, app, "group") if t.startswith("Group")]
        assert group == ["Group by process, then container / namespace"]
        await pilot.press("escape")
        assert (await palette_titles(pilot, app, "host names"))[0] == "Host names (reverse DNS)"
        await pilot.press("enter")
        await pilot.pause()
        assert table(app).dns is not None  # the same action as n
        await pilot.press("enter")  # the detail pane, where u unfolds
        missing = app.screen.query_one("#detail-missing", Collapsible)
        assert missing.collapsed
        assert (await palette_titles(pilot, app, "not reported"))[0] == "Not reported properties"
        await pilot.press("enter")
        await pilot.pause()
        assert not missing.collapsed


async def test_no_color_keeps_markers() -> None:
    feed = SteppedFeed()
    app = make_app(feed, no_color=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        assert app.no_color
        assert any(isinstance(f, Monochrome) for f in app.get_line_filters())
        assert line_text(app, by_port(app, 21, 50021).instance_id).startswith("+")
        assert line_text(app, by_port(app, 22, 40022).instance_id).startswith("~")
        ghost = next(c for c in table(app).index.rows.values() if c.remote_port == 51001)
        assert line_text(app, ghost.instance_id).startswith("x")


class BrokenFeed(SteppedFeed):
    """A feed whose stream dies: a fault the real Sampler never produces (it reports errors
    inside the stream), injected to prove the app survives a broken feed."""

    async def stream(self) -> AsyncIterator[Snapshot]:
        yield await self.step()
        raise RuntimeError("feed exploded")


async def test_a_dying_feed_is_reported_and_the_app_keeps_running() -> None:
    feed = BrokenFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause()
            if any("feed exploded" in str(n.message) for n in app._notifications):
                break
        assert any("feed exploded" in str(n.message) for n in app._notifications)
        assert app.is_running and listed(app)
        await pilot.press("s")
        assert table(app).index.sort_column == "local"


class SeekableFeed(SteppedFeed):
    """A stepped feed that also offers the replay controls (core.sampling.feed.Seekable): its step
    shows the next sample even while paused, as a replay's step does."""

    start_time = end_time = position = START
    speed = 1.0
    index = 0
    length = 1

    def set_speed(self, speed: float) -> None:
        self.speed = speed

    def number_of(self, snap: Snapshot) -> int:
        return 1

    def current(self) -> Snapshot:
        raise NotImplementedError("no marks in these tests")

    @property
    def number(self) -> int:
        return 1

    @property
    def total(self) -> int:
        return 1

    def seek(self, when: datetime) -> None:
        self.position = when

    async def step(self, samples: int = 1) -> Snapshot:
        paused, self._paused = self._paused, False
        try:
            return await super().step()
        finally:
            self._paused = paused


async def test_seekable_feed_shows_stepped_samples_while_paused() -> None:
    feed = SeekableFeed()
    assert isinstance(feed, Seekable)
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("space")
        assert feed.paused
        await step(pilot, app, feed)  # a live feed would hold this until resume
        assert app.snapshot is not None and app.snapshot.seq == 2
        assert app.is_running and listed(app)


async def test_tab_is_left_to_dialogs_and_the_filter_input() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        await pilot.press("tab")
        assert app.current_mode == "connections"
        await pilot.press("escape", "question_mark", "tab")
        assert isinstance(app.screen, HelpScreen) and app.current_mode == "connections"
        await pilot.press("escape", "tab")
        assert app.current_mode == "ipsec"


async def test_ctrl_c_quits_from_the_table_and_from_the_filter_input() -> None:
    for keys in (("ctrl+c",), ("slash", "a", "ctrl+c")):
        feed = SteppedFeed()
        app = make_app(feed)
        async with app.run_test(size=(120, 40)) as pilot:
            await step(pilot, app, feed)
            await pilot.press(*keys)
            await pilot.pause()
            assert not app.is_running, keys
        assert app.return_code == 0


# --- keys first ---------------------------------------------------------------------------
class ClaimsFeed(SteppedFeed):
    """A feed that gives way to the UI (as the live Sampler does), recording each call and,
    at ``done``, what the table's cursor row was and how many frames had been drawn."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.app: TcpscopeApp | None = None
        self.frames = 0
        self.seen_at_done: list[tuple[int, int]] = []

    def ui_busy(self) -> None:
        self.calls.append("busy")

    def ui_done(self) -> None:
        self.calls.append("done")
        if self.app is not None and self.app.current_mode == "connections":
            with contextlib.suppress(ScreenStackError):  # the app is ending
                self.seen_at_done.append((table(self.app).cursor_row, self.frames))


def claims_app(feed: ClaimsFeed) -> TcpscopeApp:
    """The app over ``feed``, its frames counted (the hook runs after each one is drawn)."""
    app = make_app(feed)
    feed.app = app
    drawn = app.post_display_hook

    def counted() -> None:
        feed.frames += 1
        drawn()

    app.post_display_hook = counted  # type: ignore[method-assign]
    return app


async def test_a_key_holds_sampling_back_until_its_answer_is_drawn() -> None:
    feed = ClaimsFeed()
    app = claims_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        feed.calls.clear()
        frames = feed.frames
        await pilot.press("down")
        await pilot.pause()
        assert feed.calls[:2] == ["busy", "done"]
        # let go only once the key was handled and a frame drawn with it
        row, drawn = feed.seen_at_done[-1]
        assert row == 1 and drawn > frames
        assert table(app).cursor_row == 1


async def test_keys_a_widget_keeps_or_a_priority_binding_takes_end_their_claim() -> None:
    feed = ClaimsFeed()
    app = claims_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("slash")  # the filter input has the keys now
        await pilot.pause()
        feed.calls.clear()
        await pilot.press("a")  # kept (stopped) by the input
        await pilot.pause()
        assert feed.calls[:2] == ["busy", "done"]
        feed.calls.clear()
        await pilot.press("escape", "tab")  # tab: a priority binding
        await pilot.pause()
        assert app.current_mode == "ipsec"
        assert feed.calls.count("busy") == feed.calls.count("done") == 2


async def test_an_app_that_ends_while_a_key_is_answered_leaves_the_collector_on() -> None:
    """``q`` ends the app before its claim would: the collector (process-wide) runs again."""
    feed = ClaimsFeed()
    app = claims_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("q")
    assert gc.isenabled()
    assert feed.calls.count("busy") == 1 and "done" in feed.calls
