"""MSFT_NetTCPConnection: model, seed tables, property rules, sources, query, report, explain.

The facade below is what the TUI needs; it is lazy (:mod:`core.lazy_facade`), so importing one
module of the package (the one-shot path) does not import the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = [
    "ENUMS",
    "MAX_QUERY_CHARS",
    "PROPERTIES",
    "SORT_COLUMNS",
    "SOURCE_NAMES",
    "ByteRate",
    "CloseTarget",
    "Completion",
    "Group",
    "NamespaceView",
    "Outcome",
    "ProcessInfo",
    "ProcessTarget",
    "PropertySpec",
    "Provenance",
    "Query",
    "QueryError",
    "RateTracker",
    "ReadBy",
    "ReverseDns",
    "RowIndex",
    "Snapshot",
    "TcpConnection",
    "TcpInfo",
    "TcpState",
    "cell_rule",
    "close_connections",
    "close_targets",
    "complete",
    "connection_service",
    "endpoints",
    "field_values",
    "filter_argument",
    "kill",
    "namespace_in",
    "namespace_label",
    "namespace_of",
    "parse_query",
    "process_label",
    "process_target",
    "property_value",
    "service_name",
    "terminate",
]

if TYPE_CHECKING:
    from core.connections.actions import (
        CloseTarget,
        Outcome,
        ProcessTarget,
        close_connections,
        close_targets,
        endpoints,
        kill,
        process_label,
        process_target,
        terminate,
    )
    from core.connections.completion import Completion, complete, field_values
    from core.connections.model import ProcessInfo, TcpConnection, TcpInfo, TcpState
    from core.connections.namespaces import NamespaceView, ReadBy, namespace_in, namespace_of
    from core.connections.namespaces import label as namespace_label
    from core.connections.property_rules import PROPERTIES, PropertySpec, Provenance, cell_rule
    from core.connections.property_rules import value as property_value
    from core.connections.query import (
        MAX_QUERY_CHARS,
        SORT_COLUMNS,
        Query,
        QueryError,
        filter_argument,
        parse_query,
    )
    from core.connections.rates import ByteRate, RateTracker
    from core.connections.reverse_dns import ReverseDns
    from core.connections.row_index import Group, RowIndex
    from core.connections.seed_tables import ENUMS
    from core.connections.services import connection_service, service_name
    from core.connections.snapshot import Snapshot
    from core.connections.sources import SOURCE_NAMES
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "actions": (
                "CloseTarget",
                "Outcome",
                "ProcessTarget",
                "close_connections",
                "close_targets",
                "endpoints",
                "kill",
                "process_label",
                "process_target",
                "terminate",
            ),
            "completion": ("Completion", "complete", "field_values"),
            "model": ("ProcessInfo", "TcpConnection", "TcpInfo", "TcpState"),
            "namespaces": (
                "NamespaceView",
                "ReadBy",
                "namespace_in",
                "namespace_of",
                "namespace_label=label",
            ),
            "property_rules": (
                "PROPERTIES",
                "PropertySpec",
                "Provenance",
                "cell_rule",
                "property_value=value",
            ),
            "query": (
                "MAX_QUERY_CHARS",
                "SORT_COLUMNS",
                "Query",
                "QueryError",
                "filter_argument",
                "parse_query",
            ),
            "rates": ("ByteRate", "RateTracker"),
            "reverse_dns": ("ReverseDns",),
            "row_index": ("Group", "RowIndex"),
            "seed_tables": ("ENUMS",),
            "services": ("connection_service", "service_name"),
            "snapshot": ("Snapshot",),
            "sources": ("SOURCE_NAMES",),
        },
    )
