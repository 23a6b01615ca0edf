"""A screen with the help (or a dialog, a counter's detail) over it draws no new sample
beneath it, and shows the newest one when it is on top again (see :mod:`tui.covered`).

Why held: a line redrawn beneath a modal screen made Textual write the whole modal to the
terminal again (the help over an idle table: 7.6 KB/s at 80x24, 97% of it as it was).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Static

from tests.tui.ipsec_fixtures import SteppedIpsecFeed, standard_providers
from tests.tui.scripted import HOST, SteppedFeed
from tests.tui.test_app import by_port, static_text, step, table
from tests.tui.test_ipsec_screen import advance, cell, open_ipsec, row, view
from tui import format as fmt
from tui.app import TcpscopeApp
from tui.connections.screen import ConnectionsScreen
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.screen import IpsecScreen
from tui.screens.help import HelpScreen
from tui.widgets.header import HELD, HeaderBar


async def test_the_table_under_the_help_holds_and_shows_the_newest_sample_once_closed() -> None:
    feed = SteppedFeed()
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        shown = table(app).snapshot
        header = static_text(app.screen.query_one(HeaderBar))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await step(pilot, app, feed)  # port 21's connection opens
        await step(pilot, app, feed)
        newest = app.snapshot
        assert newest is not None and newest is not shown
        screen = app.get_screen_stack("connections")[0]
        assert isinstance(screen, ConnectionsScreen)
        assert screen.table.snapshot is shown  # beneath the help: held
        assert "ago)" not in static_text(screen.query_one(HeaderBar))  # held: no age
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen_stack[-1] is screen
        assert table(app).snapshot is newest
        assert by_port(app, 21, 50021).instance_id in table(app).index.rows
        assert static_text(screen.query_one(HeaderBar)) != header  # its sample's time


async def test_the_header_under_a_pop_up_tells_no_age_that_stopped() -> None:
    """Under the help the header read ``last 15:52:03 (0s ago)`` at 15:52:09 and 15:52:14
    while sampling went on: held with the table beneath, it told a false age. Kept live it
    made Textual write the whole help again each second (7.5 KB/s at 80x24, as before the
    pop-ups held still), so it stays held but says so in the place of the age; closed, the
    newest sample's time and age are back."""
    feed = SteppedFeed()
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        shown = app.snapshot
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        for _ in range(3):
            await step(pilot, app, feed)
        newest = app.snapshot
        assert newest is not None and shown is not None
        screen = app.get_screen_stack("connections")[0]
        assert isinstance(screen, ConnectionsScreen)
        line = static_text(screen.query_one(HeaderBar))
        assert "ago)" not in line and f"{fmt.clock(shown.time)} {HELD}" in line, line
        await pilot.press("escape")
        await pilot.pause()
        line = static_text(screen.query_one(HeaderBar))
        assert f"{fmt.clock(newest.time)} (0s ago)" in line and HELD not in line, line


async def test_the_counter_detail_under_the_help_and_the_list_under_both_catch_up() -> None:
    feed = SteppedIpsecFeed(standard_providers())
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 3)
        await pilot.press("slash", *"keyadditions", "enter", "down", "enter")
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        assert detail.provider == "kernel"
        listed = cell(row(screen, "kernel", "KeyAdditions"), "value")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        before = detail_text(detail)
        assert "last 3 samples" in before
        await advance(pilot, app, feed)
        await advance(pilot, app, feed)
        assert view(app).row("kernel", "KeyAdditions").value == 0  # reset: 1,000,006 listed
        assert detail_text(detail) == before  # under the help: held
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen_stack[-1] is detail
        assert "last 5 samples" in detail_text(detail)
        assert cell(row(screen, "kernel", "KeyAdditions"), "value") == listed  # held beneath
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, IpsecScreen)
        assert cell(row(screen, "kernel", "KeyAdditions"), "value") != listed


def detail_text(detail: Screen[Any]) -> str:
    """Everything the counter's detail says."""
    return " ".join(str(s.render()) for s in detail.query(Static))
