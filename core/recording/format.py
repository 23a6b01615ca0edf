"""The tcpscope recording format (version 1): what is in a file and why it looks like this.

A recording is a sequence of **independent gzip members**, one per *block*. Concatenated gzip
members are a valid gzip file (``zcat rec.tsr | head`` works). Decompressed, the file is JSON
lines: the first line of the first member is the **header**; every other line is one **sample
record**. Each block starts with a **key frame** (the whole state: connections, tcp_info,
processes, ghosts, IPsec view) followed by **deltas** (only what changed since the previous
sample, see :mod:`core.recording.frames`); a new block starts every ``key_every`` samples.

Why this shape:

* *Small.* Between two samples almost nothing changes on a stable host, so a delta is a few
  dozen bytes; tcp_info is stored only when it changed; the IPsec view only by its changed
  leaves. gzip then removes the repetition of keys and addresses. Measured by
  ``bench/bench_recording.py``: 1 hour at 1 s with 1k stable connections fits the ≤ 5 MB goal.
* *Seekable.* A plain gzip stream cannot seek. Because each block is its own member, the reader
  indexes member offsets once and later decompresses just the block holding the sample asked
  for, then applies at most ``key_every`` deltas from that block's key frame.
* *Crash-safe.* The writer sync-flushes the compressor and the file at least every couple of
  seconds. A file cut anywhere (power loss, ``kill -9``, a full disk) decompresses up to the
  cut; the reader keeps every complete line and drops the torn last one, so it replays up to
  the last complete record. SIGINT/SIGTERM finish the member and close cleanly.
* *Streamable.* Nothing is ever rewritten in place (no index at the end, no header to patch),
  so ``tcpscope record - > file`` over SSH produces the same file as writing it directly.
* *Standard library only, and readable.* gzip + JSON: ``zcat`` and ``jq`` can inspect a file
  when tcpscope is not at hand. (SQLite or a binary format would be smaller or faster to seek,
  but cannot be streamed to stdout and recover badly from a torn write.)
* *Versioned.* The header names the format and its version; a reader refuses a newer version
  with a message naming both.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import pathlib
import platform
import socket
import tomllib
from datetime import datetime
from typing import Any, Final

from core.recording.codec import DecodeError, decode_time, encode_time

FORMAT_NAME: Final = "tcpscope-recording"
FORMAT_VERSION: Final = 1
KEY_EVERY: Final = 300
"""Samples per block (5 minutes at 1 s): bounds the work of a seek."""
FLUSH_EVERY_S: Final = 2.0
"""Longest time data may sit in the writer's buffers."""
MAX_RECORDED_INTERVAL_S: Final = 3600.0
"""Largest interval a header or a record may state (NaN and infinity are refused too)."""
SUFFIX: Final = ".tsr"
"""Suggested file name suffix (tcpscope recording)."""


def tcpscope_version() -> str:
    """The installed tcpscope version, or the source tree's pyproject version."""
    try:
        return importlib.metadata.version("tcpscope")
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = pathlib.Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class RecordingHeader:
    """The first line of a recording: what was recorded, where, and how."""

    version: int
    """Format version (see :data:`FORMAT_VERSION`)."""
    tcpscope: str
    """tcpscope version that wrote the file."""
    host: str
    """Host name of the recorded machine (a pseudonym when redacted)."""
    platform: str
    source: str
    """Connection source name (``netlink``, ``psutil``, ``demo``)."""
    providers: tuple[str, ...]
    """IPsec providers the recording holds (empty with ``--no-ipsec``)."""
    interval_s: float
    ghost_ttl_s: float
    start: datetime
    """When the sampler took its first sample (UTC)."""
    key_every: int = KEY_EVERY
    redacted: bool = False

    def to_json(self) -> dict[str, Any]:
        """The header record."""
        return {
            "format": FORMAT_NAME,
            "version": self.version,
            "tcpscope": self.tcpscope,
            "host": self.host,
            "platform": self.platform,
            "source": self.source,
            "providers": list(self.providers),
            "interval_s": self.interval_s,
            "ghost_ttl_s": self.ghost_ttl_s,
            "start": encode_time(self.start),
            "start_iso": self.start.isoformat(),
            "key_every": self.key_every,
            "redacted": self.redacted,
        }


def this_host() -> tuple[str, str]:
    """(host name, platform) of the machine running the recorder."""
    return socket.gethostname(), platform.platform()


class ForeignFile(DecodeError):
    """The first record is not a tcpscope header."""


class NewerVersion(DecodeError):
    """The file was written by a newer format version."""


def parse_header(rec: Any) -> RecordingHeader:
    """The header from the first record (raises DecodeError, ForeignFile or NewerVersion)."""
    if type(rec) is not dict or rec.get("format") != FORMAT_NAME:
        raise ForeignFile("not a tcpscope recording (the first record is not its header)")
    version = rec.get("version")
    if type(version) is not int or version < 1:
        raise DecodeError(f"header: bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise NewerVersion(
            f"recording format version {version} is newer than this tcpscope reads "
            f"(version {FORMAT_VERSION}); upgrade tcpscope to replay it"
        )
    try:
        providers = rec["providers"]
        if type(providers) is not list or not all(type(p) is str for p in providers):
            raise DecodeError("header: providers must be a list of names")
        header = RecordingHeader(
            version=version,
            tcpscope=_typed(rec, "tcpscope", str),
            host=_typed(rec, "host", str),
            platform=_typed(rec, "platform", str),
            source=_typed(rec, "source", str),
            providers=tuple(providers),
            interval_s=float(_typed(rec, "interval_s", (int, float))),
            ghost_ttl_s=float(_typed(rec, "ghost_ttl_s", (int, float))),
            start=decode_time(rec["start"]),
            key_every=_typed(rec, "key_every", int),
            redacted=_typed(rec, "redacted", bool),
        )
    except KeyError as exc:
        raise DecodeError(f"header: missing key {exc}") from None
    if header.key_every < 1:
        raise DecodeError("header: key_every must be positive")
    if not 0 < header.interval_s <= MAX_RECORDED_INTERVAL_S:
        raise DecodeError(f"header: interval_s out of range ({header.interval_s})")
    if not 0 <= header.ghost_ttl_s <= 86_400:
        raise DecodeError(f"header: ghost_ttl_s out of range ({header.ghost_ttl_s})")
    return header


def _typed(rec: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = rec[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(value) not in kinds:
        raise DecodeError(f"header: {key} has the wrong type ({type(value).__name__})")
    return value
