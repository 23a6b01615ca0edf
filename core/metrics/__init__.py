"""Prometheus exporter: ``tcpscope metrics`` serves the sampler's figures over HTTP.

UI-free (prometheus_client only): connection counts by State and process, per-process traffic
counters, the 21 MSiSCSI_MMIPSECStats counters per IPsec provider, and the sampler's own cost.
Facade (lazy, so prometheus_client is loaded only once a name is used): the collector, the
listen address and the server of ``tcpscope metrics``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "LateReadGrace",
    "ProviderStateLog",
    "ServingProcess",
    "SnapshotCollector",
    "bind_listener",
    "parse_listen",
    "series_bound",
    "serve_until_signal",
]

if TYPE_CHECKING:
    from core.metrics.collector import SnapshotCollector
    from core.metrics.connections import series_bound
    from core.metrics.late_reads import LateReadGrace
    from core.metrics.listen import DEFAULT_HOST, DEFAULT_PORT, parse_listen
    from core.metrics.provider_log import ProviderStateLog
    from core.metrics.server import ServingProcess, serve_until_signal
    from core.metrics.server import bind as bind_listener
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "collector": ("SnapshotCollector",),
            "connections": ("series_bound",),
            "late_reads": ("LateReadGrace",),
            "listen": ("DEFAULT_HOST", "DEFAULT_PORT", "parse_listen"),
            "provider_log": ("ProviderStateLog",),
            "server": ("ServingProcess", "serve_until_signal", "bind_listener=bind"),
        },
    )
