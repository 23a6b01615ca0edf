"""Writes a snapshot stream as a recording (format: :mod:`core.recording.format`).

Why separate from the CLI: the writer only needs a binary stream and snapshots, so the bench,
the tests and ``tcpscope record`` share it, and it works the same on a file or on stdout.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO

from core.connections.snapshot import Snapshot
from core.errors import RecordingError
from core.recording.format import FLUSH_EVERY_S, RecordingHeader
from core.recording.frame_encoder import FrameEncoder

_GZIP_WBITS = 31  # zlib wbits for a gzip wrapper (header + CRC-32 trailer)


class RecordingWriter:
    """Appends snapshots to ``out`` as gzip members of JSON lines; never seeks.

    A snapshot with the seq and time of the previous one (the sampler republishes a snapshot
    when only its IPsec view changed) replaces it, so each recorded sample is one connection
    sample with the newest IPsec view. A sample is therefore written when the next one
    arrives, when a flush is due, or on :meth:`close`.

    ``on_sample_time``: the writer's clock is the newest snapshot's own time instead of
    ``clock``, so where it flushes (and so every byte) follows the samples alone. For a
    simulated host (the demo), whose same seed must give the same file; the caller then calls
    no :meth:`flush` on a timer, and data waits up to a sample longer than a flush period.
    """

    def __init__(
        self,
        out: BinaryIO,
        header: Callable[[Snapshot], RecordingHeader],
        *,
        flush_every_s: float = FLUSH_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        on_sample_time: bool = False,
    ) -> None:
        """Prepare to write; ``header`` builds the header from the first snapshot."""
        self._out = out
        self._make_header = header
        self._flush_every_s = flush_every_s
        self._on_sample_time = on_sample_time
        self._sample_time: float | None = None
        self._clock = self._newest_sample_time if on_sample_time else clock
        self._header: RecordingHeader | None = None
        self._encoder: FrameEncoder | None = None
        self._compressor: Any = None
        self._in_block = 0
        self._pending: Snapshot | None = None
        self._pending_since = clock()
        self._last_flush = clock()
        self._closed = False
        self.samples_written = 0
        """Sample records written so far."""
        self.bytes_written = 0
        """Compressed bytes handed to ``out`` so far."""

    @property
    def header(self) -> RecordingHeader | None:
        """The header, once the first snapshot arrived."""
        return self._header

    def write(self, snap: Snapshot) -> None:
        """Queue ``snap``; writes the previous sample unless ``snap`` replaces it."""
        if self._on_sample_time:
            first = self._sample_time is None
            self._sample_time = snap.time.timestamp()
            if first:  # the flush period starts with the first sample
                self._last_flush = self._sample_time
        pending = self._pending
        if pending is not None and (pending.seq, pending.time) != (snap.seq, snap.time):
            self._emit(pending)
            self._pending_since = self._clock()
        elif pending is None:
            self._pending_since = self._clock()
        self._pending = snap
        if self._clock() - self._last_flush >= self._flush_every_s:
            self.flush()

    def flush(self) -> None:
        """Push everything to the OS (readable if the file is cut after this).

        The pending sample is written too once it waited half a flush period: long enough for
        its IPsec update to arrive, short enough to keep the promise of a flush every period.
        """
        if self._pending is not None and (
            self._clock() - self._pending_since >= self._flush_every_s / 2
        ):
            self._emit(self._pending)
            self._pending = None
        if self._compressor is not None:
            self._put(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        self._out.flush()
        self._last_flush = self._clock()

    def _newest_sample_time(self) -> float:
        return 0.0 if self._sample_time is None else self._sample_time

    def close(self) -> None:
        """Write what is pending and finish the last gzip member; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            self._emit(self._pending)
            self._pending = None
        self._end_block()
        self._out.flush()

    def _emit(self, snap: Snapshot) -> None:
        if self._header is None:
            self._header = self._make_header(snap)
            self._encoder = FrameEncoder(self._header.ghost_ttl_s)
            self._start_block()
            self._line(self._header.to_json())
        assert self._encoder is not None
        if self._in_block >= self._header.key_every:
            self._end_block()
            self._start_block()
        key = self._in_block == 0
        self._line(self._encoder.encode(snap, key=key))
        self._in_block += 1
        self.samples_written += 1

    def _start_block(self) -> None:
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)
        self._in_block = 0

    def _end_block(self) -> None:
        if self._compressor is not None:
            self._put(self._compressor.flush(zlib.Z_FINISH))
            self._compressor = None

    def _line(self, record: dict[str, Any]) -> None:
        try:  # NaN/Infinity are not JSON (jq and other readers refuse them): never written
            text = json.dumps(record, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:
            raise RecordingError(f"not writing a record with a non-finite number ({exc})") from None
        data = text.encode("ascii") + b"\n"
        self._put(self._compressor.compress(data))

    def _put(self, data: bytes) -> None:
        if data:
            self._out.write(data)
            self.bytes_written += len(data)
