"""Keys read with the `/` that opens the filter are typed into it (tests/tui/keys.py).

Typed fast over a slow SSH link, or pasted, `/port:1` arrives in one read: the input took the
focus only after a refresh, so the text went to the table as commands (`x` asked to close a
connection, `2` switched to the IPsec screen, `n` and `g` toggled views).
"""

from __future__ import annotations

from textual.widgets import Input, Static

from tests.tui.keys import burst
from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import make_app, step, table
from tests.tui.test_ipsec_screen import advance, make, open_ipsec
from tui.connections.detail import DetailPane
from tui.connections.screen import ConnectionsScreen
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.ipsec_table import CounterRowView, CounterTable
from tui.ipsec.screen import IpsecScreen


async def test_text_read_with_the_slash_goes_into_the_filter() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        grouped = table(app).grouped
        await burst(pilot, "slash", *"proc:ngx 2")
        assert isinstance(app.screen, ConnectionsScreen)  # "2" did not switch screens
        field = app.screen.query_one("#filter-input", Input)
        assert app.screen.focused is field
        assert field.value == "proc:ngx 2"  # "x" did not ask to close a connection
        assert table(app).grouped == grouped  # "g" did not group


async def test_editing_keys_in_a_burst_apply_in_the_order_typed() -> None:
    """Backspace, Ctrl+U and the arrows are bindings, run when the key came back up to the
    app: the letters read after them were typed first (`ab⌫c` gave `ab`, not `ac`)."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await burst(pilot, "slash", *"port:81", "backspace", "0")
        field = app.screen.query_one("#filter-input", Input)
        assert field.value == "port:80"
        await burst(pilot, "ctrl+u", *"state:est", "left", "left", "left", "x", "end", "s")
        assert field.value == "state:xests"
        await burst(pilot, "home", "delete", *"S")
        assert field.value == "State:xests"
        await burst(pilot, "end", "ctrl+u", *"port:80", "enter", *"9")
        assert str(app.screen.query_one("#filter-status", Static).render()) == "port:80"


async def test_tab_read_with_the_slash_completes_in_the_filter() -> None:
    """Tab switched screens at once, before the `/` read with it was handled: the IPsec
    screen opened, its filter holding the text typed for the connections filter."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await burst(pilot, "slash", *"sta", "tab")
        assert app.current_mode == "connections"
        field = app.screen.query_one("#filter-input", Input)
        assert app.screen.focused is field
        assert field.value == "state:"  # as when `/` is pressed first
        await pilot.press("escape", "tab")  # outside the input, Tab still switches
        assert isinstance(app.screen, IpsecScreen)
        await pilot.press("tab")
        assert isinstance(app.screen, ConnectionsScreen)


def ipsec_filter(screen: IpsecScreen) -> tuple[str, str, int]:
    """(the filter line's text, the filter the rows obey, how many rows are shown)."""
    table = screen.query_one(CounterTable)
    status = str(screen.query_one("#filter-status", Static).render())
    return status, table.filter_text, len(table.visible_rows())


async def test_letters_read_with_the_key_that_opens_the_ipsec_screen_filter_nothing() -> None:
    """The screen's hidden filter input took the focus as the screen first opened: letters
    read with the `2` were typed into it and filtered the list while its line said none."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await advance(pilot, app, feed)
        await burst(pilot, "2", *"fail")
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        status, applied, rows = ipsec_filter(screen)
        assert status.startswith("none") and applied == ""
        assert rows == len(screen.query_one(CounterTable).rows())
        assert isinstance(screen.focused, CounterRowView)


async def test_keys_after_enter_act_on_the_table() -> None:
    """The filter bar closed only when its Submitted message was handled, after the keys read
    with the Enter: `g` was typed into the closing input and lost, Enter opened nothing."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await burst(pilot, "slash", "ctrl+u", *"port:80", "enter", "g")
        assert str(app.screen.query_one("#filter-status", Static).render()) == "port:80"
        assert table(app).grouped
        assert app.screen.focused is table(app)
        await pilot.press("g")
        at = table(app).cursor_id  # a listener: the cursor stays on it when filtered
        assert at is not None
        await burst(pilot, "slash", "ctrl+u", *"state:listen", "enter", "down", "enter")
        screen = app.screen
        assert isinstance(screen, ConnectionsScreen)
        rows = [table(app).row_id_at(i) for i in range(table(app).row_count)]
        below = rows[rows.index(at) + 1]
        assert screen.detail_open and screen.focused is screen.query_one(DetailPane)
        assert table(app).cursor_id == below
        assert screen.query_one(DetailPane).row_id == below


async def test_keys_after_escape_act_on_the_table() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await burst(pilot, "slash", *"port:80", "escape", "g")
        assert str(app.screen.query_one("#filter-status", Static).render()).startswith("none")
        assert table(app).grouped
        assert app.screen.focused is table(app)


async def test_ipsec_keys_after_enter_or_escape_act_on_the_counters() -> None:
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await burst(pilot, "slash", "ctrl+u", *"key", "enter", "down", "enter")
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        second = screen.query_one(CounterTable).visible_rows()[1]
        assert (detail.provider, detail.counter) == (second.provider, second.counter)
        assert "key" in second.counter.lower()
        await pilot.press("escape")
        # `n` read with the Escape: typed into the closed input, it filtered the list by "n".
        await burst(pilot, "slash", *"fail", "escape", "n")
        assert screen.native
        status, applied, rows = ipsec_filter(screen)
        assert status.startswith("none") and applied == ""
        assert rows == len(screen.query_one(CounterTable).rows())
