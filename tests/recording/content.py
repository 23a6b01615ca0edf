"""Canonical content of a Snapshot, for "same data" comparisons in the recording/demo/replay tests.

Why: Snapshots hold mappings that may be lazy (tcp_info) and ghosts whose order follows set
iteration (which varies with PYTHONHASHSEED); comparing this canonical form says "the same
screens" without depending on either. It uses the recording codec, which covers every field.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from core.connections.snapshot import Snapshot
from core.recording.codec import (
    CONNECTION,
    IPSEC_VIEW,
    PRIVILEGE,
    PROCESS,
    SOURCE_ERROR,
    STATS,
    TCP_INFO,
    encode_time,
)


def content(snap: Snapshot, *, stats: bool = True) -> dict[str, Any]:
    """Everything a screen could show of ``snap``, in a canonical JSON-able form."""
    out: dict[str, Any] = {
        "seq": snap.seq,
        "time": encode_time(snap.time),
        "started_at": encode_time(snap.started_at),
        "source": snap.source,
        "interval_s": snap.interval_s,
        "connections": {k: CONNECTION.encode(c) for k, c in sorted(snap.connections.items())},
        "tcp_info": {k: TCP_INFO.encode(v) for k, v in sorted(snap.tcp_info.items())},
        "processes": {str(p): PROCESS.encode(v) for p, v in sorted(snap.processes.items())},
        "ghosts": sorted(  # by InstanceID (unique among ghosts)
            (
                [
                    g.connection.instance_id,
                    CONNECTION.encode(g.connection),
                    encode_time(g.closed_at),
                ]
                for g in snap.ghosts
            ),
            key=lambda g: str(g[0]),
        ),
        "diff": [
            sorted(snap.diff.added),
            sorted(snap.diff.removed),
            sorted((c.instance_id, int(c.old), int(c.new)) for c in snap.diff.state_changed),
        ],
        "error": SOURCE_ERROR.encode(snap.error) if snap.error else None,
        "stale": snap.stale,
        "privilege": PRIVILEGE.encode(snap.privilege),
        "paused": snap.paused,
        "ipsec": IPSEC_VIEW.encode(snap.ipsec) if snap.ipsec else None,
    }
    if stats:
        out["stats"] = STATS.encode(snap.stats)
    return out


def digest(snap: Snapshot, *, stats: bool = True) -> str:
    """SHA-256 of :func:`content` (compact to print and to compare across processes)."""
    text = json.dumps(content(snap, stats=stats), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def gzip_members(data: bytes) -> list[int]:
    """Offsets of the gzip members of ``data``."""
    offsets, at = [], 0
    while at < len(data):
        offsets.append(at)
        inflater = zlib.decompressobj(31)
        inflater.decompress(data[at:])
        at = len(data) - len(inflater.unused_data)
    return offsets


def flipped(data: bytes, *members: int) -> bytes:
    """``data`` with one byte flipped in the middle of each gzip member of ``members`` (a
    block damaged inside, its gzip header intact)."""
    offsets = [*gzip_members(data), len(data)]
    out = bytearray(data)
    for member in members:
        out[(offsets[member] + offsets[member + 1]) // 2] ^= 0xFF
    return bytes(out)
