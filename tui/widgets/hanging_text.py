"""A Rich text of labelled lines whose values wrap under their own column, not the label's.

Why: the close and kill dialogs are a column of labels and one of values in one text. Where
the dialog is narrow (or a value long, "(was not found in any fd table tcpscope could read
when sampled)"), Rich wrapped a value's end to column 0, under the labels, where it read as
a label of its own. Here a line given a hang wraps its continuations that many cells in.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.containers import Lines
from rich.measure import Measurement
from rich.style import StyleType
from rich.text import Text

_MIN_VALUE_CELLS = 8
"""Narrower than this beside its hang, a value wraps from column 0 (a word a cell wide is
harder to read than one under the label)."""


class HangingText:
    """Lines of text, each wrapped at the width it is drawn at, its continuation lines
    indented by its hang (the cells of its label)."""

    def __init__(self) -> None:
        """An empty text."""
        self.text = Text()
        self._hangs: dict[int, tuple[int, int]] = {}
        """Line number → (characters, cells) of the head its continuations hang under."""
        self._line = 0

    @property
    def plain(self) -> str:
        """The text without styles, unwrapped."""
        return self.text.plain

    def append(self, text: str, style: StyleType = "") -> None:
        """``text`` as it is (its continuation lines from column 0)."""
        self.text.append(text, style=style)
        self._line += text.count("\n")

    def line(
        self, head: str, value: str, head_style: StyleType = "", style: StyleType = ""
    ) -> None:
        """One line: ``head`` (a label, ``⚠ ``), then ``value`` wrapping under its start."""
        if head:
            self._hangs[self._line] = (len(head), cell_len(head))
        self.text.append(head, style=head_style)
        self.append(f"{value}\n", style=style)

    def lines(self, console: Console, width: int) -> Lines:
        """The text's lines at ``width`` cells."""
        out = Lines()
        for i, line in enumerate(self.text.split("\n", allow_blank=True)):
            chars, cells = self._hangs.get(i, (0, 0))
            if not cells or width - cells < _MIN_VALUE_CELLS or cell_len(line.plain) <= width:
                out.extend(line.wrap(console, width))
                continue
            head, value = line.divide([chars])
            parts = value.wrap(console, width - cells)
            for n, part in enumerate(parts):
                part.rstrip()
                out.append((head if n == 0 else Text(" " * cells)) + part)
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The lines, each no wider than ``options.max_width``."""
        drawn = Text("\n").join(self.lines(console, options.max_width))
        drawn.no_wrap, drawn.overflow = True, "fold"
        yield drawn

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """As the text's own."""
        return Measurement.get(console, options, self.text)
