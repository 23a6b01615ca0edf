"""Finds where the next intact block starts after a damaged one, in bounded work.

Why it can: every block is its own gzip member that starts with a key frame (the whole
state), so the samples after a damaged member replay without it once the next member's start
is found. A member has no length field and deflate data has no markers, so the start is
searched for: the 10-byte gzip header zlib writes (``1f 8b 08``, no flags) whose data then
inflates to the start of a key frame (``{"k":"K"``). In deflate output such a header turns
up about once per 4 GB by chance, and a lure that passes costs the caller one failed block.

A header with one of those four bytes damaged is a candidate too: the block after a damaged
one may have its own header hit, and if the search stepped over it the samples it held would
go uncounted (every sample after it numbered too low). Found, it fails to open and is
counted as one more damaged block.

Bounded: the search reads forward in 256 KiB pieces; each candidate is checked by inflating
at most :data:`PROBE_BYTES` of it; and all the work spent on candidates and on blocks that
then fail (which a hostile file could nest, one inside the next) shares one budget per file
(:class:`Budget`), so a hostile file costs linear time and the replay says where it gave up.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Final

_HEADER: Final = b"\x1f\x8b\x08\x00"
"""gzip magic, deflate, no flags (no name, comment or extra field: zlib writes none)."""
_HEADER_BYTES: Final = 10
KEY_START: Final = b'{"k":"K"'
"""How the writer's key frame record begins (``"k"`` is its first key)."""
PROBE_BYTES: Final = 64 * 1024
"""Most compressed bytes inflated to check one candidate (the key frame's first bytes come
out of the first deflate block, whose code tables take a few hundred bytes)."""
PROBE_COST: Final = 1024
"""Least a candidate is charged (its Python overhead weighs like inflating ~1 KiB)."""
_READ_BYTES: Final = 256 * 1024
BUDGET_SLACK: Final = 64 * 1024 * 1024
"""Bytes of resync work a file gets beyond twice its size."""


class Budget:
    """The bytes a file may still spend on finding blocks and on blocks that failed."""

    def __init__(self, file_size: int) -> None:
        self.left = 2 * file_size + BUDGET_SLACK
        self.spent_out = False

    def spend(self, nbytes: int) -> bool:
        """Take ``nbytes``; False (and :attr:`spent_out`) once the budget is gone."""
        self.left -= nbytes
        if self.left < 0:
            self.spent_out = True
        return not self.spent_out


def next_block(fd: int, start: int, budget: Budget) -> int | None:
    """Offset of the first candidate block start at or after ``start`` whose data begins
    with a key frame, or None (none left, or the budget is spent). Reads with pread."""
    size = os.fstat(fd).st_size
    pos = start
    while pos < size and not budget.spent_out:
        chunk = os.pread(fd, _READ_BYTES + len(_HEADER) - 1, pos)
        if not chunk:
            return None
        for at in _headers(chunk):
            if _starts_a_key_frame(fd, pos + at, budget):
                return pos + at
            if budget.spent_out:
                return None
        pos += _READ_BYTES
    return None


def _headers(chunk: bytes) -> Iterator[int]:
    """Offsets below ``_READ_BYTES`` in ``chunk`` where at least three of the header's four
    bytes are in place, in order. Found lazily by its two halves with ``find`` (a regular
    expression scans only ~30 MB/s, and the caller often stops at the first hit)."""
    front = chunk.find(_HEADER[:2])
    back = chunk.find(_HEADER[2:], 2) - 2  # where a header ending there would start
    last = -1
    while front >= 0 or back >= -2:
        if back < -2 or 0 <= front <= back:
            start, front = front, chunk.find(_HEADER[:2], front + 1)
        else:
            start, back = back, chunk.find(_HEADER[2:], back + 3) - 2
        if start >= _READ_BYTES:
            return
        if start > last and _near_header(chunk[start : start + len(_HEADER)]):
            last = start
            yield start


def _near_header(window: bytes) -> bool:
    """True when ``window`` is the header with at most one of its bytes damaged."""
    if len(window) < len(_HEADER):
        return False
    return sum(a != b for a, b in zip(window, _HEADER, strict=True)) <= 1


def _starts_a_key_frame(fd: int, offset: int, budget: Budget) -> bool:
    data = os.pread(fd, PROBE_BYTES, offset + _HEADER_BYTES)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = b""
    fed = 0
    try:
        while len(out) < len(KEY_START) and fed < len(data) and not inflater.eof:
            piece = data[fed : fed + (64 if fed < 1024 else 4096)]
            fed += len(piece)
            out += inflater.decompress(piece, len(KEY_START) - len(out))
            while inflater.unconsumed_tail and len(out) < len(KEY_START):
                out += inflater.decompress(inflater.unconsumed_tail, len(KEY_START) - len(out))
            if out and not KEY_START.startswith(out[: len(KEY_START)]):
                break
    except zlib.error:
        pass
    budget.spend(max(PROBE_COST, _HEADER_BYTES + fed))
    return out.startswith(KEY_START)
