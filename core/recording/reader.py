"""Opens a recording, checks all of it once, and rebuilds any sample on demand.

Why check everything at open: a damaged file should fail with one clear line before a screen
opens, not in the middle of a replay. The first pass decodes every record (types included),
keeps only a small index (block offsets, sample times), and drops the data; later, a sample is
rebuilt by decompressing just its block (see :mod:`core.recording.format`). Never writes.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import os
import zlib
from datetime import datetime
from typing import Any, Final

from core.connections.snapshot import Snapshot
from core.errors import RecordingError
from core.recording.codec import DecodeError
from core.recording.format import RecordingHeader, parse_header
from core.recording.frames import KEY, FrameDecoder

_GZIP_MAGIC: Final = b"\x1f\x8b"
_GZIP_WBITS: Final = 31
CHECKPOINT_EVERY: Final = 16
"""Decoder states kept per loaded block, so stepping back re-applies at most this many."""
_BAD_INPUT: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    OverflowError,
)
"""What decoding damaged input can raise (DecodeError is a ValueError)."""


def _problem(exc: BaseException) -> str:
    if isinstance(exc, DecodeError):
        return str(exc)
    return f"malformed record ({type(exc).__name__}: {exc})".splitlines()[0]


@dataclasses.dataclass(frozen=True, slots=True)
class Block:
    """One gzip member: a key frame and the deltas after it."""

    offset: int
    length: int
    """Compressed bytes (to the end of the file for a torn last member)."""
    first: int
    """Index of its first sample in the recording."""
    count: int
    skip_lines: int
    """Lines before the first sample (the header, in the first block)."""
    first_record: int
    """1-based record number of the block's first line (for error messages)."""


class Recording:
    """A recording opened for replay (read-only)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open and validate ``path``; raises RecordingError naming the file and the problem."""
        self.path = os.fspath(path)
        data = _read(self.path)
        self.header: RecordingHeader
        self.blocks: list[Block] = []
        self.times: list[datetime] = []
        self.seqs: list[int] = []
        self.truncated = False
        """True when the file ends in a torn record (it replays up to the last complete one)."""
        self._scan(data)
        self._cache_block: int | None = None
        self._cache_lines: list[Any] = []
        self._decoder = FrameDecoder(self.header.ghost_ttl_s)
        self._decoder_at = -1
        self._firsts = [blk.first for blk in self.blocks]
        self._checkpoints: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        """Number of samples."""
        return len(self.times)

    def error(self, problem: str, record: int | None = None) -> RecordingError:
        """A RecordingError naming this file (and the record, when known)."""
        where = f" record {record}:" if record is not None else ""
        return RecordingError(f"{self.path}:{where} {problem}")

    # --- first pass -----------------------------------------------------------------
    def _scan(self, data: bytes) -> None:
        if not data:
            raise self.error("empty file")
        if not data.startswith(_GZIP_MAGIC):
            raise self.error("not a tcpscope recording (not gzip data)")
        view = memoryview(data)
        offset, record = 0, 0
        decoder: FrameDecoder | None = None
        while offset < len(data):
            if not data.startswith(_GZIP_MAGIC, offset):
                if not data[offset:].strip(b"\0"):
                    self.truncated = True  # zero-filled tail left by a power loss
                    break
                raise self.error(f"unexpected data after block {len(self.blocks)}", record + 1)
            lines, length, complete = self._member(view[offset:], record + 1)
            first_record, skip, first_sample = record + 1, 0, True
            for line in lines:
                record += 1
                rec = _json(line, record, self)
                if record == 1:
                    try:
                        self.header = parse_header(rec)
                    except _BAD_INPUT as exc:
                        raise self.error(str(exc), 1) from None
                    decoder = FrameDecoder(self.header.ghost_ttl_s)
                    skip = 1
                    continue
                assert decoder is not None
                if first_sample and (type(rec) is not dict or rec.get("k") != KEY):
                    raise self.error("a block must start with a key frame", record)
                first_sample = False
                try:
                    decoder.apply(rec, build=False)
                except _BAD_INPUT as exc:
                    raise self.error(_problem(exc), record) from None
                assert decoder.time is not None
                self.times.append(decoder.time)
                self.seqs.append(decoder.seq)
            if record == 0:
                raise self.error("no header (the file holds no complete record)")
            count = record - first_record + 1 - skip
            first = len(self.times) - count
            if count:
                self.blocks.append(Block(offset, length, first, count, skip, first_record))
            offset += length
            if not complete:
                self.truncated = True
                break

    def _member(self, data: memoryview, record: int) -> tuple[list[bytes], int, bool]:
        """Decompress one gzip member: (complete lines, compressed length, member complete)."""
        inflater = zlib.decompressobj(_GZIP_WBITS)
        try:
            raw = inflater.decompress(data)
        except zlib.error as exc:
            raise self.error(f"corrupt compressed data ({exc})", record) from None
        if record == 1 and raw and not raw.startswith(b"{"):
            raise self.error("not a tcpscope recording (the first record is not JSON)")
        if inflater.eof:
            length = len(data) - len(inflater.unused_data)
            if raw and not raw.endswith(b"\n"):
                raise self.error("block does not end with a complete record", record)
            return raw.splitlines(), length, True
        # A torn member (the file was cut mid-write): keep every complete line.
        complete = raw[: raw.rfind(b"\n") + 1]
        return complete.splitlines(), len(data), False

    # --- random access --------------------------------------------------------------
    def index_at(self, when: datetime) -> int:
        """Index of the last sample at or before ``when`` (0 when ``when`` is before all)."""
        return max(0, bisect.bisect_right(self.times, when) - 1)

    def snapshot(self, index: int) -> Snapshot:
        """Sample ``index`` rebuilt from its block's key frame (raises RecordingError)."""
        if not 0 <= index < len(self.times):
            raise IndexError(index)
        if index == self._decoder_at and self._decoder.current is not None:
            return self._decoder.current
        b = bisect.bisect_right(self._firsts, index) - 1
        block = self.blocks[b]
        if self._cache_block != b:
            self._load(b)
            self._decoder_at = -1
            self._checkpoints = {}
        start = block.first
        if block.first <= self._decoder_at < index:
            start = self._decoder_at + 1
        else:
            saved = [i for i in self._checkpoints if i < index]
            if saved:
                start = max(saved)
                self._decoder.restore(self._checkpoints[start])
                start += 1
        for i in range(start, index + 1):
            rec = self._cache_lines[i - block.first]
            try:
                self._decoder.apply(rec, build=i == index)
            except _BAD_INPUT as exc:
                number = block.first_record + block.skip_lines + i - block.first
                raise self.error(_problem(exc), number) from None
            if (i - block.first) % CHECKPOINT_EVERY == 0 and i not in self._checkpoints:
                self._checkpoints[i] = self._decoder.checkpoint()
        self._decoder_at = index
        snap = self._decoder.current
        assert snap is not None  # the last apply above always builds
        return snap

    def _load(self, b: int) -> None:
        block = self.blocks[b]
        try:
            with open(self.path, "rb") as f:
                f.seek(block.offset)
                data = f.read(block.length)
        except OSError as exc:
            raise self.error(f"cannot read: {exc.strerror or exc}") from None
        lines, _, _ = self._member(memoryview(data), block.first_record)
        if len(lines) < block.skip_lines + block.count:
            raise self.error("the file changed since it was opened", block.first_record)
        self._cache_lines = [
            _json(line, block.first_record + n, self)
            for n, line in enumerate(lines[block.skip_lines : block.skip_lines + block.count])
        ]
        self._cache_block = b


def _json(line: bytes, record: int, rec: Recording) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        if record == 1:
            raise rec.error("not a tcpscope recording (the first record is not JSON)") from None
        raise rec.error("not a JSON record", record) from None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{path}: is a directory, not a recording") from None
    except PermissionError:
        raise RecordingError(f"{path}: permission denied") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None
