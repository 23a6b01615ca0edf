"""Make untrusted text safe to show: :func:`printable` is the one function that escapes it.

Process names, command lines, user names, paths, recordings and daemon strings are controlled by
someone else. Shown raw, they could drive the terminal (ESC, CSI, OSC), reorder a line (bidi
controls U+202A–U+202E, U+2066–U+2069), hide text (zero-width characters) or pass for other
text. Every character :meth:`str.isprintable` rejects — C0/DEL/C1 controls, format characters
(bidi controls, zero-width space/joiners, U+2060, U+FEFF, the soft hyphen), line and paragraph
separators, spaces other than U+0020, surrogates, private-use and unassigned code points — becomes
a visible escape, and the backslash itself is doubled, so every backslash shown starts an escape
and an escaped name never looks like a real one:

=========================================================  ==============
a byte that was not valid UTF-8 (surrogate escape U+DCxx)  ``\\xff``
an ASCII control (U+0000–U+001F, U+007F)                   ``\\x1b``
any other rejected code point                              ``\\u202e``, ``\\U000e0001``
a backslash                                                ``\\\\``
=========================================================  ==============

A machine reader (JSON) that gets the true text gets it through :func:`utf8`, which escapes
only what valid UTF-8 cannot hold, the bytes that were not UTF-8, and doubles the backslash
so that escape can be undone.

What a user types to find such text (a filter word) goes through :func:`typed`, which escapes
control characters the same way but keeps backslashes, so the escaped form the table shows is
what one types. A line tcpscope composed around escaped names (an error, a reason) goes
through :func:`composed`, which does the same: its names' escapes are not escaped twice.

The result is printable, valid UTF-8 (it encodes without ``surrogateescape``), so the TUI,
the plain table, CSV and JSON can all use it. Its width is counted in terminal cells where it
is laid out (Rich's ``cell_len`` in the TUI; in the plain table the process is the last,
unpadded column).
"""

from __future__ import annotations

import re
from typing import Final

_SURROGATE_ESCAPES: Final = range(0xDC80, 0xDD00)
"""Where Python's ``surrogateescape`` puts the bytes 0x80–0xFF that were not UTF-8."""
_SURROGATES: Final = re.compile("[\udc80-\udcff]")
"""The characters ``surrogateescape`` decodes bytes 0x80–0xFF that were not UTF-8 to."""
_CSV_TRIGGERS: Final = ("=", "+", "-", "@")
"""Leading characters that make a spreadsheet evaluate a cell (OWASP CSV injection)."""


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\\":
        return "\\\\"
    if code in _SURROGATE_ESCAPES:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every non-printable character and every backslash visibly escaped."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else _escape(ch) for ch in text)


def rquoted(value: object) -> str:
    """``repr(value)`` for a message quoting what the user typed, except that the bytes an
    argument held that were not UTF-8 read ``\\xff``, as :func:`printable` shows them (a
    ``repr`` of the surrogate that Python decoded them to read ``\\udcff``)."""
    text = repr(value)
    if not isinstance(value, str) or not _SURROGATES.search(value):
        return text
    quote = text[0]
    body = "".join(_quoted_char(ch, quote) for ch in value)
    return f"{quote}{body}{quote}"


def _quoted_char(ch: str, quote: str) -> str:
    if ord(ch) in _SURROGATE_ESCAPES:
        return _escape(ch)
    return "\\" + ch if ch == quote else repr(ch)[1:-1]


def typed(text: str) -> str:
    """Text a user wrote to compare with :func:`printable` text (a filter): each non-printable
    character escaped as :func:`printable` escapes it, backslashes kept as written. A typed
    ``\\x1b`` then stays ``\\x1b`` and finds the name the table shows with ``\\x1b``, and a
    pasted ESC becomes that same ``\\x1b``: the result is printable and reads back as typed."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def composed(text: str) -> str:
    """tcpscope's own line that embeds :func:`printable` names (an error, a reason): any
    control character still in it escaped as :func:`printable` escapes it, backslashes kept
    single, since those of an embedded name already start its escapes. For text that may
    not have gone through :func:`printable` (a reason read back from a recording)."""
    return typed(text)


_UNENCODABLE: Final = re.compile("[\\\\\ud800-\udfff]")
"""What :func:`utf8` escapes: code points valid UTF-8 cannot encode (the surrogate escapes
of undecodable bytes and, never made by a decoder, other lone surrogates), and the
backslash, so an escape it wrote is never taken for one the text held."""


def utf8(text: str) -> str:
    """``text`` encodable as valid UTF-8: each byte that was not UTF-8 escaped as
    :func:`printable` escapes it (``\\xff``), each backslash doubled, every other character
    kept.

    For the true text in JSON (``ipsec --json``): ``json.dumps`` wrote such a byte as a lone
    surrogate ``"\\udcff"``, which jq reads as U+FFFD and Go's encoding/json or serde refuse.
    The byte has no character; its escape is the one the table and stderr show. Why the
    backslash too: kept single, the four characters backslash-x-f-f a daemon or a path held
    read exactly as the byte 0xff. Doubled, a reader undoes it (``\\\\`` a backslash,
    ``\\xHH`` a byte). Controls are kept: JSON escapes them itself.
    """
    if text.isascii() and "\\" not in text:
        return text
    return _UNENCODABLE.sub(lambda m: _escape(m.group()), text)


def printable_bytes(data: bytes) -> str:
    """Bytes of unknown encoding (a file name, a peer's string) as :func:`printable` text."""
    return printable(data.decode("utf-8", "surrogateescape"))


def csv_cell(text: str) -> str:
    """:func:`printable` text made inert for spreadsheets (OWASP CSV injection): a leading
    ``= + - @`` gets a ``'`` in front, so the cell is shown as text, not run as a formula (a
    leading TAB or CR cannot remain: :func:`printable` escapes them)."""
    safe = printable(text)
    return "'" + safe if safe.startswith(_CSV_TRIGGERS) else safe


def is_digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits 0-9 only: :meth:`str.isdigit` also accepts
    superscripts (which ``int()`` rejects: a traceback) and other scripts' digits (which
    ``int()`` reads: ``٤`` is 4), so a typed or read number is checked with this."""
    return text.isascii() and text.isdigit()
