"""One sample, taken synchronously, for ``tcpscope connections``.

Why not the Sampler: a one-shot needs no loop, worker thread or event loop. asyncio costs
about 50 ms to import, and ``asyncio.run`` restoring its SIGINT handler formats the handler's
partial, which holds the finished task and so the whole snapshot: 2.6 s at 50k sockets,
measured. And the source's first dump doubles as its probe: only when it fails is the source
chosen again the careful way (probe dump, per-family dumps, psutil).
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.connections.snapshot import ConnectionDiff, SampleStats, Snapshot
from core.connections.sources import get_source
from core.connections.sources.base import ConnectionSource, SourceSample
from core.errors import MonitorError


def take_snapshot(source_name: str, *, tcp_info: bool) -> Snapshot:
    """One sample of ``source_name`` (``auto``, ``netlink``, ``psutil``) as a Snapshot.

    Raises:
        MonitorError: the source cannot be opened or its sample failed (one line).
    """
    now = datetime.now(UTC)
    source = get_source(source_name, tcp_info=tcp_info, probe=False)
    try:
        try:
            result = source.sample(now, first=True)
        except MonitorError:
            source.close()
            source = get_source(source_name, tcp_info=tcp_info)
            result = source.sample(now, first=True)
        return _snapshot(source, result, now)
    finally:
        source.close()


def _snapshot(source: ConnectionSource, result: SourceSample, now: datetime) -> Snapshot:
    return Snapshot(
        seq=1,
        time=now,
        started_at=now,
        source=source.name,
        interval_s=0.0,
        connections=result.connections,
        diff=ConnectionDiff(),
        tcp_info=result.tcp_info,
        processes=result.processes,
        privilege=result.privilege,
        stats=SampleStats(0.0, len(result.connections), result.new_owners_resolved),
    )
