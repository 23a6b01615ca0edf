"""Shown instead of a broken layout when the terminal is smaller than 60x16.

Why 60x16: every screen still answers at that size (the table keeps State, both endpoints and
the process name; the detail summary keeps its first lines), and users on small SSH windows get a
working tool instead of a refusal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH = 60
MIN_HEIGHT = 16


def too_small_message(width: int, height: int) -> str:
    """The one line users see."""
    return f"terminal too small: {width}×{height}, need {MIN_WIDTH}×{MIN_HEIGHT}"


class TooSmallScreen(Screen[None]):
    """Covers everything until the terminal is big enough (q still quits).

    Toasts are hidden here, not dropped: at 40x10 one covered the message ("terminal too
    small▌ PID 1699 …"). The app keeps them; the screen below shows those not yet timed out
    when it comes back (Textual redraws the toasts on every screen resume). Each toast is
    hidden, not the rack: the rack sets its own display whenever a toast comes."""

    DEFAULT_CSS = """
    TooSmallScreen Toast { display: none; }
    """

    def compose(self) -> ComposeResult:
        """The message, centred."""
        yield Static(too_small_message(*self.app.size), id="too-small")

    def on_resize(self) -> None:
        """Keep the numbers current."""
        self.query_one("#too-small", Static).update(too_small_message(*self.app.size))
