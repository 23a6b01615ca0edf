"""A Static that, given new content as tall as the old, redraws only the lines that differ.

Why: Textual writes every line of a refreshed widget to the terminal, changed or not. The
detail pane is redrawn each sample while only its Age line ticks: every line of it went out
again (rows 4-23 at 80x24, about 10 KB a second, 71% of it byte-identical), which a slow
link (ssh at 64 kbit/s) cannot keep up with.
"""

from __future__ import annotations

from typing import Any, Self

from rich.console import RenderableType
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget
from textual.widgets import Static


class LineStatic(Static):
    """:meth:`show` new content: only the lines drawn unlike before are refreshed."""

    _drawn: tuple[Size, list[Strip]] | None = None
    """The size shown at and the lines of the content last shown."""
    _lines_only: list[Region] | None = None
    """Set while :meth:`show` updates: the lines its refresh is limited to."""

    def show(self, content: RenderableType) -> None:
        """Show ``content``. Why not :meth:`update` alone: that redraws every line.

        Drawing the lines here as well costs one more render of the content when it changed
        (the detail pane's, once a sample), where the terminal was sent all of it."""
        size = self.size
        lines = drawn_lines(self, content, size.width)
        drawn, self._drawn = self._drawn, (size, lines)
        changed = changed_lines(drawn, size, lines)
        if changed is None:
            self.update(content)  # another height (or not laid out yet): a layout
            return
        if not changed:
            return  # drawn alike: the content shown stands for it
        self._lines_only = changed
        try:
            self.update(content, layout=False)
        finally:
            self._lines_only = None

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        """As Textual's, but limited to the changed lines while :meth:`show` updates."""
        if self._lines_only is not None and not regions and not layout:
            regions = tuple(self._lines_only)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


def drawn_lines(widget: Widget, content: object, width: int) -> list[Strip]:
    """``content`` drawn at ``width`` as Textual draws it in ``widget``."""
    if width <= 0:
        return []
    visual = visualize(widget, content, markup=False)
    return Visual.to_strips(widget, visual, width, None, widget.visual_style)


def refresh_lines(
    widget: Widget, drawn: tuple[Size, list[Strip]] | None, lines: list[Strip]
) -> tuple[Size, list[Strip]]:
    """Refresh the lines of ``widget`` that ``lines`` (its content, drawn now) draws unlike
    ``drawn`` (see :func:`changed_lines`), all of it when they cannot be compared. Returns
    what is drawn now, for the next call."""
    size = widget.size
    changed = changed_lines(drawn, size, lines)
    if changed is None:
        widget.refresh()
    elif changed:
        widget.refresh(*changed)
    return size, lines


def changed_lines(
    drawn: tuple[Size, list[Strip]] | None, size: Size, lines: list[Strip]
) -> list[Region] | None:
    """The lines of ``lines`` drawn unlike those ``drawn`` (at the size they were drawn at;
    see :func:`drawn_as`); None when nothing was drawn, or at another size, or as many lines:
    the whole widget then."""
    if drawn is None or drawn[0] != size or len(drawn[1]) != len(lines):
        return None
    return [
        Region(0, y, size.width, 1)
        for y, (old, new) in enumerate(zip(drawn[1], lines, strict=True))
        if old != new and drawn_as(old) != drawn_as(new)
    ]


def drawn_as(strip: Strip) -> list[tuple[str, Style | None, str | None, dict[str, Any]]]:
    """Each piece of ``strip`` as the terminal draws it and a click reads it: text, style,
    link and meta, less the ``offset`` meta Textual adds to every piece.

    Why: that offset is where the piece starts in its line of the content, for mouse
    selection. A wrapped line's moves when text before the wrap changes length (a count
    gaining a digit), the line drawn alike: it was written again. Selection reads it from
    the content as shown now (``Widget.render_line``), not from the lines kept for the
    screen, so a line left as it was on the screen still selects right."""
    return [
        (text, None, None, {})
        if style is None
        else (
            text,
            style.clear_meta_and_links(),
            style.link,
            {key: value for key, value in style.meta.items() if key != "offset"},
        )
        for text, style, _ in strip
    ]
