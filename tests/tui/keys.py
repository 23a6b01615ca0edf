"""Keys as a terminal delivers them: queued for the app, which is not waited for in between.

Why not ``Pilot.press``: it waits for the app to be idle after every key, so it never sees
what a held key, a slow SSH link or pasted input does (several keys read in one go).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from textual import events
from textual.geometry import Offset
from textual.pilot import Pilot
from textual.widget import Widget

from tui.app import TcpscopeApp

_CHARACTERS = {
    "slash": "/",
    "space": " ",
    "colon": ":",
    "full_stop": ".",
    "comma": ",",
    "plus": "+",
    "minus": "-",
}
"""Key names whose key event carries a character."""


def send(app: TcpscopeApp, key: str) -> None:
    """``key`` as a terminal sends it: queued, the app not waited for (a printable key with
    its character, as an Input needs to type it)."""
    event = events.Key(key, key if len(key) == 1 else _CHARACTERS.get(key))
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def burst(pilot: Pilot[int], *keys: str) -> None:
    """``keys`` read from the terminal in one go, then the app left to handle them all."""
    assert isinstance(pilot.app, TcpscopeApp)
    for key in keys:
        send(pilot.app, key)
    await pilot.pause()
    await pilot.pause()


async def scrolled(pilot: Pilot[int], pane: Widget, *keys: str) -> tuple[Offset, Offset]:
    """Where ``keys`` scroll ``pane`` from its top: pressed one at a time, then read in one go.

    The first is what the user means; a pane that loses keys of a burst ends short of it.
    """

    async def from_top(press: Callable[..., Awaitable[None]]) -> Offset:
        pane.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        await press(*keys)
        await pilot.app.animator.wait_until_complete()  # Textual's own keys animate
        await pilot.pause()
        return pane.scroll_offset

    return await from_top(pilot.press), await from_top(partial(burst, pilot))
