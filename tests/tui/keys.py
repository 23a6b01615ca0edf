"""Keys as a terminal delivers them: queued for the app, which is not waited for in between.

Why not ``Pilot.press``: it waits for the app to be idle after every key, so it never sees
what a held key, a slow SSH link or pasted input does (several keys read in one go).
"""

from __future__ import annotations

from textual import events
from textual.pilot import Pilot

from tui.app import TcpscopeApp


def send(app: TcpscopeApp, key: str) -> None:
    """``key`` as a terminal sends it: queued, the app not waited for."""
    event = events.Key(key, None)
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
