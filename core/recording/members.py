"""Streams the lines out of one gzip member of a recording, in bounded memory.

Why not ``zlib.decompress``: a member is whatever the file says it is, and 3 GB of zeros
compress to 3 MB. Here the input is read in 256 KiB pieces and inflated at most 1 MiB at a
time; a line longer than the caller's limit is an error before it is ever held whole.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO, Final

GZIP_MAGIC: Final = b"\x1f\x8b"
_GZIP_WBITS: Final = 31
READ_BYTES: Final = 256 * 1024
_INFLATE_BYTES: Final = 1024 * 1024
_TRAILER_BYTES: Final = 8
"""A gzip member ends with CRC-32 and ISIZE (its data's size mod 2**32), little-endian."""


class MemberProblem(ValueError):
    """The member is damaged or exceeds a limit; ``lines_before`` complete lines preceded it."""

    def __init__(self, problem: str, lines_before: int) -> None:
        super().__init__(problem)
        self.lines_before = lines_before


class MemberLines:
    """The complete lines of the gzip member at ``offset`` of ``f``, decompressed piecewise.

    Iterate it once; afterwards ``length`` is the member's compressed size (to the end of the
    file for a torn member) and ``complete`` says whether it ended properly. A torn member (the
    file was cut mid-write) yields every line completed before the cut and drops the rest.

    Why the file's last 8 bytes are read as a gzip trailer: damage to the end of the last
    member's deflate data (its final block's end code) leaves inflate wanting more at the end
    of the file, as a cut does; but a cut file has no trailer. When the data reaches the size
    that trailer names and matches its CRC, the data is intact and only its end is damaged
    (``end_damaged``: nothing past it is yielded); when it runs past that size without
    matching, the member is damaged (:class:`MemberProblem`), never torn.
    """

    def __init__(
        self,
        f: BinaryIO,
        offset: int,
        *,
        max_line: int,
        piece: int = READ_BYTES,
        expect: bytes | None = None,
        expect_problem: str = "",
    ) -> None:
        """``max_line``: longest line accepted; ``expect``: what the data must start with
        (checked on the first piece, so a bomb of zeros fails at once with ``expect_problem``);
        ``piece``: compressed bytes read and inflated at a time (zlib drops the output of a
        piece that fails, so a small one keeps what came before damage)."""
        self._f = f
        self._piece = piece
        self._offset = offset
        self._max_line = max_line
        self._expect = expect
        self._expect_problem = expect_problem
        self.length = 0
        self.read = 0
        """Compressed bytes taken in so far (also when the member failed)."""
        self.complete = False
        self.end_damaged = False
        """The data matched the file's gzip trailer but its deflate stream did not end there."""
        self.decompressed = 0

    def __iter__(self) -> Iterator[bytes]:
        f = self._f
        trailer = _file_trailer(f, self._offset)
        f.seek(self._offset)
        inflater = zlib.decompressobj(_GZIP_WBITS)
        fed = 0
        lines = 0
        pending = bytearray()
        tail = b""
        crc = 0
        passed: list[int] = []  # where the data passed the trailer's size, its CRC not matching
        matched = False  # the data so far matches the trailer: any more is damage
        while not self.end_damaged:
            if not tail:
                if inflater.eof:
                    break
                tail = f.read(self._piece)
                if not tail:
                    break  # end of file inside the member: torn
            data = tail
            try:
                out = inflater.decompress(data, _INFLATE_BYTES)
            except zlib.error as exc:
                self.read = fed + len(data)
                raise MemberProblem(f"corrupt compressed data ({exc})", lines) from None
            if inflater.eof:  # what follows the member is in unused_data (and unconsumed_tail)
                fed += len(data) - len(inflater.unused_data)
                tail = b""
            else:
                tail = inflater.unconsumed_tail
                fed += len(data) - len(tail)
            self.read = fed
            if not out:
                continue
            if matched:  # data past the size the trailer names
                self.end_damaged = True
                break
            if trailer is not None:
                whole = len(out)
                crc, matched, out = _check_trailer(trailer, crc, out, self.decompressed, passed)
                self.end_damaged = len(out) < whole  # data past the trailer's size with it
            expected = self._expect
            if expected is not None and not self.decompressed and not out.startswith(expected):
                raise MemberProblem(self._expect_problem, lines)
            self.decompressed += len(out)
            pending += out
            cut = pending.rfind(b"\n")
            if cut < 0:
                if len(pending) > self._max_line:
                    raise MemberProblem(f"record longer than {self._max_line} bytes", lines)
                continue
            for line in bytes(pending[:cut]).split(b"\n"):
                if len(line) > self._max_line:
                    raise MemberProblem(f"record longer than {self._max_line} bytes", lines)
                lines += 1
                yield line
            del pending[: cut + 1]
        self.length = fed
        if inflater.eof and not self.end_damaged:
            if pending:
                raise MemberProblem("block does not end with a complete record", lines)
            self.complete = True
            return
        if matched and not self.end_damaged:  # the end of the file inside its deflate end
            self.end_damaged = True
        if self.end_damaged:
            self.length = os.fstat(f.fileno()).st_size - self._offset  # the trailer ends it
            if pending:
                raise MemberProblem("block does not end with a complete record", lines)
            return
        if any(at > self.decompressed - len(pending) for at in passed):
            raise MemberProblem(
                "corrupt compressed data (runs past the size its gzip trailer names, at the"
                " end of the file, and fails its CRC)",
                lines,
            )
        self.complete = False


def _file_trailer(f: BinaryIO, offset: int) -> tuple[int, int] | None:
    """(CRC-32, ISIZE) of the file's last 8 bytes when a member at ``offset`` could end there,
    else None. Read with pread: ``f``'s position and buffer are left alone."""
    try:
        fd = f.fileno()
        size = os.fstat(fd).st_size
    except (AttributeError, OSError, ValueError):
        return None
    if size - offset < 10 + 2 + _TRAILER_BYTES:  # gzip header, the least deflate data
        return None
    raw = os.pread(fd, _TRAILER_BYTES, size - _TRAILER_BYTES)
    if len(raw) != _TRAILER_BYTES:
        return None
    return int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")


def _check_trailer(
    trailer: tuple[int, int], crc: int, out: bytes, before: int, passed: list[int]
) -> tuple[int, bool, bytes]:
    """The CRC-32 after ``out`` (which follows ``before`` bytes of data), whether the data up
    to the trailer's size is in it and matches the trailer's CRC, and ``out`` cut there if so.
    Each place the data passes that size without matching is added to ``passed``."""
    want_crc, size = trailer
    reach = (size - before - 1) % 2**32 + 1  # bytes of ``out`` up to the trailer's size
    if reach > len(out):
        return zlib.crc32(out, crc), False, out
    at_size = zlib.crc32(out[:reach], crc)
    if at_size == want_crc:
        return at_size, True, out[:reach]
    passed.append(before + reach)
    return zlib.crc32(out, crc), False, out
