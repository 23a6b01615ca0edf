"""From the sampler's Snapshots to metric families, once per sample.

Why scrapes never sample: Prometheus may scrape from several servers, at any rate, and a
sample at 50k sockets costs a tenth of a second of kernel and CPU time. The sampler runs at
``--interval``; each new Snapshot becomes ready-made families here (off the event loop and off
the HTTP server), and a scrape serves the newest set.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.core import Metric

from core.connections.model import TcpConnection, TcpInfo
from core.connections.snapshot import Snapshot
from core.metrics.connections import ConnectionAggregator, ConnectionFigures
from core.metrics.families import connection_families, ipsec_families, self_families


class SnapshotCollector:
    """Turns each Snapshot into the exporter's families; keeps the traffic totals between."""

    def __init__(self, top: int) -> None:
        """``top``: how many process names keep their own ``process`` label."""
        self._aggregator = ConnectionAggregator(top)
        self._figures: ConnectionFigures | None = None
        self._seen: tuple[Mapping[str, TcpConnection], Mapping[str, TcpInfo]] | None = None
        self.updates = 0
        """Samples turned into families so far."""

    def update(self, snap: Snapshot) -> tuple[Metric, ...]:
        """The families of ``snap`` (blocking: run it off the event loop)."""
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
        self.updates += 1
        return (*connection_families(figures), *ipsec_families(snap.ipsec), *self_families(snap))
