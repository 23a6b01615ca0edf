"""Textual's footer, without its command-palette key where the screen is narrow.

Why: at 80 columns the connections screen's keys end with ``space Pause`` and Textual's
``^p palette`` key, docked on the right, covered its label (the footer showed ``space`` and
no action). Below :data:`PALETTE_WIDTH` columns the palette key is left out; Ctrl+P still
opens the palette, and the help screen (``?``, the footer's first key) lists it.
"""

from __future__ import annotations

from typing import Final

from textual import events
from textual.widgets import Footer

PALETTE_WIDTH: Final = 100
"""From this width on the footer shows ``^p palette`` too."""


class KeysFooter(Footer):
    """A :class:`Footer` that shows the palette key only from :data:`PALETTE_WIDTH` columns."""

    def __init__(self, *, compact: bool = False) -> None:
        """As Footer; the palette key starts hidden until the first size is known."""
        super().__init__(compact=compact, show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        """Show or hide the palette key for the new width."""
        wide = event.size.width >= PALETTE_WIDTH
        if wide != self.show_command_palette:
            self.show_command_palette = wide
            self.refresh(recompose=True)
