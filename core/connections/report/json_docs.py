"""Connections as JSON documents under their WMI property names: the reference shape.

Every property of the seed class under its WMI name (``null`` where not reported), enums as
integers, datetimes as ISO 8601 UTC, and tcpscope's own facts (owning process, why a value is
missing, tcp_info) under one separate key so the WMI shape stays exact. The rules and "not
reported" reasons depend on the source and on a few facts of a connection only, so they are
worked out once per kind of connection (:class:`JsonRows`). The streamed writer
(core.connections.report.json_writer) fills templates cut from these documents; this module is
what it falls back to, and what its bytes are checked against.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from typing import Final

import orjson

from core.connections.cmdline import cmdline_cut
from core.connections.model import ProcessInfo, TcpConnection, TcpInfo, TcpState
from core.connections.namespaces import namespace_doc, no_view_reason
from core.connections.property_rules import (
    PROPERTIES,
    Provenance,
    cell_rule,
    open_at_reconnect,
)
from core.connections.report.rows import WMI_NAMES, WMI_VALUES, creation_time_bound, iso_utc
from core.connections.snapshot import Snapshot
from core.connections.unmeasured import not_measured
from core.textsafe import printable

EXTRA_KEY: Final = "tcpscope"
"""The one key beside the WMI names; holds the owning process and provenance."""
JSON_OPTIONS: Final = orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_EXTRA_INDENT: Final = b"\n" + b" " * 6
"""A value inside the extension object of a row of the array sits three levels deep."""


def indented(value: object) -> bytes:
    """``value`` encoded, indented for its place inside the extension object of a row."""
    return orjson.dumps(value, option=JSON_OPTIONS).replace(b"\n", _EXTRA_INDENT)


def fragment(value: object) -> orjson.Fragment:
    """``value`` encoded once, indented for its place in every row (orjson copies it in)."""
    return orjson.Fragment(indented(value))


class JsonRows:
    """Builds the JSON document of each connection of one snapshot.

    Everything that does not depend on the row is worked out once: the provenance of each
    property per kind of row (owner found or why not, open before start or not) and the
    process document per PID. With ``fragments`` those are encoded once too, and orjson
    copies their bytes into each row (they are half of a row's text).
    """

    def __init__(self, snap: Snapshot, *, fragments: bool = True, tcp_info: bool = True) -> None:
        """Prepare for the rows of ``snap``; without ``tcp_info`` every row's is null (a
        template's: its value is cut out, and looking one up can index the whole dump)."""
        self._snap = snap
        self._fragments = fragments
        self._tcp_info = tcp_info
        self._reasons: dict[tuple[object, ...], tuple[object, object]] = {}
        self._processes: dict[int, object] = {}
        self._namespaces: dict[int | None, object] = {}

    def _namespace(self, netns: int | None) -> object:
        """``tcpscope.namespace``, once per namespace (see core.connections.namespaces)."""
        found = self._namespaces.get(netns, self)
        if found is self:
            view = self._snap.namespaces
            assert view is not None
            doc = namespace_doc(netns, view)
            found = self._namespaces[netns] = fragment(doc) if self._fragments else doc
        return found

    def _provenance(self, conn: TcpConnection) -> tuple[object, object]:
        # cell_rule reads exactly these facts of a connection: owner missing (and why), more
        # than one holder, whether it was open before the sampler started (or only before a
        # --remote session that reconnected), and which of the values a source may leave
        # out per row are missing.
        started = self._snap.started_at
        kind = (conn.owner_status if conn.owning_process is None else None,
                conn.created_before_start, open_at_reconnect(conn, started),
                len(conn.holders) > 1, conn.applied_setting is None,
                conn.offload_state is None, conn.creation_time is None)  # fmt: skip
        found = self._reasons.get(kind)
        if found is None:
            not_reported: dict[str, str] = {}
            derived: dict[str, str] = {}
            snap = self._snap
            hidden = snap.privilege.hidepid
            for spec in PROPERTIES:
                rule = cell_rule(conn, spec.wmi_name, snap.source, snap.started_at, hidepid=hidden)
                if rule.provenance is Provenance.NOT_REPORTED:
                    not_reported[spec.wmi_name] = rule.text
                elif rule.provenance is not Provenance.REPORTED:
                    derived[spec.wmi_name] = f"{rule.provenance.value}: {rule.text}"
            if snap.namespaces is None:  # (the same for every row of the snapshot)
                not_reported["namespace"] = no_view_reason(snap.source)
            if self._fragments:
                found = (fragment(not_reported), fragment(derived))
            else:
                found = (not_reported, derived)
            self._reasons[kind] = found
        return found

    def process(self, pid: int | None) -> dict[str, object] | None:
        """The document of process ``pid`` (None: no such process known)."""
        info = self._snap.processes.get(pid) if pid is not None else None
        return None if info is None else process_doc(info)

    def _process(self, pid: int | None) -> object:
        if pid is None:
            return None
        found = self._processes.get(pid, self)
        if found is self:
            doc = self.process(pid)
            found = fragment(doc) if self._fragments and doc is not None else doc
            self._processes[pid] = found
        return found

    def doc(self, conn: TcpConnection) -> dict[str, object]:
        """One connection as a dict keyed by WMI names (+ :data:`EXTRA_KEY`), for orjson."""
        doc: dict[str, object] = dict(zip(WMI_NAMES, WMI_VALUES(conn), strict=True))
        not_reported, derived = self._provenance(conn)
        extra: dict[str, object] = {
            "owner_status": conn.owner_status.value,
            "process": self._process(conn.owning_process),
            "family": conn.family,
            "inode": conn.inode,
            "uid": conn.uid,
            "creation_time_bound": creation_time_bound(conn),
            "state_changed_at": conn.state_changed_at,
            "holders": conn.holders or alone(conn.owning_process),
            "tcp_info": (
                tcp_info_doc(self._snap.tcp_info.get(conn.instance_id), conn.state)
                if self._tcp_info
                else None
            ),
            "not_reported": not_reported,
            "derived": derived,
            # Always there (README): null, with why under not_reported, without a view.
            "namespace": None if self._snap.namespaces is None else self._namespace(conn.netns),
        }
        doc[EXTRA_KEY] = extra
        return doc


def tcp_info_doc(info: TcpInfo | None, state: TcpState | None) -> dict[str, object] | None:
    """``tcpscope.tcp_info``: the decoded fields, those the kernel did not measure for a
    socket in ``state`` null and named with why under ``not_reported`` (as the row's own
    ``not_reported``; a listener's initial values, or the rtt of a connection nothing of
    which was acknowledged yet, read as a measured rtt of 0 ms)."""
    if info is None:
        return None
    doc = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    unmeasured = not_measured(state, info)
    doc.update(dict.fromkeys(unmeasured))
    doc["not_reported"] = dict(unmeasured)
    return doc


def alone(pid: int | None) -> tuple[int, ...]:
    return () if pid is None else (pid,)


def process_doc(info: ProcessInfo) -> dict[str, object]:
    """The owning process with its untrusted strings escaped (:func:`core.textsafe.printable`:
    valid UTF-8, no controls, bidi or zero-width characters), and its command line cut at
    :data:`~core.connections.cmdline.CMDLINE_LIMIT` bytes (each of its rows repeats it)."""
    doc: dict[str, object] = {}
    for key, value in dataclasses.asdict(info).items():
        if key == "cmdline":
            args, whole = (None, None) if info.cmdline is None else cmdline_cut(info.cmdline)
            doc[key] = None if args is None else [printable(a) for a in args]
            doc["cmdline_truncated"] = whole  # README: its length in bytes when cut, or null
        elif key in ("name", "username", "exe"):
            doc[key] = None if value is None else printable(value)
        else:
            doc[key] = value
    doc["denied"] = list(info.denied)
    return doc


def connection_doc(conn: TcpConnection, snap: Snapshot) -> dict[str, object]:
    """One connection as plain JSON values (lists, dicts, strings, numbers, None)."""
    (doc,) = json.loads(encode_docs([conn], JsonRows(snap), JsonRows(snap, fragments=False)))
    assert isinstance(doc, dict)
    return doc


def encode_docs(batch: list[TcpConnection], rows: JsonRows, plain_rows: JsonRows) -> bytes:
    """``batch`` as an indented JSON array.

    orjson refuses lone surrogates (a process name that is not valid UTF-8); the standard
    library escapes them, so such a chunk goes that way.
    """
    doc = rows.doc
    try:
        return orjson.dumps([doc(c) for c in batch], option=JSON_OPTIONS)
    except orjson.JSONEncodeError:
        plain = [plain(plain_rows.doc(c)) for c in batch]
        return json.dumps(plain, indent=2).encode()


def plain(value: object) -> object:
    """``value`` as lists, dicts and scalars, the way orjson would encode it."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def encode_one(doc: dict[str, object]) -> bytes:
    """One row as an element of the indented array: ``\n  {...}``."""
    return orjson.dumps([doc], option=JSON_OPTIONS)[1:-2]
