"""Shown instead of a broken layout when the terminal is smaller than 80x24."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH = 80
MIN_HEIGHT = 24


def too_small_message(width: int, height: int) -> str:
    """The one line users see."""
    return f"terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height})"


class TooSmallScreen(Screen[None]):
    """Covers everything until the terminal is big enough (q still quits)."""

    def compose(self) -> ComposeResult:
        """The message, centred."""
        yield Static(too_small_message(*self.app.size), id="too-small")

    def on_resize(self) -> None:
        """Keep the numbers current."""
        self.query_one("#too-small", Static).update(too_small_message(*self.app.size))
