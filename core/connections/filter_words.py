"""The words of a filter line and the values of each, with their quotes: UI-free.

Why its own lexer: :mod:`shlex` takes the quotes off and with them where a comma was quoted,
so ``ns:"web-a,b"`` became ``ns:web-a`` OR ``ns:b``. Here a word is split at spaces and its
values at commas outside quotes only. The quoting is the shell's without its escapes: ``'…'``
or ``"…"`` group anything but their own quote, pieces run together (``'it'"'"'s'`` is
``it's``), a backslash is text (the escapes names are shown and matched with, ``\\x1b``),
``#`` starts no comment, and an unbalanced quote is text, the line split at spaces.
:func:`quoted` writes a value back in that form (what Tab inserts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

QUOTES: Final = "'\""
SPACES: Final = " \t\r\n"
NEEDS_QUOTES: Final = frozenset(QUOTES + SPACES + ",")
"""Characters a value cannot hold bare: they would end, split or open something."""


@dataclass(frozen=True, slots=True)
class Word:
    """One word, its quotes taken off: ``parts`` are split at the commas outside quotes."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        """The word as :mod:`shlex` gave it (quoted commas and unquoted alike)."""
        return ",".join(self.parts)


def lex(text: str) -> list[Word]:
    """The words of ``text`` (an unbalanced quote: every character is text, split at
    spaces and commas)."""
    words = _lex(text)
    if words is not None:
        return words
    return [Word(tuple(w.split(","))) for w in text.split()]


def _lex(text: str, spaces: str = SPACES) -> list[Word] | None:
    words: list[Word] = []
    parts: list[str] = []
    piece: list[str] = []
    quote = ""
    in_word = False
    for char in text:
        if quote:
            if char == quote:
                quote = ""
            else:
                piece.append(char)
        elif char in QUOTES:
            quote, in_word = char, True
        elif char in spaces:
            if in_word:
                words.append(Word((*parts, "".join(piece))))
                parts, piece, in_word = [], [], False
        elif char == ",":
            parts.append("".join(piece))
            piece, in_word = [], True
        else:
            piece.append(char)
            in_word = True
    if quote:
        return None
    if in_word:
        words.append(Word((*parts, "".join(piece))))
    return words


def values(text: str) -> list[str]:
    """``text`` split at the commas outside quotes, quotes taken off; spaces are text (an
    option's value, ``--netns 'web a,"b,c"'``: ``web a`` and ``b,c``). An unbalanced quote
    is text, split at every comma."""
    found = _lex(text, spaces="")
    if found is None:
        return text.split(",")
    return list(found[0].parts) if found else [""]


def quoted(value: str) -> str:
    """``value`` as one filter value: bare when it can be, else in quotes (``'a b'``;
    ``"it's"``; ``'it'"'"'s "x"'`` holding both quotes)."""
    if value and not NEEDS_QUOTES.intersection(value):
        return value
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "'\"'\"'") + "'"


def word_span(text: str, cursor: int) -> tuple[int, int]:
    """Where the word holding ``cursor`` starts and ends: spaces inside quotes are in it
    (an unbalanced quote runs to the end of the line)."""
    start = 0
    for at, char, quote in _quoting(text):
        if not quote and char in SPACES:
            if at >= cursor:
                return start, at
            start = at + 1
    return start, len(text)


def last_value(raw: str) -> tuple[str, str]:
    """``raw`` (the typed values of a word, up to the cursor) as what comes before its last
    value (commas and quotes as typed) and that last value with its quotes taken off."""
    head_end = max(
        (at + 1 for at, char, quote in _quoting(raw) if not quote and char == ","), default=0
    )
    piece = raw[head_end:]
    words = _lex(piece + _open_quote(piece)) or []  # closed: ``'rv4`` is the value ``rv4``
    return raw[:head_end], words[0].text if words else ""


def _open_quote(text: str) -> str:
    """The quote left open at the end of ``text`` ("" when none is)."""
    return next(reversed([quote for _at, _char, quote in _quoting(text)]), "")


def _quoting(text: str) -> Iterator[tuple[int, str, str]]:
    """Each character of ``text`` with its index and the quote open once it is read ("" when
    none): the one rule for where a quote opens and closes (no escapes), so a space or a
    comma outside quotes is one where ``quote`` is ""."""
    quote = ""
    for at, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in QUOTES:
            quote = char
        yield at, char, quote
