"""A Rich text that wraps like Rich's, but breaks a word too long for a line at its punctuation.

Why: Rich wraps only at spaces and cuts a longer word with ``…`` in a table cell. A source
expression such as libreswan's ``Σ total.{ikev1.ipsec,ikev2.child}.finished.{auth-failed,…}``
is one such word: its end was never shown at 80 columns. Here such a word is broken after a
``,``, ``.`` or ``/`` (at any character only where a part is still too long), and a lone sign
(``Σ``, ``+``) stays on the line of the term after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

_WORD = re.compile(r"\S+\s*")
_PART = re.compile(r"[^,./]*[,./]*")
_SIGNS = frozenset("Σ+")
"""Signs kept with the word after them: a sum's sign belongs to its term."""


def _words(plain: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each word of ``plain`` with its trailing spaces; a lone sign is joined
    to the next word."""
    glued: int | None = None
    for match in _WORD.finditer(plain):
        if match.group().strip() in _SIGNS:
            glued = match.start() if glued is None else glued
            continue
        yield (match.start() if glued is None else glued), match.end()
        glued = None
    if glued is not None:
        yield glued, len(plain)


def _parts(plain: str, start: int, end: int, width: int) -> Iterator[tuple[int, int]]:
    """``plain[start:end]`` whole when it fits ``width`` (spaces after it aside), else cut
    after its punctuation, and a part still too long cut at ``width`` cells."""
    if cell_len(plain[start:end].rstrip()) <= width:
        yield start, end
        return
    for at, part_end in _punctuated(plain, start, end):
        while cell_len(plain[at:part_end].rstrip()) > width:
            cut = at + 1
            while cut < part_end and cell_len(plain[at : cut + 1]) <= width:
                cut += 1
            yield at, cut
            at = cut
        yield at, part_end


def _punctuated(plain: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``plain[start:end]`` cut after each run of ``,``, ``.`` or ``/``."""
    for match in _PART.finditer(plain, start, end):
        if match.start() != match.end():
            yield match.start(), match.end()


def _breaks(plain: str, width: int) -> list[int]:
    """Offsets in ``plain`` (one line) where the lines of it at ``width`` cells start."""
    breaks: list[int] = []
    line_start = 0
    for word_start, word_end in _words(plain):
        for start, end in _parts(plain, word_start, word_end, width):
            if start > line_start and cell_len(plain[line_start:end].rstrip()) > width:
                breaks.append(start)
                line_start = start
    return breaks


class FoldedText:
    """``text`` drawn at the width it is given: every character of it shown, none cut."""

    def __init__(self, text: Text) -> None:
        """Wrap ``text`` (its ``\\n`` start new lines)."""
        self.text = text

    def lines(self, width: int) -> list[Text]:
        """The lines of the text at ``width`` cells, without the spaces where they broke."""
        lines: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            for part in line.divide(_breaks(line.plain, max(1, width))):
                part.rstrip()
                lines.append(part)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The lines, each no wider than ``options.max_width``."""
        drawn = Text("\n").join(self.lines(options.max_width))
        drawn.no_wrap, drawn.overflow = True, "fold"
        yield drawn

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """At least the widest part between breaks, at most the longest line."""
        plain = self.text.plain
        parts = [
            cell_len(line[start:end].rstrip())
            for line in plain.split("\n")
            for word_start, word_end in _words(line)
            for start, end in _punctuated(line, word_start, word_end)
        ]
        longest = max((cell_len(line) for line in plain.split("\n")), default=0)
        return Measurement(max(parts, default=0), longest).clamp(max_width=options.max_width)
