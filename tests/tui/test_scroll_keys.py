"""Scrolling panes take every key of a burst (a held key, a slow SSH link, pasted input).

Each pane is scrolled by the same keys pressed one at a time and read in one go
(:func:`tests.tui.keys.scrolled`): both must end at the same place. With Textual's own key
scrolls six Downs read together scrolled one line, two PgDns one page.
"""

from __future__ import annotations

from textual.containers import ScrollableContainer
from textual.geometry import Offset

from tests.tui.keys import burst, scrolled
from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import make_app, step, table
from tests.tui.test_ipsec_screen import make, open_ipsec
from tui.connections.detail import DetailPane
from tui.ipsec.counter_detail import CounterDetail

DOWNS = ("down",) * 6


async def test_detail_pane_at_80x24_scrolls_a_line_per_down_read_together() -> None:
    """The take-over pane (it has the focus): ↑↓, PgUp/PgDn, Home/End and Ctrl+D/U."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("enter")
        pane = app.screen.query_one(DetailPane)
        assert app.screen.focused is pane
        assert pane.max_scroll_y > 30
        assert pane.styles.overflow_x == "hidden"  # still a VerticalScroll
        assert await scrolled(pilot, pane, *DOWNS) == (Offset(0, 6), Offset(0, 6))
        for keys in (
            ("pagedown", "pagedown", "up"),
            ("end", "up", "up"),
            ("end", "home", "down"),
            ("ctrl+d", "ctrl+d", "ctrl+u", "down"),
        ):
            one_by_one, together = await scrolled(pilot, pane, *keys)
            assert together == one_by_one and one_by_one.y > 0, keys


async def test_detail_pane_beside_the_table_pages_once_per_ctrl_d_read_together() -> None:
    """Side by side the table keeps the focus; Ctrl+D/Ctrl+U page the pane from there."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(160, 30)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("enter")
        pane = app.screen.query_one(DetailPane)
        assert app.screen.focused is table(app)
        page = pane.scrollable_content_region.height
        assert pane.max_scroll_y > 2 * page
        twice = Offset(0, 2 * page)
        assert await scrolled(pilot, pane, "ctrl+d", "ctrl+d") == (twice, twice)
        once = Offset(0, page)
        assert await scrolled(pilot, pane, "ctrl+d", "ctrl+d", "ctrl+u") == (once, once)


async def test_keys_read_with_enter_at_80x24_scroll_the_pane_not_the_hidden_table() -> None:
    """Enter and Downs read together: the Downs moved the hidden table's cursor (the pane took
    the focus only after a refresh), and the pane then showed that other connection."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        opened = table(app).cursor_id
        await burst(pilot, "enter", "down", "down")
        pane = app.screen.query_one(DetailPane)
        assert app.screen.focused is pane
        assert table(app).cursor_id == opened
        await step(pilot, app, feed)
        assert pane.row_id == opened


async def test_help_scrolls_a_line_per_down_read_together() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        body = app.screen.query_one("#help-body", ScrollableContainer)
        assert app.screen.focused is body
        assert body.max_scroll_y > 30
        assert await scrolled(pilot, body, *DOWNS) == (Offset(0, 6), Offset(0, 6))
        one_by_one, together = await scrolled(pilot, body, "pagedown", "pagedown", "up")
        assert together == one_by_one and one_by_one.y > 6


async def test_ipsec_counter_detail_scrolls_a_line_per_down_read_together() -> None:
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ipsec(pilot, app, feed, 2)
        await pilot.press("enter")
        detail = app.screen.query_one(CounterDetail)
        assert app.screen.focused is detail
        assert detail.max_scroll_y > 6
        assert await scrolled(pilot, detail, *DOWNS, "up") == (Offset(0, 5), Offset(0, 5))


async def test_ipsec_keys_read_with_enter_scroll_the_counter_detail_not_the_list() -> None:
    """Enter and Downs read together on the IPsec list: the Downs moved the list's cursor
    under the counter detail, which opened later and did not scroll."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ipsec(pilot, app, feed, 2)
        await pilot.press("enter")
        detail = app.screen.query_one(CounterDetail)
        assert detail.max_scroll_y > 6
        one_at_a_time = [*DOWNS[:3]]
        for key in one_at_a_time:
            await pilot.press(key)
        await pilot.pause()
        expected = detail.scroll_offset
        await pilot.press("escape")
        before = app.screen.focused
        await burst(pilot, "enter", *one_at_a_time)
        await pilot.pause()
        together = app.screen.query_one(CounterDetail)
        assert app.screen.focused is together
        assert together.scroll_offset == expected
        await pilot.press("escape")
        assert app.screen.focused is before  # the list's cursor stayed on the opened counter
