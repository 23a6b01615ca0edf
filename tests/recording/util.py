"""Helpers of the recording tests: demo snapshots and writing them as a recording."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from core.connections.snapshot import Snapshot
from core.demo import DemoFeed
from core.recording.format import FORMAT_VERSION, RecordingHeader
from core.recording.writer import RecordingWriter


async def demo_snapshots_async(
    seed: int, count: int, start: int = 0, interval_s: float = 1.0
) -> list[Snapshot]:
    """``count`` demo snapshots from sample ``start`` (deterministic)."""
    feed = DemoFeed(seed, interval_s=interval_s)
    try:
        await feed.advance(start)
        return [await feed.next_snapshot() for _ in range(count)]
    finally:
        await feed.aclose()


def demo_snapshots(
    seed: int, count: int, start: int = 0, interval_s: float = 1.0
) -> list[Snapshot]:
    """Synchronous form of :func:`demo_snapshots_async` (for module fixtures)."""
    return asyncio.run(demo_snapshots_async(seed, count, start, interval_s))


def header_for(snap: Snapshot, key_every: int = 300, **changes: object) -> RecordingHeader:
    """A header as the record command would write it, for a test host."""
    header = RecordingHeader(
        version=FORMAT_VERSION,
        tcpscope="test",
        host="test-host",
        platform="test",
        source=snap.source,
        providers=tuple(p.name for p in snap.ipsec.providers) if snap.ipsec else (),
        interval_s=snap.interval_s,
        ghost_ttl_s=5.0,
        start=snap.started_at,
        key_every=key_every,
    )
    return dataclasses.replace(header, **changes)  # type: ignore[arg-type]


def write_recording(path: Path, snaps: list[Snapshot], key_every: int = 300) -> RecordingWriter:
    """Write ``snaps`` to ``path`` and close it."""
    with path.open("wb") as out:
        writer = RecordingWriter(out, lambda s: header_for(s, key_every))
        for snap in snaps:
            writer.write(snap)
        writer.close()
    return writer
