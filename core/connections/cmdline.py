"""How much of a process's command line the one-shots write: another user's can be huge.

Why a bound: a command line is the owner's to choose, up to about 2 MB on Linux (arguments
of 128 KiB each within the stack's limit), and ``connections --json``/``--csv`` repeat it in
each of the process's rows: 300 listeners of a process with a 1.8 MB command line made 542 MB
of JSON. :data:`CMDLINE_LIMIT` bytes of it are written; the rest is said as a count.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

CMDLINE_LIMIT: Final = 4096
"""The most bytes of a command line a one-shot writes (arguments joined by one byte, as
``/proc/PID/cmdline`` holds them): one page, what that file gave before Linux 4.2."""


def cmdline_bytes(args: Sequence[str]) -> int:
    """The length of the command line in bytes: its arguments and one separator between each."""
    return sum(len(os.fsencode(a)) for a in args) + max(len(args) - 1, 0)


def cmdline_head(args: Sequence[str], limit: int = CMDLINE_LIMIT) -> tuple[str, ...]:
    """The arguments within the first ``limit`` bytes of the command line: the last one cut at
    a character (a byte that was not UTF-8 counts as one), those past it left out."""
    kept: list[str] = []
    room = limit
    for arg in args:
        if kept:
            room -= 1  # the separator
        if room < 0:
            break
        size = len(os.fsencode(arg))
        if size <= room:
            kept.append(arg)
            room -= size
            continue
        kept.append(_cut(arg, room))
        break
    return tuple(kept)


def cmdline_cut(args: Sequence[str]) -> tuple[tuple[str, ...], int | None]:
    """What a one-shot writes of a command line: its arguments within :data:`CMDLINE_LIMIT`
    bytes, and its whole length in bytes when that cut it (None: written whole)."""
    size = cmdline_bytes(args)
    if size <= CMDLINE_LIMIT:
        return tuple(args), None
    return cmdline_head(args), size


def _cut(arg: str, room: int) -> str:
    """The longest start of ``arg`` of at most ``room`` bytes, whole characters only."""
    raw = os.fsencode(arg)[: room + 1]
    end = room
    # A UTF-8 continuation byte (10xxxxxx) right after the cut: the cut is inside a character.
    while end > 0 and end < len(raw) and raw[end] & 0xC0 == 0x80 and room - end < 3:
        end -= 1
    return os.fsdecode(raw[:end])
