"""MSFT_NetTCPConnection: model, seed tables, property rules, sources, query, report, explain.

Facade: the model, snapshot, query, property rules, row index, close actions and report that
the TUI and the commands use. Lazy (:func:`core.lazy_exports`): importing one module of the
package, as the one-shot path does, imports no other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "CMDLINE_LIMIT",
    "EMPTY_QUERY",
    "ENUMS",
    "FILTER_KEYS",
    "LISTENER_NOT_MEASURED",
    "MAX_QUERY_CHARS",
    "NEVER_ON_LINUX",
    "NOTHING_ACKED",
    "NO_BYTE_RATE",
    "NO_MSS_YET",
    "OWNERLESS_CELLS",
    "OWNERLESS_SHORT",
    "PAGE_COLUMN",
    "PEER_RESET",
    "PROPERTIES",
    "SORT_COLUMNS",
    "SOURCE_NAMES",
    "STAND_IN_REASON",
    "STATE_HINTS",
    "ByteRate",
    "CloseTarget",
    "Completion",
    "Endpoints",
    "FirstPage",
    "Group",
    "GroupRate",
    "GroupTurns",
    "NamespaceInfo",
    "NamespaceView",
    "Outcome",
    "OwnerStatus",
    "PageRequest",
    "ProcessInfo",
    "ProcessTarget",
    "PropertySpec",
    "Provenance",
    "Query",
    "QueryError",
    "RateTracker",
    "ReadBy",
    "Refusal",
    "ReverseDns",
    "RowIndex",
    "Snapshot",
    "TcpConnection",
    "TcpInfo",
    "TcpState",
    "address_test",
    "affected",
    "cancel_owner_scan",
    "canonical_address",
    "cell_rule",
    "close_connections",
    "close_effect",
    "close_refused_here",
    "close_targets",
    "closed_by_peer",
    "cmdline_bytes",
    "cmdline_head",
    "complete",
    "connection_service",
    "endpoint_text",
    "endpoints",
    "field_values",
    "filter_argument",
    "get_source",
    "group_rate",
    "kill",
    "linux_source",
    "namespace_in",
    "namespace_key_text",
    "namespace_label",
    "namespace_misses",
    "namespace_of",
    "no_process_to_end",
    "not_measured",
    "orphaned",
    "parse_query",
    "peer_window",
    "pid_zero_miss",
    "process_label",
    "process_target",
    "property_rule",
    "property_value",
    "readable_whole",
    "recv_q_holds_fin",
    "refused_now",
    "send_q_control",
    "service_name",
    "shown_namespace",
    "start_owner_scan",
    "state_hint",
    "take_snapshot",
    "terminate",
    "unaccepted",
    "unclosable",
    "waiting_to_accept",
    "window_shut",
    "window_wait",
    "write_csv",
    "write_json",
    "write_table",
]

if TYPE_CHECKING:
    from core.connections.actions import (
        PEER_RESET,
        CloseTarget,
        Outcome,
        Refusal,
        affected,
        close_connections,
        close_effect,
        close_refused_here,
        close_targets,
        closed_by_peer,
        endpoints,
        no_process_to_end,
        process_label,
        refused_now,
        unclosable,
        waiting_to_accept,
    )
    from core.connections.cmdline import CMDLINE_LIMIT, cmdline_bytes, cmdline_head
    from core.connections.completion import Completion, complete, field_values
    from core.connections.filter_misses import linux_source, namespace_misses, pid_zero_miss
    from core.connections.first_page import PAGE_COLUMN, FirstPage, PageRequest
    from core.connections.group_follow import GroupTurns, readable_whole
    from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpInfo, TcpState
    from core.connections.namespaces import (
        STAND_IN_REASON,
        NamespaceInfo,
        NamespaceView,
        ReadBy,
        namespace_in,
        namespace_of,
        shown_namespace,
    )
    from core.connections.namespaces import key_text as namespace_key_text
    from core.connections.namespaces import label as namespace_label
    from core.connections.oneshot import take_snapshot
    from core.connections.owner_cells import OWNERLESS_CELLS, OWNERLESS_SHORT
    from core.connections.process_end import ProcessTarget, kill, process_target, terminate
    from core.connections.property_rules import PROPERTIES, PropertySpec, Provenance, cell_rule
    from core.connections.property_rules import rule as property_rule
    from core.connections.property_rules import value as property_value
    from core.connections.query import (
        EMPTY_QUERY,
        FILTER_KEYS,
        MAX_QUERY_CHARS,
        Query,
        QueryError,
        filter_argument,
        parse_query,
    )
    from core.connections.rates import NO_BYTE_RATE, ByteRate, GroupRate, RateTracker, group_rate
    from core.connections.records import address_test, canonical_address, endpoint_text
    from core.connections.report import write_csv, write_json, write_table
    from core.connections.reverse_dns import ReverseDns
    from core.connections.row_groups import Group
    from core.connections.row_index import RowIndex
    from core.connections.seed_tables import ENUMS
    from core.connections.seq_space import recv_q_holds_fin, send_q_control
    from core.connections.services import connection_service, service_name
    from core.connections.snapshot import Snapshot
    from core.connections.sort_keys import SORT_COLUMNS
    from core.connections.sources import SOURCE_NAMES, get_source
    from core.connections.sources.base import Endpoints
    from core.connections.sources.fd_scan import cancel_early as cancel_owner_scan
    from core.connections.sources.fd_scan import start_early as start_owner_scan
    from core.connections.state_hints import HINTS as STATE_HINTS
    from core.connections.state_hints import (
        NEVER_ON_LINUX,
        orphaned,
        state_hint,
        unaccepted,
        window_wait,
    )
    from core.connections.unmeasured import (
        LISTENER_NOT_MEASURED,
        NO_MSS_YET,
        NOTHING_ACKED,
        not_measured,
    )
    from core.connections.zero_window import peer_window, window_shut
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "actions": (
                "PEER_RESET",
                "CloseTarget",
                "Outcome",
                "Refusal",
                "affected",
                "close_connections",
                "close_effect",
                "closed_by_peer",
                "close_refused_here",
                "close_targets",
                "endpoints",
                "no_process_to_end",
                "process_label",
                "refused_now",
                "unclosable",
                "waiting_to_accept",
            ),
            "process_end": (
                "ProcessTarget",
                "kill",
                "process_target",
                "terminate",
            ),
            "cmdline": ("CMDLINE_LIMIT", "cmdline_bytes", "cmdline_head"),
            "completion": ("Completion", "complete", "field_values"),
            "first_page": ("PAGE_COLUMN", "FirstPage", "PageRequest"),
            "model": ("OwnerStatus", "ProcessInfo", "TcpConnection", "TcpInfo", "TcpState"),
            "namespaces": (
                "STAND_IN_REASON",
                "NamespaceInfo",
                "NamespaceView",
                "ReadBy",
                "namespace_in",
                "namespace_of",
                "shown_namespace",
                "namespace_key_text=key_text",
                "namespace_label=label",
            ),
            "unmeasured": ("LISTENER_NOT_MEASURED", "NOTHING_ACKED", "NO_MSS_YET", "not_measured"),
            "oneshot": ("take_snapshot",),
            "owner_cells": ("OWNERLESS_CELLS", "OWNERLESS_SHORT"),
            "property_rules": (
                "PROPERTIES",
                "PropertySpec",
                "Provenance",
                "cell_rule",
                "property_rule=rule",
                "property_value=value",
            ),
            "query": (
                "EMPTY_QUERY",
                "FILTER_KEYS",
                "MAX_QUERY_CHARS",
                "Query",
                "QueryError",
                "filter_argument",
                "parse_query",
            ),
            "filter_misses": ("linux_source", "namespace_misses", "pid_zero_miss"),
            "group_follow": ("GroupTurns", "readable_whole"),
            "rates": ("NO_BYTE_RATE", "ByteRate", "GroupRate", "RateTracker", "group_rate"),
            "records": ("address_test", "canonical_address", "endpoint_text"),
            "report": ("write_csv", "write_json", "write_table"),
            "reverse_dns": ("ReverseDns",),
            "row_groups": ("Group",),
            "row_index": ("RowIndex",),
            "seed_tables": ("ENUMS",),
            "seq_space": ("recv_q_holds_fin", "send_q_control"),
            "sort_keys": ("SORT_COLUMNS",),
            "services": ("connection_service", "service_name"),
            "snapshot": ("Snapshot",),
            "state_hints": (
                "STATE_HINTS=HINTS",
                "NEVER_ON_LINUX",
                "orphaned",
                "state_hint",
                "unaccepted",
                "window_wait",
            ),
            "zero_window": ("peer_window", "window_shut"),
            "sources": ("SOURCE_NAMES", "get_source"),
            "sources.base": ("Endpoints",),
            "sources.fd_scan": (
                "cancel_owner_scan=cancel_early",
                "start_owner_scan=start_early",
            ),
        },
    )
