"""From the sampler's Snapshots (and IPsec views) to metric families, once per sample.

Why scrapes never sample: Prometheus may scrape from several servers, at any rate, and a
sample at 50k sockets costs a tenth of a second of kernel and CPU time. The sampler runs at
``--interval``; each new Snapshot, and each IPsec view the live sampler streams on its own
clock, becomes ready-made families here (off the event loop and off the HTTP server), and a
scrape serves the newest set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client.core import Metric

from core.connections.snapshot import Snapshot
from core.ipsec.model import IpsecView
from core.metrics.connections import ConnectionAggregator, ConnectionFigures
from core.metrics.families import connection_families, ipsec_families, self_families


class SnapshotCollector:
    """Turns samples into the exporter's families; keeps the traffic totals between them.

    Thread-safe: connection samples and IPsec views may arrive from two worker threads.
    """

    def __init__(self, top: int, clock: Callable[[], float] = time.time) -> None:
        """``top``: how many process names keep their own ``process`` label; ``clock``: the
        real Unix time, read when a good sample arrives.

        Why not the sample's own time: the demo's rows carry its made-up clock, and
        ``tcpscope_last_sample_timestamp_seconds`` is compared with Prometheus' ``time()``
        (for a live source the two agree within milliseconds).
        """
        self._aggregator = ConnectionAggregator(top)
        self._clock = clock
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._figures: ConnectionFigures | None = None
        self._last_good: float | None = None
        """Unix time the last good sample arrived."""
        self._ipsec: IpsecView | None = None
        self.updates = 0
        """Sets of families built so far."""

    def update(self, snap: Snapshot) -> tuple[Metric, ...]:
        """The families after connection sample ``snap`` (blocking: run it off the loop).

        A failed sample carries the last good rows (the app shows them as stale); here they
        are not served as the host's connections now: no connection series until a sample
        succeeds again (the traffic totals resume from where they were).
        """
        with self._lock:
            if snap.error is None:
                self._figures = self._aggregator.update(snap)
                self._last_good = self._clock()
            else:
                self._figures = None
            self._snap = snap
            return self._families()

    def update_ipsec(self, view: IpsecView) -> tuple[Metric, ...] | None:
        """The families after a streamed IPsec view; None before the first connection sample."""
        with self._lock:
            self._ipsec = view
            return self._families() if self._snap is not None else None

    def _families(self) -> tuple[Metric, ...]:
        snap, figures = self._snap, self._figures
        assert snap is not None
        ipsec = snap.ipsec
        if self._ipsec is not None and (ipsec is None or self._ipsec.time >= ipsec.time):
            ipsec = self._ipsec
        self.updates += 1
        connections = connection_families(figures) if figures is not None else []
        return (*connections, *ipsec_families(ipsec), *self_families(snap, self._last_good))
