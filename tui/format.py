"""Display text for the TUI: ages, addresses, enum names, byte counts, untrusted strings.

The only module that imports humanize. Everything a process or peer controls passes through
:func:`safe` before it reaches a widget: control characters (C0, DEL, C1, so ESC and OSC
sequences too) become visible ``\\xNN`` escapes. Callers then wrap the result in
``rich.text.Text`` (never a markup string), so ``[red]`` stays literal text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final

import humanize
from rich.cells import cell_len, set_cell_size
from rich.text import Text

from core.connections import (
    ENUMS,
    TcpConnection,
    TcpState,
    cmdline_bytes,
    cmdline_head,
    endpoint_text,
)
from core.textsafe import printable, typed

_UNITS: Final = {"second": "s", "minute": "m", "hour": "h", "day": "d", "month": "mo", "year": "y"}
_NATURAL: Final = re.compile(r"^(a|an|\d+) (second|minute|hour|day|month|year)s?$")


def safe(text: str | None, missing: str = "") -> str:
    """Untrusted text with control characters made visible; ``missing`` for None."""
    return missing if text is None else printable(text)


def command_head(args: Sequence[str], cells: int) -> tuple[str, int]:
    """The start of a command line made safe, at most ``cells`` cells and characters, and how
    many of its bytes that leaves out (0: all of it). Why not :func:`safe` of it all: another
    user's command line can be 2 MB, 8 MB escaped, and Rich lays a widget out every frame."""
    # Each character shows as one character or more, and holds at most 4 bytes.
    text = " ".join(cmdline_head(args, 4 * cells))
    shown: list[str] = []
    used = 0
    end = 0
    for end, ch in enumerate(text):  # noqa: B007 (end: where the loop stopped)
        piece = printable(ch)
        size = max(len(piece), cell_len(piece))
        if used + size > cells:
            break
        shown.append(piece)
        used += size
    else:
        end = len(text)
    return "".join(shown), cmdline_bytes(args) - len(os.fsencode(text[:end]))


def as_typed(text: str) -> str:
    """The user's own text (a filter) as typed: control characters escaped, but a backslash
    kept single, so ``proc:\\x1b`` reads as the ``\\x1b`` the table shows, not ``\\\\x1b``."""
    return typed(text)


def age(delta: timedelta) -> str:
    """A compact age from humanize's words: ``0s``, ``45s``, ``3m``, ``2h``."""
    if delta.total_seconds() < 1:
        return "0s"
    return _age_of(delta.days, delta.seconds)


@lru_cache(maxsize=1024)
def _age_of(days: int, seconds: int) -> str:
    """:func:`age` of a delta of one second or more: humanize's words depend on its days and
    seconds alone, and every row on screen asks anew each tick (at 1 Hz, mostly the same)."""
    words = humanize.naturaldelta(timedelta(days=days, seconds=seconds))
    match = _NATURAL.match(words)
    if match is None:
        return words
    count = "1" if match.group(1) in ("a", "an") else match.group(1)
    return f"{count}{_UNITS[match.group(2)]}"


def age_words(delta: timedelta) -> str:
    """A readable age (``3 minutes``) for the detail pane and the header."""
    return humanize.naturaldelta(delta)


def conn_age(conn: TcpConnection, now: datetime) -> str:
    """The Age cell: time since CreationTime, ``≥`` when it is only a bound (open before start)."""
    if conn.creation_time is None:
        return "?"
    text = age(now - conn.creation_time)
    return f"≥{text}" if conn.created_before_start else text


def endpoint(address: str, port: int) -> str:
    """``addr:port``, IPv6 in brackets; the address is made safe (it comes from the kernel)."""
    return endpoint_text(safe(address), port)


def state_name(state: TcpState | int) -> str:
    """The seed's State name (``Established``)."""
    return ENUMS["State"].decode(int(state)).name


def enum_name(wmi_name: str, value: int | None) -> str:
    """The seed's name for ``value`` of the enum property ``wmi_name``; ``-`` for None."""
    if value is None:
        return "-"
    return ENUMS[wmi_name].decode(value).name


def size(num_bytes: int | None) -> str:
    """Bytes as ``1.2 MiB``; ``-`` when not reported."""
    return "-" if num_bytes is None else humanize.naturalsize(num_bytes, binary=True)


def clock(when: datetime) -> str:
    """Time of day of a sample, ``HH:MM:SS`` in UTC."""
    return when.strftime("%H:%M:%S")


def byte_rate(bytes_per_s: float) -> str:
    """A byte rate, ``12.0 KiB/s``."""
    return f"{humanize.naturalsize(bytes_per_s, binary=True)}/s"


def intcomma(value: int | float) -> str:
    """``1234567`` → ``1,234,567`` (counters)."""
    return str(humanize.intcomma(value))


def short_rate(bytes_per_s: float) -> str:
    """A byte rate in at most 9 cells for a table column: ``520 B``, ``12.3 KiB``, ``1.0 GiB``."""
    value = bytes_per_s
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 999.95 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns


def duration(seconds: float) -> str:
    """A duration people read at a glance: ``3.8 s``, ``42 s``, ``5 min 3 s``, ``2 h 10 min``."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def fitted(line: Callable[[int], Text], steps: int, width: int) -> Text:
    """``line(compact)`` with the fewest shortenings (0 to ``steps``) that fit ``width``
    cells, or the shortest; a width of 0 (not laid out yet) takes the full line. Why one
    rule: the header and the state counts shorten step by step at 80 columns, the same way."""
    text = line(0)
    for compact in range(1, steps + 1):
        if not width or text.cell_len <= width:
            break
        text = line(compact)
    return text


def fit_endpoint(text: str, width: int) -> str:
    """``address:port`` fitted to ``width`` cells, cut in the middle of the address when it
    is too long, never at the port: at 80 columns an IPv6 endpoint cut at its end lost its
    port, and two connections between the same addresses read the same."""
    if len(text) <= width or not text.isascii():
        return fit(text, width, False)
    colon = text.rfind(":")
    host, port = text[:colon], text[colon:]
    room = width - len(port) - 1  # the ellipsis
    if colon <= 0 or room < 4:
        return fit(text, width, False)
    head = (room + 1) // 2
    return f"{host[:head]}…{host[len(host) - (room - head) :]}{port}"


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` padded or cut to exactly ``width`` cells (an ellipsis marks a cut)."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, max(0, width - 1)) + "…" if width > 0 else ""
    pad = " " * (width - length)
    return pad + text if right else text + pad
