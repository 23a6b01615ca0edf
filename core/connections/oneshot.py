"""One sample, taken synchronously, for ``tcpscope connections``.

Why not the Sampler: a one-shot needs no loop, worker thread or event loop. asyncio costs
about 50 ms to import, and ``asyncio.run`` restoring its SIGINT handler formats the handler's
partial, which holds the finished task and so the whole snapshot: 2.6 s at 50k sockets,
measured. And the source's first dump doubles as its probe: only when it fails is the source
chosen again the careful way (probe dump, per-family dumps, psutil).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from core.connections.snapshot import ConnectionDiff, SampleStats, Snapshot
from core.connections.sources import get_source
from core.connections.sources.base import (
    ConnectionSource,
    Endpoints,
    OwnersWait,
    SourceSample,
)
from core.errors import MonitorError

if TYPE_CHECKING:
    from core.connections.sources.netlink import NamespaceDumps


NAMES_WAIT_S: Final = 5.0
"""How long a one-shot waits for container names (they are looked up off the sampler's
thread, see core.netns.names); past it the names not found yet are left out."""


def take_snapshot(
    source_name: str,
    *,
    tcp_info: bool,
    namespaces: Callable[[], NamespaceDumps | None] | None = None,
    meanwhile: Callable[[Sequence[Endpoints]], None] | None = None,
) -> Snapshot:
    """One sample of ``source_name`` (``auto``, ``netlink``, ``psutil``) as a Snapshot.

    ``namespaces`` makes what the netlink source reads besides its own namespace
    (core.netns.select.namespace_dumps); called again if the source is opened again.
    ``meanwhile`` is shown the records while their owners load, by a source that waits for
    them (:class:`core.connections.sources.base.OwnersWait`); other sources never call it.

    Raises:
        MonitorError: the source cannot be opened or its sample failed (one line).
    """
    now = datetime.now(UTC)

    def open_source(probe: bool) -> ConnectionSource:
        plan = namespaces() if namespaces is not None else None
        return get_source(source_name, tcp_info=tcp_info, probe=probe, namespaces=plan)

    def sample(source: ConnectionSource) -> SourceSample:
        if meanwhile is not None and isinstance(source, OwnersWait):
            return source.sample_meanwhile(now, meanwhile)
        return source.sample(now, first=True)

    source = open_source(False)
    try:
        try:
            result = sample(source)
        except MonitorError:
            source.close()
            source = open_source(True)
            result = sample(source)
        plan = getattr(source, "namespaces", None)
        if plan is not None:
            plan.settle(NAMES_WAIT_S)
            result = dataclasses.replace(result, namespaces=plan.view())
        return _snapshot(source, result, now)
    finally:
        source.close()


def _snapshot(source: ConnectionSource, result: SourceSample, now: datetime) -> Snapshot:
    """The sample as the stream's first snapshot, timed as the Sampler times one.

    Why the source's post-dump clock (SourceSample.observed_at) and not ``now``: a
    one-shot's start *is* its one dump. Every socket it lists was open by then and is
    stamped with that clock; a start read before the dump would put those stamps after
    tcpscope's start, which is what a --remote session that reconnected looks like.
    """
    sampled_at = result.observed_at or now
    return Snapshot(
        seq=1,
        time=sampled_at,
        started_at=sampled_at,
        source=source.name,
        interval_s=0.0,
        connections=result.connections,
        diff=ConnectionDiff(),
        tcp_info=result.tcp_info,
        processes=result.processes,
        privilege=result.privilege,
        stats=SampleStats(0.0, len(result.connections), result.new_owners_resolved),
        namespaces=result.namespaces,
    )
