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
from tui.connections.screen import ConnectionsScreen


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
