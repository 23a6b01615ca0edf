"""Troubleshooting under pressure: the first screen answers, 80x24 works, filters compose.

Each test drives the real app (Textual pilot) on scripted data that goes through the real
Sampler, at the sizes a person on SSH meets: 80x24, 60x16 (the minimum) and 120x40.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from core.connections.model import TcpState
from core.connections.reverse_dns import ReverseDns
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from tests.tui.scripted import PROCS, SteppedFeed, base_conns, linux_frames
from tests.tui.test_app import by_port, line_text, listed, make_app, static_text, step, table
from tests.tui.test_ipsec_screen import drawn_lines
from tui.connections.conn_table import ConnTable
from tui.connections.detail import DetailPane
from tui.connections.screen import ConnectionsScreen
from tui.widgets.filter_bar import FilterBar


def linux_feed() -> SteppedFeed:
    return SteppedFeed(linux_frames, name="netlink")


def footer_keys(app: object) -> dict[str, FooterKey]:
    screen = app.screen  # type: ignore[attr-defined]
    return {k.description: k for k in screen.query(FooterKey)}


# --- the table at 80x24 -------------------------------------------------------------------
async def test_80x24_full_ipv4_endpoints_process_sort_arrow_note_and_footer() -> None:
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        header = t.render_line(0).text
        assert "State▲" in header
        assert "Offload" not in header and "Applied" not in header  # folded into the note
        longest = by_port(app, 65535, 65534)
        row = line_text(app, longest.instance_id)
        assert "255.255.255.250:65535" in row and "203.0.113.254:65534" in row
        widths = {c.key: w for c, w in t.layout_columns}
        assert widths["process"] >= 12 and "postgres" in row
        note = static_text(app.screen.query_one("#state-bar", Static))
        assert "all rows: Offload InHost, Applied —" in note
        keys = footer_keys(app)
        # No palette key at 80 columns (it covered "Pause"; Ctrl+P works, help lists it): every
        # key the footer shows fits whole, quitting and pausing included.
        assert not [k for k in keys.values() if k.key == "ctrl+p"]
        labels = ("Help", "Filter", "Detail", "Sort", "Close", "Kill", "IPsec", "Quit", "Pause")
        for label in labels:
            key = keys[label]
            assert key.region.width > 0 and key.region.right <= 80, label
        # Wide enough, the palette key is back, right of them all.
        await pilot.resize_terminal(120, 24)
        await pilot.pause()
        keys = footer_keys(app)
        palette = [k for k in keys.values() if k.key == "ctrl+p"]
        assert palette and palette[0].region.right <= 120
        assert all(keys[label].region.right <= palette[0].region.x for label in labels)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        # Sorting by a folded column brings it back with its arrow.
        await pilot.press("O")
        assert "Offload▲" in t.render_line(0).text


async def test_60x16_is_usable_and_smaller_says_so_in_one_line() -> None:
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(60, 16)) as pilot:
        await step(pilot, app, feed)
        assert isinstance(app.screen, ConnectionsScreen)
        assert "State▲" in table(app).render_line(0).text
        await pilot.resize_terminal(50, 12)
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ConnectionsScreen)
        text = static_text(app.screen.query_one("#too-small", Static)).strip()
        assert text == "terminal too small: 50×12, need 60×16"


@pytest.mark.parametrize(("width", "height"), [(60, 16), (64, 20), (70, 24)])
async def test_below_80_columns_the_owner_stays(width: int, height: int) -> None:
    """Find, see who owns it, act: at 70 columns only PID was shown, at 60x16 neither PID
    nor Process. The process name stays (cut with … where it must), PID goes first."""
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(width, height)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        assert "Process" in t.render_line(0).text, t.render_line(0).text
        names = {p.name for p in PROCS.values() if p.name}
        rows = [t.render_line(y).text for y in range(1, min(t.row_count + 1, t.size.height))]
        shown = [row for row in rows if any(name[:5] in row for name in names)]
        assert len(shown) >= len(rows) // 2, rows  # owned rows name their process
        assert all(len(row) <= width for row in rows)


async def test_a_toast_never_covers_the_too_small_message() -> None:
    """A toast (K → n "left running") then a resize to 40x10: the toast was drawn over the
    message ("terminal too small▌ PID 1699 …"). It is hidden while the terminal is too
    small, and shown again once it is big enough (if it has not timed out)."""
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await step(pilot, app, feed)
        app.notify("PID 1699 left running: it did not end within 2 s", timeout=60)
        await pilot.pause()
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ConnectionsScreen)
        drawn = [line.strip() for line in drawn_lines(app)]
        message = "terminal too small: 40×10, need 60×16"
        assert message in "".join(drawn), drawn  # whole, on its one or two lines
        assert not any("PID 1699" in line for line in drawn), drawn
        app.notify("PID 1700 left running", timeout=60)  # one that comes while too small
        await pilot.pause()
        assert not any("PID 1700" in line for line in drawn_lines(app))
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, ConnectionsScreen)
        assert any("PID 1700" in line for line in drawn_lines(app))


# --- sorting ------------------------------------------------------------------------------
async def test_sort_by_header_click_angle_keys_shortcuts_and_palette() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        pid_x = next(
            sum(w + 1 for _, w in t.layout_columns[:i])
            for i, (c, _) in enumerate(t.layout_columns)
            if c.key == "pid"
        )
        await pilot.click(ConnTable, offset=(pid_x + 1, 0))
        assert (t.index.sort_column, t.index.reverse) == ("pid", False)
        await pilot.click(ConnTable, offset=(pid_x + 1, 0))
        assert (t.index.sort_column, t.index.reverse) == ("pid", True)
        assert "PID▼" in t.render_line(0).text
        await pilot.press("greater_than_sign")
        assert t.index.sort_column == "process"
        await pilot.press("less_than_sign", "less_than_sign")
        assert t.index.sort_column == "remote"
        await pilot.press("T")
        assert t.index.sort_column == "state"
        await pilot.press("P")
        assert t.index.sort_column == "pid"
        await pilot.press("ctrl+p")
        await pilot.press(*"Sort by Offload")
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(5):
            await pilot.pause()
        assert t.index.sort_column == "offload"
        await pilot.press("P")
        pids = [c.owning_process for c in listed(app)]
        assert pids == sorted(pids, key=lambda p: -1 if p is None else p)


# --- filtering ----------------------------------------------------------------------------
async def test_tab_completes_in_the_filter_and_letters_stay_text() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        await pilot.press("slash", "s", "t", "tab")
        field = app.screen.query_one("#filter-input", Input)
        assert field.value == "state:" and app.focused is field
        await pilot.press("l", "i", "tab", "comma", "e", "s", "tab")
        assert field.value == "state:listen,established"
        assert app.focused is field and t.index.sort_column == "state"  # no key leaked
        await pilot.press("space", "-", "p", "o", "tab", *"22", "enter")
        assert t.index.query.text == "state:listen,established -port:22"
        assert {c.state for c in listed(app)} == {TcpState.LISTEN, TcpState.ESTABLISHED}
        assert all(22 not in (c.local_port, c.remote_port) for c in listed(app))


async def test_filter_errors_show_inline_while_typing() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        before = len(listed(app))
        await pilot.press("slash", *"port:9-1")
        bar = app.screen.query_one(FilterBar)
        assert "runs backwards" in bar.error
        await pilot.press("enter")
        assert bar.editing and len(listed(app)) == before  # the active filter is unchanged
        await pilot.press("backspace", "backspace", "backspace", *"1-100")
        assert bar.error == ""


async def test_an_empty_quoted_filter_word_is_said_to_be_empty() -> None:
    """``""`` typed in the filter said "'' needs something to negate", of a ``-`` never
    typed; now the inline error and the toast on Enter say the word is empty."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await step(pilot, app, feed)
        before = len(listed(app))
        await pilot.press("slash", *'port:1-100 ""')
        bar = app.screen.query_one(FilterBar)
        assert bar.error.startswith("an empty filter word"), bar.error
        await pilot.press("enter")
        assert bar.editing and len(listed(app)) == before  # the active filter is unchanged
        said = [(str(n.title), str(n.message)) for n in app._notifications]
        assert said == [("Filter not applied", bar.error)], said


async def test_a_long_filter_error_is_drawn_whole_at_80x24() -> None:
    """The inline error wraps instead of being cut at the edge (it lost its end, the part
    that says what would be right: "...nor a service name"); the rows move down a line."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("slash", *"port:80x")
        await pilot.pause()
        bar = app.screen.query_one(FilterBar)
        assert bar.error == "port: '80x' is neither a port number nor a service name"
        hint = bar.query_one("#filter-hint", Static)
        size = hint.size
        drawn = " ".join(
            strip.text.strip() for strip in hint.render_lines(Region(0, 0, size.width, size.height))
        )
        assert "neither a port number nor a service name" in drawn
        assert hint.region.right <= 80 and bar.region.height == 2
        below = app.screen.query_one("#state-bar", Static).region
        assert below.y == bar.region.bottom  # pushed down, not overlapped


async def test_filter_option_applies_for_this_run_only(xdg_config: Path) -> None:
    feed = SteppedFeed()
    app = make_app(feed, filter_text="addr:10.0.0.0/8 port:80,22 -state:timewait")
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("s")  # saves preferences
        shown = {(c.local_port, c.state) for c in listed(app)}
        assert shown == {
            (80, TcpState.ESTABLISHED),
            (22, TcpState.ESTABLISHED),
        }
    saved = (xdg_config / "tcpscope" / "prefs.json").read_text()
    assert "addr:10" not in saved


# --- group view ---------------------------------------------------------------------------
async def test_groups_keep_the_cursor_and_show_state_counts_and_bytes() -> None:
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        busy = by_port(app, 65535, 65534)
        t.move_cursor_to(busy.instance_id)
        await pilot.press("g")
        assert t.cursor_id == "group:303"
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        line = t.render_line(t.position_of("group:303") + 1).text  # type: ignore[operator]
        assert "postgres" in line and "Listen 1" in line and "Established 1" in line
        assert "10.0 KiB/s" in line  # 8192 + 2048 bytes per 1 s sample
        await pilot.press("g")
        assert t.cursor_id == busy.instance_id


# --- wide terminals -----------------------------------------------------------------------
async def test_wide_terminal_gains_rates_and_service_names() -> None:
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await step(pilot, app, feed)
        t = table(app)
        header = t.render_line(0).text
        assert "In/s" in header and "Out/s" in header and "Service" in header
        busy = line_text(app, by_port(app, 65535, 65534).instance_id)
        assert "2.0 KiB" in busy and "8.0 KiB" in busy
        ssh = line_text(app, by_port(app, 22, 40022).instance_id)
        assert " ssh " in ssh and "100 B" in ssh


async def test_reverse_dns_is_off_by_default_and_never_delays_a_frame() -> None:
    frames = [ScriptedFrame(base_conns(), PROCS)]
    feed = SteppedFeed(frames)
    app = make_app(feed, filter_text="addr:127.0.0.0/8")  # only loopback is ever resolved
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        row = by_port(app, 5432, 39000)
        assert t.dns is None and "127.0.0.1:39000" in line_text(app, row.instance_id)
        # A resolver stuck for as long as the test likes: the rows draw anyway, as addresses.
        gate = threading.Event()

        def stuck(address: str) -> str:
            gate.wait(10)
            return "stuck.example"

        t.set_dns(ReverseDns(resolve=stuck))
        assert "127.0.0.1:39000" in line_text(app, row.instance_id)
        gate.set()
        t.set_dns(None)
        # The real resolver on loopback, through the key.
        await pilot.press("n")
        assert t.dns is not None
        for _ in range(200):
            await pilot.pause(0.01)
            if "localhost:39000" in line_text(app, row.instance_id):
                break
        assert "localhost:39000" in line_text(app, row.instance_id)
        await pilot.press("n")
        assert t.dns is None and "127.0.0.1:39000" in line_text(app, row.instance_id)


# --- detail pane --------------------------------------------------------------------------
async def test_detail_answers_first_at_80x24_and_folds_not_reported() -> None:
    feed = linux_feed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        table(app).move_cursor_to(by_port(app, 65535, 65534).instance_id)
        await pilot.press("enter")
        await step(pilot, app, feed)
        await step(pilot, app, feed)
        pane = app.screen.query_one(DetailPane)
        summary = app.screen.query_one("#detail-summary", Static)
        assert summary.region.bottom <= 23  # all of it above the footer, no scrolling
        text = static_text(summary, width=summary.region.width)
        for expected in (
            "Established — Represents an open connection",
            "255.255.255.250:65535 → 203.0.113.254:65534",
            "303 postgres  postgres  postgres -D /var/lib/pg",
            "InHost — handled by the host's own TCP stack",
            "CreationTime ≤",
            "rtt 1.2 ms",
            "cwnd 10",
            "retrans 0 now, 2 total",
            "in 8.9 KiB (2.0 KiB/s)",
            "out 25.8 KiB (8.0 KiB/s)",
            "(always, on Linux)",
        ):
            assert expected in text, expected
        assert app.screen.query_one("#detail-sparkline").region.bottom <= 23
        assert pane.rates()[-1] == 10240.0
        missing = app.screen.query_one("#detail-missing")
        title = str(missing.title)  # type: ignore[attr-defined]
        assert title.endswith(" not reported on Linux")
        assert missing.collapsed  # type: ignore[attr-defined]
        body = static_text(app.screen.query_one("#detail-body", Static), width=200)
        assert "seed's order" not in body and "core." not in body
        await pilot.press("u")
        assert not missing.collapsed  # type: ignore[attr-defined]
        folded = static_text(app.screen.query_one("#detail-missing-body", Static), width=200)
        assert folded.count("reports no CIM status for a socket") == 1
        assert "OperationalStatus, Status, HealthState" in folded
        named = sum(len(line.split(", ")) for line in folded.splitlines() if line[:1] != " ")
        assert title == f"{named} not reported on Linux"


async def test_state_counts_and_folded_columns_stay_on_one_line_at_80_columns() -> None:
    """Four kinds of count and the folded columns' note took two lines at 80 columns (a table
    row lost); the line is shortened step by step instead, and whole again when wide."""
    rows = [
        ScriptedConn("127.0.0.1", 5432, "0.0.0.0", 0, TcpState.LISTEN, pid=101, offload_state=0),
        *(
            ScriptedConn("127.0.0.1", 5432, "127.0.0.1", 40000 + i, state, pid=101, offload_state=0)
            for i, state in enumerate([TcpState.ESTABLISHED] * 62 + [TcpState.CLOSE_WAIT] * 61)
        ),
        *(
            ScriptedConn(
                "127.0.0.1", 40000 + i, "127.0.0.1", 5432, TcpState.FIN_WAIT2, offload_state=0
            )
            for i in range(62, 123)
        ),
    ]
    feed = SteppedFeed([ScriptedFrame(rows, PROCS)], name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        bar = app.screen.query_one("#state-bar", Static)
        await pilot.pause()
        text = static_text(bar).strip()
        assert bar.size.height == 1, text
        assert text.startswith("Established 62 Listen 1 CloseWait 61 others 61 │ ")
        assert text.endswith("Offload InHost, Applied —")
        await pilot.resize_terminal(120, 24)
        await pilot.pause()
        wide = static_text(bar).strip()
        assert wide.startswith("Established 62  Listen 1  CloseWait 61  others 61  │ all rows: ")
        await pilot.resize_terminal(60, 24)
        await pilot.pause()
        assert static_text(bar).strip() == "Established 62 Listen 1 CloseWait 61 others 61"
        assert bar.size.height == 1


def test_filtered_counts_of_many_states_keep_to_one_line_at_80_columns() -> None:
    """Seven States' "shown/all" counts took two lines at 80 columns: the last shortening
    keeps the States the filter shows and says how many rows of all are shown."""
    from functools import partial

    from tui import format as fmt
    from tui.connections.state_bar import COMPACT_STEPS, NOTE_STEPS, state_line

    every = {
        TcpState.ESTABLISHED: 105,
        TcpState.LISTEN: 5,
        TcpState.TIME_WAIT: 174,
        TcpState.CLOSE_WAIT: 12,
        TcpState.SYN_RECEIVED: 3,
        TcpState.SYN_SENT: 1,
        TcpState.FIN_WAIT2: 15,
    }
    kept = {TcpState.ESTABLISHED: 2}
    assert state_line(every, kept, True, compact=NOTE_STEPS).cell_len > 78
    line = fmt.fitted(partial(state_line, every, kept, True, ""), COMPACT_STEPS, 78).plain
    assert line == "Established 2/105 │ 2 of 315 shown"
    nothing = fmt.fitted(partial(state_line, every, {}, True, ""), COMPACT_STEPS, 78).plain
    assert nothing == "0 of 315 shown"
