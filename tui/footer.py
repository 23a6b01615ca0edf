"""Textual's footer, showing only the keys that fit whole, and without its command-palette
key where the screen is narrow.

Why: at 80 columns the connections screen's keys end with ``space Pause`` and Textual's
``^p palette`` key, docked on the right, covered its label (the footer showed ``space`` and
no action). Below :data:`PALETTE_WIDTH` columns the palette key is left out; Ctrl+P still
opens the palette, and the help screen (``?``, the footer's first key) lists it. Keys that
still do not fit whole are left out too, the last first (``? Help`` never): a paused replay
at 80 columns showed ``t See`` at the edge and the mark and diff keys not at all. The help
screen lists every key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_WIDTH: Final = 100
"""From this width on the footer shows ``^p palette`` too."""
KEPT_KEY: Final = "question_mark"
"""The key never left out: help lists the ones that are."""


class KeysFooter(Footer):
    """A :class:`Footer` that shows the palette key only from :data:`PALETTE_WIDTH` columns
    and leaves out the keys that would not fit whole."""

    def __init__(self, *, compact: bool = False) -> None:
        """As Footer; the palette key starts hidden until the first size is known."""
        super().__init__(compact=compact, show_command_palette=False)
        self._laid_out_width = 0

    def compose(self) -> ComposeResult:
        """Footer's keys, those that fit the width (all of them before it is known)."""
        widgets = list(super().compose())
        width = self.size.width
        keys = [w for w in widgets if isinstance(w, FooterKey)]
        if not width or len(keys) != len(widgets):
            yield from widgets  # not laid out yet, or key groups: as Textual lays them out
            return
        yield from fitting(keys, width, self.compact)

    def on_resize(self, event: events.Resize) -> None:
        """Show or hide the palette key and the keys that fit, for the new width."""
        width = event.size.width
        if width == self._laid_out_width:
            return
        self._laid_out_width = width
        self.show_command_palette = width >= PALETTE_WIDTH
        self.refresh(recompose=True)


def key_cells(key: FooterKey, compact: bool) -> tuple[int, int]:
    """Cells of ``key`` as Footer's styles draw it, and of its margin: the label (padded on
    both sides unless compact), the description after one space, and a compact key's
    margin. The palette key: a border on its left, and one cell after (padding or margin)."""
    label = cell_len(key.key_display)
    if key.has_class("-command-palette"):
        return 1 + label + 1 + cell_len(key.description) + 1, 0
    if not key.description:
        return label, 1 if compact else 0
    return label + 1 + cell_len(key.description) + (0 if compact else 2), 1 if compact else 0


def fitting(keys: Iterable[FooterKey], width: int, compact: bool) -> list[FooterKey]:
    """``keys`` without the last ones (never :data:`KEPT_KEY`) until the rest, the palette
    key's cells set aside, fit ``width`` whole."""
    shown = [k for k in keys if not k.has_class("-command-palette")]
    palette = [k for k in keys if k.has_class("-command-palette")]
    room = width - sum(key_cells(k, compact)[0] for k in palette)

    def cells() -> int:
        sizes = [key_cells(k, compact) for k in shown]
        return sum(w + m for w, m in sizes) - (sizes[-1][1] if sizes else 0)

    while shown and cells() > room:
        droppable = [i for i, k in enumerate(shown) if k.key != KEPT_KEY]
        if not droppable:
            break
        del shown[droppable[-1]]
    return [*shown, *palette]
