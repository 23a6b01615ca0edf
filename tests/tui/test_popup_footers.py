"""Each pop-up's footer lists the keys that work in it, drawn over the footer beneath.

Why: under the ``x``/``K`` dialog (and the SIGKILL one after it) and under help, the bottom
line still read the table's ``? Help / Filter ⏎ Detail s Sort … space Pause``: ``?``, ``/``,
``s`` and space did nothing there, ``⏎`` cancelled the dialog (Cancel has the focus) rather
than open the detail, ``q`` closed help rather than quit, and ``y``/``n`` showed only on the
buttons. The real app at 80x24: a real child process for ``K``, the scripted table for help.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets._footer import FooterKey

import core.connections.process_end as process_end
from tests.integration.sockets import SocketBag
from tests.tui.scripted import SteppedFeed
from tests.tui.test_actions import confirm, live_app, select, toasts, until
from tests.tui.test_app import make_app, step
from tui.app import TcpscopeApp
from tui.connections.actions import ConfirmScreen
from tui.screens.help import HelpScreen


def footer_keys(screen: Screen[Any]) -> list[str]:
    """The keys the footer of ``screen`` shows."""
    return [f"{k.key_display} {k.description}" for k in screen.query(FooterKey)]


def bottom_line(app: TcpscopeApp) -> str:
    """The screen's last line as drawn now (the pop-up's footer over the table's)."""
    strips = app.screen._compositor.render_strips()
    return "".join(seg.text for seg in strips[-1]).strip()


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


DIALOG = ["⏎ Cancel", "tab Other button", "y Yes", "n/esc Cancel"]
"""The dialog's footer while Cancel has the focus (as it has when the dialog opens)."""


async def test_the_kill_dialogs_footer_lists_their_keys(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_end, "TERM_GRACE_S", 0.3)
    child, port = bag.child_listener(ignore_term=True)
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, port, 0)
        await pilot.press("K")
        await confirm(pilot, app)
        await pilot.pause()
        first = app.screen
        assert footer_keys(first) == DIALOG
        assert bottom_line(app).split() == " ".join(DIALOG).split()
        await pilot.press("tab")  # the focus on the Terminate button: Enter answers yes
        await pilot.pause()
        assert footer_keys(first)[0] == "⏎ Yes"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not first)
        text = await confirm(pilot, app)
        assert "after SIGTERM" in text  # the SIGKILL follow-up
        await pilot.pause()
        assert footer_keys(app.screen) == DIALOG
        assert bottom_line(app).split() == " ".join(DIALOG).split()
        await pilot.press("enter")  # as its footer says: Cancel
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert child.poll() is None, toasts(app)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=5)


async def test_the_help_screens_footer_lists_its_keys() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert footer_keys(app.screen) == ["esc/q/? Close"]
        assert bottom_line(app) == "esc/q/? Close"
        await pilot.press("q")  # as the footer says: help closes, the app goes on
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and app.is_running
