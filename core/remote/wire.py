"""The agent's stream: JSON lines in one deflate stream, sync-flushed after every message.

Why one long deflate stream rather than gzip blocks or per-message compression: the stream
lives as long as the SSH session, and a delta compresses best against every earlier message
(the same addresses, process names and keys recur), so the compressor's window is kept for
the whole session. A sync flush after each message makes every message decodable as soon as
its bytes arrive, at a cost of a few bytes. The messages are the recording's own records
(:mod:`core.recording.format` header, :mod:`core.recording.frames` key frame and deltas) plus a
few control messages that carry :data:`CONTROL`; the client tells them apart by that key.

Stdlib only: this module runs on the server inside the agent.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

PROTOCOL: Final = 2
"""Wire protocol version; the client refuses an agent that says another. 2: the ``actions``
mode answers ``refused`` (whether the agent can close any socket at all)."""

CONTROL: Final = "ctl"
"""Key of a control message (hello, fatal, heartbeat, replies); recording records lack it."""
MAX_LINE: Final = 64 << 20
"""A message longer than this is a broken stream, not data (a 50k key frame is ~15 MB)."""


class WireError(ValueError):
    """The stream is not what the agent sends (corrupt, truncated, or not an agent)."""


class MessageWriter:
    """Writes messages to ``out`` compressed; each :meth:`send` is readable on arrival."""

    def __init__(self, out: BinaryIO) -> None:
        """Start a new deflate stream on ``out``."""
        self._out = out
        self._zip = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.raw_bytes = 0
        """JSON bytes before compression (for the bandwidth report)."""
        self.wire_bytes = 0
        """Compressed bytes written."""

    def send(self, message: dict[str, Any]) -> None:
        """Compress, sync-flush and write one message."""
        data = json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"
        chunk = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self.raw_bytes += len(data)
        self.wire_bytes += len(chunk)
        self._out.write(chunk)
        self._out.flush()


class MessageReader:
    """Turns received chunks back into messages (the client's half)."""

    def __init__(self) -> None:
        """Expect the start of a deflate stream."""
        self._unzip = zlib.decompressobj(-15)
        self._partial = b""
        self.wire_bytes = 0
        """Compressed bytes fed so far."""

    def feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """The complete messages ``chunk`` finishes (raises WireError on a broken stream)."""
        self.wire_bytes += len(chunk)
        try:
            data = self._unzip.decompress(chunk)
        except zlib.error as exc:
            raise WireError(f"agent stream is corrupt ({exc})") from None
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE:
            raise WireError("agent stream: a message exceeds 64 MiB")
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                raise WireError("agent stream: a message is not JSON") from None
            if type(message) is not dict:
                raise WireError("agent stream: a message is not a JSON object")
            yield message


def command(name: str, **fields: Any) -> bytes:
    """One client → agent command line (plain JSON: commands are few and small)."""
    return json.dumps({"cmd": name, **fields}, separators=(",", ":")).encode("ascii") + b"\n"
