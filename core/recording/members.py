"""Streams the lines out of one gzip member of a recording, in bounded memory.

Why not ``zlib.decompress``: a member is whatever the file says it is, and 3 GB of zeros
compress to 3 MB. Here the input is read in 256 KiB pieces and inflated at most 1 MiB at a
time; a line longer than the caller's limit is an error before it is ever held whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO, Final

GZIP_MAGIC: Final = b"\x1f\x8b"
_GZIP_WBITS: Final = 31
READ_BYTES: Final = 256 * 1024
_INFLATE_BYTES: Final = 1024 * 1024


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
        self.decompressed = 0

    def __iter__(self) -> Iterator[bytes]:
        f = self._f
        f.seek(self._offset)
        inflater = zlib.decompressobj(_GZIP_WBITS)
        fed = 0
        lines = 0
        pending = bytearray()
        tail = b""
        while True:
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
        if inflater.eof:
            self.length = fed
            if pending:
                raise MemberProblem("block does not end with a complete record", lines)
            self.complete = True
        else:
            self.length = fed
            self.complete = False
