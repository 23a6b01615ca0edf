"""Opens a recording, checks all of it once, and rebuilds any sample on demand.

Why check everything at open: a damaged file should fail with one clear line before a screen
opens, not in the middle of a replay. The first pass decodes every record (types included),
keeps only a small index (block offsets, sample times), and drops the data; later, a sample is
rebuilt by decompressing just its block (see :mod:`core.recording.format`). Never writes.

Bounded: the file is streamed (never read whole), only regular files are opened (a FIFO or
``/dev/zero`` is refused before the first read), and every size a hostile file could inflate
has a limit, below. With them, replaying any file costs at most about
``MAX_RECORD_BYTES`` × 8 (one record parsed) + ``BLOCK_CACHE_BYTES`` + ~100 bytes per sample
of index, plus the decoded state of one sample.
"""

from __future__ import annotations

import bisect
import dataclasses
import errno
import json
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, Final

from core.connections.snapshot import Snapshot
from core.errors import RecordingError
from core.recording.codec import DecodeError
from core.recording.format import RecordingHeader, parse_header
from core.recording.frame_decoder import FrameDecoder
from core.recording.frames import KEY
from core.recording.members import GZIP_MAGIC, READ_BYTES, MemberLines, MemberProblem
from core.recording.resync import Budget, next_block
from core.safe_io import FileRefused, open_regular
from core.textsafe import printable

MAX_RECORD_BYTES: Final = 64 * 1024 * 1024
"""Longest record (one JSON line, decompressed). The largest real record is a key frame:
about 400 bytes per connection with tcp_info and its process (measured: 3.96 MB for 10k
connections, ``bench/bench_recording.py``'s worst case), so 64 MiB holds a key frame of
~160k connections, three times the 50k tcpscope is built for."""
BLOCK_CACHE_BYTES: Final = 64 * 1024 * 1024
"""A block (key frame + deltas) up to this size is kept decompressed while it is replayed;
a bigger one (50k busy connections make ~500 MB blocks) is re-streamed from its start instead."""
MAX_SAMPLES: Final = 1_000_000
"""Most samples in one recording: 11½ days at 1 s. The index costs ~100 bytes a sample, so
this caps it near 100 MB (and stops a gzip bomb of tiny records)."""
MAX_TOTAL_BYTES: Final = 64 * 1024**3
"""Most decompressed bytes in one recording (64 GiB: two weeks of the measured worst case,
1k connections all busy at 1 s, at ~180 MB an hour); bounds the time the opening check takes."""
_ZERO_CHUNK: Final = 1024 * 1024
ZERO_CHECK_BYTES: Final = 16 * 1024 * 1024
"""Most written zero bytes read at the end of a file before it is taken as a power-loss tail
(a filesystem leaves at most a few blocks of zeros; reading 16 MiB takes ~0.1 s)."""
_SCAN_PIECE: Final = 64 * 1024
"""Compressed bytes read at a time by the opening check: a block that fails is charged what
was read of it (:class:`core.recording.resync.Budget`), read-ahead included."""
_SALVAGE_PIECE: Final = 256
"""Compressed bytes inflated at a time when the header is read out of a damaged block."""
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


class _Damage(ValueError):
    """A damaged sample record (the file may still replay up to the block before it)."""

    def __init__(self, problem: str, record: int) -> None:
        super().__init__(problem)
        self.record = record


def _check_order(time: datetime, seq: int, decoder: FrameDecoder, record: int) -> None:
    """Raise _Damage unless the sample just decoded comes after (``time``, ``seq``).

    Why: replay names a sample by its place and ``n``, so ``n`` must not go back (a block
    written twice). ``n`` may repeat with a later time: a failed sample (and a ``record
    --remote`` outage record) keeps the last good sample's ``n`` on purpose; the writer never
    writes the same ``n`` at the same or an earlier time. The time alone may go back with
    ``n`` going on: the host's clock was set back (an NTP step) — the samples after it are
    real and kept.
    """
    now = decoder.time
    assert now is not None
    if decoder.seq < seq:
        raise _Damage(f"sample number goes backwards (n {decoder.seq} after {seq})", record)
    if decoder.seq == seq and now < time:
        raise _Damage(f"time goes backwards ({_when(now)} after {_when(time)})", record)
    if (now, decoder.seq) == (time, seq):
        raise _Damage(f"repeats the sample before it (n {seq} at {_when(now)})", record)


def _when(t: datetime) -> str:
    return t.isoformat(sep=" ")


def _problem(exc: BaseException) -> str:
    if isinstance(exc, DecodeError):
        return str(exc)
    return f"malformed record ({type(exc).__name__}: {exc})".splitlines()[0]


@dataclasses.dataclass(frozen=True, slots=True)
class Gap:
    """Damaged blocks left out before sample ``index`` (the first one after them)."""

    index: int
    missing: int
    """Samples left out: ``key_every`` per damaged block (the writer fills every block but
    the last)."""
    note: str
    """For the user: which samples, and the first problem found."""


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
        if self.path == "-":
            raise RecordingError("-: replay needs a file it can seek in; save the stream first")
        self.header: RecordingHeader
        self.blocks: list[Block] = []
        self.times: list[datetime] = []
        self.seqs: list[int] = []
        self.truncated = False
        """True when the file ends early: cut, or damaged after intact blocks (it replays up
        to the last sample before the cut or the damaged block)."""
        self.ends_early: str | None = None
        """How the file ends when it ends early (one line, for the user), else None."""
        self._end: tuple[str, str] | None = None
        self._damaged_end: str | None = None
        """Said when the last block's data is intact but its deflate end is damaged (its
        samples are all kept: the file does not end early)."""
        self.gaps: list[Gap] = []
        """Stretches of damaged blocks left out, the replay resuming at the next intact one."""
        self._gap_starts: list[int] = []
        self._gap_sums: list[int] = []
        with _open(self.path) as f:
            self._scan(f)
        self._cache_block: int | None = None
        self._cache_lines: _BlockLines | None = None
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
        return RecordingError(f"{printable(self.path)}:{where} {problem}")

    # --- first pass -----------------------------------------------------------------
    def _scan(self, f: BinaryIO) -> None:
        head = f.read(2)
        if not head:
            raise self.error("empty file")
        if head != GZIP_MAGIC:
            raise self.error("not a tcpscope recording (not gzip data)")
        offset, total = 0, 0
        budget = Budget(os.fstat(f.fileno()).st_size)
        self._decoder_scan: FrameDecoder | None = None
        while True:
            f.seek(offset)
            magic = f.read(2)
            if not magic:
                break
            if magic != GZIP_MAGIC:
                zeros = _zero_tail(f, offset)
                if zeros is not None:
                    self._ends_early(zeros)
                    break
                problem = f"unexpected data after block {len(self.blocks)}"
                damage = _Damage(problem, self._record_at())
                if not self._skip(offset, 2, damage, None, budget, f):
                    break
                offset = self._resume_at
                continue
            member = _member(f, offset, first=offset == 0, piece=_SCAN_PIECE)
            first_record = self._record_at()
            kept = len(self.times)
            try:
                skip = self._scan_member(member, first_record)
            except MemberProblem as exc:
                del self.times[kept:], self.seqs[kept:]  # a member failing its check: none
                total = self._inflated(total, member)
                damage = _Damage(str(exc), first_record + exc.lines_before)
                if offset == 0 and self._decoder_scan is None:
                    self._salvage_header(f, damage)
                if not self._skip(offset, member.read, damage, first_record, budget, f):
                    break
                offset = self._resume_at
                continue
            except _Damage as exc:
                del self.times[kept:], self.seqs[kept:]
                total = self._inflated(total, member)
                if not self._skip(offset, member.read, exc, first_record, budget, f):
                    break
                offset = self._resume_at
                continue
            total = self._inflated(total, member)
            if self._decoder_scan is None:
                raise self.error("no header (the file holds no complete record)")
            count = len(self.times) - kept
            if count:
                self._close_gap(kept)
                self.blocks.append(Block(offset, member.length, kept, count, skip, first_record))
            offset += member.length
            if member.end_damaged:
                self._damaged_end = (
                    f"recording's end is damaged after sample {self.total}, its last: the"
                    " samples of its last block are all there (they match the block's CRC);"
                    " the compressed bytes after them are corrupt"
                )
                break
            if not member.complete:
                self._ends_early("truncated gzip member")
                break
        if self._lost:  # damage with no intact block after it
            self._ends_early(self._lost_note + self._lost_block, "damaged")
        del self._decoder_scan

    def _inflated(self, total: int, member: MemberLines) -> int:
        """``total`` plus what ``member`` inflated to (damaged members count too)."""
        total += member.decompressed
        if total > MAX_TOTAL_BYTES:
            raise self.error(f"decompresses to more than {MAX_TOTAL_BYTES} bytes (the limit)")
        return total

    _missing = 0
    """Samples of the damaged blocks skipped so far (the file's numbering counts them)."""
    _lost = 0
    """Damaged blocks since the last intact one."""
    _lost_note = ""
    """The first damage since the last intact block (record and problem)."""
    _lost_block = ""
    """What of the first damaged block was left out: said only when the file ends there, as
    a gap's note already names the samples skipped."""
    _resume_at = 0

    def _record_at(self) -> int:
        """Record number of the next line: the header is record 1, sample k record k + 1."""
        if self._decoder_scan is None:
            return 1
        return len(self.times) + self._missing + 2

    def _scan_member(self, member: MemberLines, first_record: int) -> int:
        """Index the samples of one member (raises _Damage or MemberProblem); returns the
        lines before its first sample (the header, in the first member)."""
        record, skip, first_sample = first_record - 1, 0, True
        for line in member:
            record += 1
            if self._decoder_scan is None:
                if record != 1:
                    raise _Damage("not a tcpscope recording (no header)", record)
                self._parse_header(_json(line, record, self))
                skip = 1
                continue
            rec = _sample_json(line, record)
            decoder = self._decoder_scan
            if first_sample and (type(rec) is not dict or rec.get("k") != KEY):
                raise _Damage("a block must start with a key frame", record)
            first_sample = False
            try:
                decoder.apply(rec, build=False)
            except _BAD_INPUT as exc:
                raise _Damage(_problem(exc), record) from None
            assert decoder.time is not None
            if self.times:
                _check_order(self.times[-1], self.seqs[-1], decoder, record)
            if len(self.times) >= MAX_SAMPLES:
                raise self.error(f"more than {MAX_SAMPLES} samples (the limit)", record)
            self.times.append(decoder.time)
            self.seqs.append(decoder.seq)
        return skip

    def _parse_header(self, rec: Any) -> None:
        try:
            self.header = parse_header(rec)
        except _BAD_INPUT as exc:
            raise self.error(str(exc), 1) from None
        self._decoder_scan = FrameDecoder(self.header.ghost_ttl_s)

    def _salvage_header(self, f: BinaryIO, damage: _Damage) -> None:
        """Read the header from a damaged first block, whose samples are lost (zlib drops the
        output of the piece that fails, which in a small file is the whole block)."""
        try:
            line = next(iter(_member(f, 0, first=True, piece=_SALVAGE_PIECE)), None)
        except MemberProblem:
            line = None
        if line is None:
            raise self.error(str(damage), damage.record)
        self._parse_header(_json(line, 1, self))

    def _skip(
        self,
        offset: int,
        cost: int,
        damage: _Damage,
        first_record: int | None,
        budget: Budget,
        f: BinaryIO,
    ) -> bool:
        """Leave out the damaged block at ``offset`` (``cost``: the compressed bytes read of
        it) and find the next intact one: True with :attr:`_resume_at` set, False when none
        is left (the file then ends early)."""
        if self._decoder_scan is None:  # no header: nothing after it can be placed
            raise self.error(str(damage), damage.record)
        budget.spend(cost)
        if not self._lost:
            self._lost_note = f"record {damage.record}: {damage}"
            self._lost_block = ""
            if first_record is not None:
                self._lost_block = "; that block left out"
                if first_record < damage.record:
                    self._lost_block = f"; its block, from record {first_record}, left out"
        self._lost += 1
        self._missing += self.header.key_every
        found = next_block(f.fileno(), offset + 1, budget)
        if found is None:
            if budget.spent_out:
                self._lost_block += "; gave up looking for an intact block after it"
            if not self.blocks:
                raise self.error(str(damage), damage.record)
            return False
        self._resume_at = found
        return True

    def _close_gap(self, index: int) -> None:
        """The block starting at sample ``index`` is intact: note the blocks skipped before it."""
        if not self._lost:
            return
        missing = self._lost * self.header.key_every
        first = index + self._missing - missing + 1
        what = f"samples {first}–{first + missing - 1} damaged and skipped ({self._lost_note})"
        self.gaps.append(Gap(index, missing, what))
        self._gap_starts.append(index)
        self._gap_sums.append(missing + (self._gap_sums[-1] if self._gap_sums else 0))
        self._lost = 0

    def _ends_early(self, why: str, how: str = "cut") -> None:
        """Note that the file stops before its writer finished it (it replays what came before)."""
        self.truncated = True
        self._lost = 0
        self._end = (how, why)
        self.ends_early = f"recording ends early: {how} after sample {self.total} ({why})"

    def number(self, index: int) -> int:
        """1-based place in the file of sample ``index``: the samples of damaged blocks
        that were skipped count, so a sample keeps its number whatever was lost before it."""
        g = bisect.bisect_right(self._gap_starts, index)
        return index + 1 + (self._gap_sums[g - 1] if g else 0)

    @property
    def total(self) -> int:
        """Samples the file held up to its last one kept (those skipped included)."""
        return self.number(len(self.times) - 1) if self.times else 0

    @property
    def notes(self) -> list[str]:
        """What the user should know about damage: each skipped stretch, then how it ends."""
        out = [gap.note for gap in self.gaps]
        if self.ends_early:
            out.append(self.ends_early)
        if self._damaged_end:
            out.append(self._damaged_end)
        return out

    def no_samples(self) -> RecordingError:
        """Why a recording without a single sample cannot be replayed."""
        if self._end is not None:
            how, why = self._end
            return self.error(
                f"the recording holds no samples: {how} before its first complete sample ({why})"
            )
        return self.error("the recording holds no samples")

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
        lines = self._cache_lines
        assert lines is not None
        for i in range(start, index + 1):
            number = block.first_record + block.skip_lines + i - block.first
            rec = _json(lines.line(i - block.first, self), number, self)
            try:
                self._decoder.apply(rec, build=i == index)
            except _BAD_INPUT as exc:
                raise self.error(_problem(exc), number) from None
            if (i - block.first) % CHECKPOINT_EVERY == 0 and i not in self._checkpoints:
                self._checkpoints[i] = self._decoder.checkpoint()
        self._decoder_at = index
        snap = self._decoder.current
        assert snap is not None  # the last apply above always builds
        return snap

    def _load(self, b: int) -> None:
        self._cache_lines = _BlockLines(self, self.blocks[b])
        self._cache_block = b


class _BlockLines:
    """The sample lines of one block: kept when the block is small, else re-streamed.

    Why both: holding a block is what makes stepping back cheap, but a block of 50k busy
    connections decompresses to ~500 MB; above :data:`BLOCK_CACHE_BYTES` the lines are read
    again from the block's start whenever the replay moves backwards.
    """

    def __init__(self, rec: Recording, block: Block) -> None:
        self._rec = rec
        self._block = block
        self._cached: list[bytes] | None = []
        self._stream: Iterator[bytes] | None = None
        self._file: BinaryIO | None = None
        self._at = -1
        size = 0
        for line in self._lines():
            size += len(line)
            if size > BLOCK_CACHE_BYTES:
                self._cached = None
                break
            self._cached.append(line)
        self._close()
        if self._cached is not None and len(self._cached) < block.count:
            raise rec.error("the file changed since it was opened", block.first_record)

    def line(self, i: int, rec: Recording) -> bytes:
        """The raw line of the block's ``i``-th sample."""
        if self._cached is not None:
            return self._cached[i]
        if self._stream is None or i <= self._at:
            self._close()
            self._stream, self._at = self._lines(), -1
        for line in self._stream:
            self._at += 1
            if self._at == i:
                return line
        raise rec.error("the file changed since it was opened", self._block.first_record)

    def _lines(self) -> Iterator[bytes]:
        block = self._block
        self._file = _open(self._rec.path)
        member = _member(self._file, block.offset, first=False)
        try:
            for n, line in enumerate(member):
                if n >= block.skip_lines + block.count:
                    return
                if n >= block.skip_lines:
                    yield line
        except MemberProblem as exc:
            raise self._rec.error(str(exc), block.first_record + exc.lines_before) from None

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._stream = None


def _member(f: BinaryIO, offset: int, *, first: bool, piece: int = READ_BYTES) -> MemberLines:
    return MemberLines(
        f,
        offset,
        piece=piece,
        max_line=MAX_RECORD_BYTES,
        expect=b"{" if first else None,
        expect_problem="not a tcpscope recording (the first record is not JSON)",
    )


def _zero_tail(f: BinaryIO, offset: int) -> str | None:
    """How the file ends if it holds only zero bytes from ``offset`` on (a power-loss tail),
    else None.

    Bounded: holes (a sparse tail, ``truncate -s +20G``) are skipped with SEEK_DATA/SEEK_HOLE
    and at most :data:`ZERO_CHECK_BYTES` of written zeros are read, so opening stays fast;
    past that the note says how far it read instead of claiming the rest. Reads with pread and
    puts the descriptor's offset back, so ``f``'s buffer stays right.
    """
    fd = f.fileno()
    saved = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        return _scan_zeros(fd, offset)
    finally:
        os.lseek(fd, saved, os.SEEK_SET)


def _scan_zeros(fd: int, offset: int) -> str | None:
    size = os.fstat(fd).st_size
    pos, budget = offset, ZERO_CHECK_BYTES
    while pos < size:
        try:
            pos = os.lseek(fd, pos, os.SEEK_DATA)
            end = min(size, os.lseek(fd, pos, os.SEEK_HOLE))
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a hole from ``pos`` to the end
                break
            end = size  # no SEEK_DATA here: read it all as data
        while pos < end:
            if budget <= 0:
                return (
                    f"a tail of {size - offset} bytes, zeros as far as read"
                    f" ({pos - offset} bytes), as a power loss leaves"
                )
            chunk = os.pread(fd, min(_ZERO_CHUNK, end - pos, budget), pos)
            if not chunk:  # the file shrank meanwhile
                size = pos
                break
            if chunk.strip(b"\0"):
                return None
            pos += len(chunk)
            budget -= len(chunk)
    return f"zero-filled tail of {size - offset} bytes, as a power loss leaves"


def _json(line: bytes, record: int, rec: Recording) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        if record == 1:
            raise rec.error("not a tcpscope recording (the first record is not JSON)") from None
        raise rec.error("not a JSON record", record) from None


def _sample_json(line: bytes, record: int) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        raise _Damage("not a JSON record", record) from None


def _open(path: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (a FIFO would block forever)."""
    shown = printable(path)  # a file name is the user's, or a hostile share's: escaped
    try:
        return open_regular(path)
    except FileRefused as exc:
        raise RecordingError(f"{shown}: {exc}") from None
    except FileNotFoundError:
        raise RecordingError(f"{shown}: no such file") from None
    except PermissionError:
        raise RecordingError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise RecordingError(f"{shown}: cannot read: {exc.strerror or exc}") from None
