"""Connections as JSON, CSV and a plain table, under their WMI property names.

This is the machine-readable face of ``tcpscope connections``: every property of the seed
class under its WMI name (``null`` where not reported), enums as integers, datetimes as
ISO 8601 UTC, and tcpscope's own facts (owning process, why a value is missing, tcp_info)
under one separate key so the WMI shape stays exact.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Final

from core.connections.model import ProcessInfo, TcpConnection, TcpInfo
from core.connections.property_rules import PROPERTIES, Provenance, cell_rule
from core.connections.snapshot import Snapshot
from core.textsafe import printable

EXTRA_KEY: Final = "tcpscope"
"""The one key beside the WMI names; holds the owning process and provenance."""


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def _process(info: ProcessInfo | None) -> dict[str, object] | None:
    if info is None:
        return None
    doc = dataclasses.asdict(info)
    doc["cmdline"] = list(info.cmdline) if info.cmdline is not None else None
    doc["denied"] = list(info.denied)
    return doc


def _tcp_info(info: TcpInfo | None) -> dict[str, object] | None:
    return dataclasses.asdict(info) if info is not None else None


def connection_doc(conn: TcpConnection, snap: Snapshot) -> dict[str, object]:
    """One connection as a JSON-able dict keyed by WMI property names (+ :data:`EXTRA_KEY`)."""
    doc: dict[str, object] = {
        spec.wmi_name: _json_value(getattr(conn, spec.attr)) for spec in PROPERTIES
    }
    not_reported: dict[str, str] = {}
    derived: dict[str, str] = {}
    for spec in PROPERTIES:
        rule = cell_rule(conn, spec.wmi_name, snap.source, snap.started_at)
        if rule.provenance is Provenance.NOT_REPORTED:
            not_reported[spec.wmi_name] = rule.text
        elif rule.provenance is not Provenance.REPORTED:
            derived[spec.wmi_name] = f"{rule.provenance.value}: {rule.text}"
    pid = conn.owning_process
    extra: dict[str, object] = {
        "owner_status": conn.owner_status.value,
        "process": _process(snap.processes.get(pid) if pid is not None else None),
        "family": conn.family,
        "inode": conn.inode,
        "uid": conn.uid,
        "creation_time_bound": "before start" if conn.created_before_start else "first seen",
        "tcp_info": _tcp_info(snap.tcp_info.get(conn.instance_id)),
        "not_reported": not_reported,
        "derived": derived,
    }
    if snap.namespaces is not None:
        from core.connections.namespaces import namespace_doc

        extra["namespace"] = namespace_doc(conn, snap.namespaces)
    doc[EXTRA_KEY] = extra
    return doc


def to_json(conns: Iterable[TcpConnection], snap: Snapshot) -> str:
    """A JSON array of :func:`connection_doc` objects."""
    return json.dumps([connection_doc(c, snap) for c in conns], indent=2)


CSV_EXTRA: Final = ("ProcessName", "ProcessUser", "ProcessCommandLine", "OwnerStatus")


def to_csv(conns: Iterable[TcpConnection], snap: Snapshot) -> str:
    """CSV with the WMI names as header (arrays joined by ``;``) plus process columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    from core.connections.namespaces import namespace_text

    view = snap.namespaces
    writer.writerow(
        [*(p.wmi_name for p in PROPERTIES), *CSV_EXTRA, *(("Namespace",) if view else ())]
    )
    for conn in conns:
        row: list[object] = []
        for spec in PROPERTIES:
            value = _json_value(getattr(conn, spec.attr))
            if isinstance(value, list):
                value = ";".join(str(v) for v in value)
            row.append("" if value is None else value)
        info = snap.processes.get(conn.owning_process) if conn.owning_process else None
        row += [
            printable(info.name or "") if info else "",
            printable(info.username or "") if info else "",
            printable(" ".join(info.cmdline or ())) if info else "",
            conn.owner_status.value,
        ]
        if view is not None:
            row.append(namespace_text(conn, view))
        writer.writerow(row)
    return out.getvalue()


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def to_table(conns: Sequence[TcpConnection], snap: Snapshot, state_name: dict[int, str]) -> str:
    """A plain aligned table for terminals; untrusted text is made printable."""
    from core.connections.namespaces import namespace_text

    view = snap.namespaces
    by_ns = view is not None and view.with_sockets > 1
    header: tuple[str, ...] = ("State", "Local", "Remote", "PID", "Process")
    if by_ns:
        header += ("Namespace",)
    rows = [header]
    for conn in conns:
        pid = conn.owning_process
        info = snap.processes.get(pid) if pid is not None else None
        rows.append(
            (
                state_name.get(int(conn.state), str(int(conn.state))),
                _endpoint(conn.local_address, conn.local_port),
                _endpoint(conn.remote_address, conn.remote_port),
                str(pid) if pid is not None else "-",
                printable(info.name or "?") if info else "-",
                *((namespace_text(conn, view),) if by_ns else ()),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
