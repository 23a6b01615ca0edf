"""The prometheus_client collector over the sampler's latest Snapshot.

Why scrapes never sample: Prometheus may scrape from several servers, at any rate, and a
sample at 50k sockets costs a tenth of a second of kernel and CPU time. The sampler runs at
``--interval``; each new Snapshot is turned into ready-made metric families (off the HTTP
threads), and a scrape only serialises the newest set. Swapping one tuple reference is
atomic, so scrapes need no lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import Metric
from prometheus_client.registry import CollectorRegistry

from core.connections.model import TcpConnection, TcpInfo
from core.connections.snapshot import Snapshot
from core.metrics.connections import ConnectionAggregator, ConnectionFigures
from core.metrics.families import connection_families, ipsec_families, self_families


class SnapshotCollector:
    """Holds the families of the newest sample; :meth:`update` is called once per sample."""

    def __init__(self, top: int) -> None:
        """``top``: how many process names keep their own ``process`` label."""
        self._aggregator = ConnectionAggregator(top)
        self._families: tuple[Metric, ...] = ()
        self._figures: ConnectionFigures | None = None
        self._seen: tuple[Mapping[str, TcpConnection], Mapping[str, TcpInfo]] | None = None
        self.updates = 0
        """Samples turned into families so far."""

    def update(self, snap: Snapshot) -> None:
        """Build the families of ``snap`` (blocking; run it off the event loop)."""
        seen = (snap.connections, snap.tcp_info)
        figures = self._figures
        if (
            figures is None
            or self._seen is None
            or any(a is not b for a, b in zip(seen, self._seen, strict=True))
        ):
            # An IPsec-only update re-publishes the same connections: do not count them again.
            figures = self._aggregator.update(snap)
            self._figures, self._seen = figures, seen
        self._families = (
            *connection_families(figures),
            *ipsec_families(snap.ipsec),
            *self_families(snap),
        )
        self.updates += 1

    def collect(self) -> Iterator[Metric]:
        """The newest families (what prometheus_client calls on every scrape)."""
        return iter(self._families)


def make_registry(collector: SnapshotCollector) -> CollectorRegistry:
    """A registry with only tcpscope's series (no process/platform collectors: the host's
    node_exporter has those), that still honours ``/metrics?name[]=...`` filters."""
    registry = CollectorRegistry(auto_describe=False, support_collectors_without_names=True)
    registry.register(collector)
    return registry
