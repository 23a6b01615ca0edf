"""Connections as JSON, CSV and a plain table, under their WMI property names, streamed.

This is the machine-readable face of ``tcpscope connections``: every property of the seed
class under its WMI name (``null`` where not reported), enums as integers, datetimes as
ISO 8601 UTC, and tcpscope's own facts (owning process, why a value is missing, tcp_info)
under one separate key so the WMI shape stays exact.

Why it is shaped like this: at 50k connections the output is the one-shot's biggest cost.
So the rules and "not reported" reasons, which depend on the source and on two facts of a
connection only, are worked out once per kind of connection (:class:`JsonRows`); a row's
WMI values come out of the record in one C call; process and tcp_info records go to orjson
as they are; and rows are encoded and written in chunks, so the first line is out before
the last connection is encoded.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from enum import Enum
from itertools import islice
from operator import attrgetter, itemgetter
from typing import IO, Final

import orjson

from core.connections.json_templates import (
    MAX_TEMPLATES,
    TcpInfoText,
    Template,
    row_kind,
    scalars,
)
from core.connections.model import ProcessInfo, TcpConnection
from core.connections.namespaces import namespace_doc, namespace_text
from core.connections.property_rules import PROPERTIES, Provenance, cell_rule
from core.connections.snapshot import Snapshot
from core.textsafe import csv_cell, printable

EXTRA_KEY: Final = "tcpscope"
"""The one key beside the WMI names; holds the owning process and provenance."""
FIRST_CHUNK: Final = 64
"""Rows in the first chunk written: a reader sees output at once."""
CHUNK: Final = 2048
"""Rows per later chunk: large enough that per-chunk costs vanish."""
_JSON_OPTIONS: Final = orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_WMI_NAMES: Final = tuple(spec.wmi_name for spec in PROPERTIES)
_WMI_VALUES: Final = attrgetter(*(spec.attr for spec in PROPERTIES))
_DATETIME_COLUMNS: Final = tuple(
    i for i, spec in enumerate(PROPERTIES) if spec.cim_type == "datetime"
)
_ARRAY_COLUMNS: Final = tuple(
    i for i, spec in enumerate(PROPERTIES) if spec.cim_type.endswith("[]")
)


def chunks(conns: Iterable[TcpConnection]) -> Iterator[list[TcpConnection]]:
    """``conns`` in lists of :data:`FIRST_CHUNK`, then :data:`CHUNK` rows."""
    it = iter(conns)
    size = FIRST_CHUNK
    while batch := list(islice(it, size)):
        yield batch
        size = CHUNK


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as the JSON and CSV show datetimes."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- JSON -------------------------------------------------------------------------------


_EXTRA_INDENT: Final = b"\n" + b" " * 6
"""A value inside the extension object of a row of the array sits three levels deep."""


def _indented(value: object) -> bytes:
    """``value`` encoded, indented for its place inside the extension object of a row."""
    return orjson.dumps(value, option=_JSON_OPTIONS).replace(b"\n", _EXTRA_INDENT)


def _fragment(value: object) -> orjson.Fragment:
    """``value`` encoded once, indented for its place in every row (orjson copies it in)."""
    return orjson.Fragment(_indented(value))


class JsonRows:
    """Builds the JSON document of each connection of one snapshot.

    Everything that does not depend on the row is worked out once: the provenance of each
    property per kind of row (owner found or why not, open before start or not) and the
    process document per PID. With ``fragments`` those are encoded once too, and orjson
    copies their bytes into each row (they are half of a row's text).
    """

    def __init__(self, snap: Snapshot, *, fragments: bool = True) -> None:
        """Prepare for the rows of ``snap``."""
        self._snap = snap
        self._fragments = fragments
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
            found = self._namespaces[netns] = _fragment(doc) if self._fragments else doc
        return found

    def _provenance(self, conn: TcpConnection) -> tuple[object, object]:
        # cell_rule reads exactly these facts of a connection: owner missing (and why), more
        # than one holder, whether it was open before the sampler started, and which of the
        # values a source may leave out per row are missing.
        kind = (conn.owner_status if conn.owning_process is None else None,
                conn.created_before_start, len(conn.holders) > 1,
                conn.applied_setting is None, conn.offload_state is None,
                conn.creation_time is None)  # fmt: skip
        found = self._reasons.get(kind)
        if found is None:
            not_reported: dict[str, str] = {}
            derived: dict[str, str] = {}
            snap = self._snap
            for spec in PROPERTIES:
                rule = cell_rule(conn, spec.wmi_name, snap.source, snap.started_at)
                if rule.provenance is Provenance.NOT_REPORTED:
                    not_reported[spec.wmi_name] = rule.text
                elif rule.provenance is not Provenance.REPORTED:
                    derived[spec.wmi_name] = f"{rule.provenance.value}: {rule.text}"
            if self._fragments:
                found = (_fragment(not_reported), _fragment(derived))
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
            found = _fragment(doc) if self._fragments and doc is not None else doc
            self._processes[pid] = found
        return found

    def doc(self, conn: TcpConnection) -> dict[str, object]:
        """One connection as a dict keyed by WMI names (+ :data:`EXTRA_KEY`), for orjson."""
        doc: dict[str, object] = dict(zip(_WMI_NAMES, _WMI_VALUES(conn), strict=True))
        not_reported, derived = self._provenance(conn)
        extra: dict[str, object] = {
            "owner_status": conn.owner_status.value,
            "process": self._process(conn.owning_process),
            "family": conn.family,
            "inode": conn.inode,
            "uid": conn.uid,
            "creation_time_bound": "before start" if conn.created_before_start else "first seen",
            "state_changed_at": conn.state_changed_at,
            "holders": conn.holders or _alone(conn.owning_process),
            "tcp_info": self._snap.tcp_info.get(conn.instance_id),
            "not_reported": not_reported,
            "derived": derived,
        }
        if self._snap.namespaces is not None:
            extra["namespace"] = self._namespace(conn.netns)
        doc[EXTRA_KEY] = extra
        return doc


def _alone(pid: int | None) -> tuple[int, ...]:
    return () if pid is None else (pid,)


def process_doc(info: ProcessInfo) -> dict[str, object]:
    """The owning process with its untrusted strings escaped (:func:`core.textsafe.printable`:
    valid UTF-8, no controls, bidi or zero-width characters)."""
    doc = dataclasses.asdict(info)
    for key in ("name", "username", "exe"):
        if doc[key] is not None:
            doc[key] = printable(doc[key])
    doc["cmdline"] = None if info.cmdline is None else [printable(a) for a in info.cmdline]
    doc["denied"] = list(info.denied)
    return doc


def connection_doc(conn: TcpConnection, snap: Snapshot) -> dict[str, object]:
    """One connection as plain JSON values (lists, dicts, strings, numbers, None)."""
    (doc,) = json.loads(_encode([conn], JsonRows(snap), JsonRows(snap, fragments=False)))
    assert isinstance(doc, dict)
    return doc


def _encode(batch: list[TcpConnection], rows: JsonRows, plain_rows: JsonRows) -> bytes:
    """``batch`` as an indented JSON array.

    orjson refuses lone surrogates (a process name that is not valid UTF-8); the standard
    library escapes them, so such a chunk goes that way.
    """
    doc = rows.doc
    try:
        return orjson.dumps([doc(c) for c in batch], option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:
        plain = [_plain(plain_rows.doc(c)) for c in batch]
        return json.dumps(plain, indent=2).encode()


def _plain(value: object) -> object:
    """``value`` as lists, dicts and scalars, the way orjson would encode it."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class _TemplateRows:
    """Rows of one snapshot as filled templates (see core.connections.json_templates)."""

    def __init__(self, rows: JsonRows, snap: Snapshot) -> None:
        self._rows = rows
        self._snap = snap
        self._templates: dict[tuple[object, ...], Template] = {}
        self._processes: dict[int | None, bytes] = {None: b"null"}
        self._holders: dict[object, bytes] = {}
        self._namespaces: dict[int | None, bytes] = {}
        self._tcp_info = TcpInfoText(_indented).lookup(snap.tcp_info)

    def encode(self, batch: list[TcpConnection]) -> bytes:
        """``batch`` as array elements, ``\n  {...}`` joined by commas."""
        templates, tcp_info = self._templates, self._tcp_info
        texts: list[bytes] = []
        for conn in batch:
            kind = row_kind(conn)
            template = templates.get(kind)
            if template is None:
                if len(templates) >= MAX_TEMPLATES:
                    texts.append(_encode_one(self._rows.doc(conn)))
                    continue
                template = templates[kind] = Template(self._rows.doc(conn), _encode_one)
            pid = conn.owning_process
            process = self._processes.get(pid)
            if process is None:
                process = self._processes[pid] = _indented(self._rows.process(pid))
            held = conn.holders or pid
            holders = self._holders.get(held)
            if holders is None:
                holders = self._holders[held] = _indented(list(conn.holders or _alone(pid)))
            netns = conn.netns
            namespace = self._namespaces.get(netns)
            if namespace is None:
                view = self._snap.namespaces
                doc = namespace_doc(netns, view) if view is not None else None
                namespace = self._namespaces[netns] = _indented(doc)
            values = (*scalars(conn), process, holders, tcp_info(conn.instance_id), namespace)
            texts.append(template.text % template.order(values))
        return b",".join(texts)


def _encode_one(doc: dict[str, object]) -> bytes:
    """One row as an element of the indented array: ``\n  {...}``."""
    return orjson.dumps([doc], option=_JSON_OPTIONS)[1:-2]


def write_json(conns: Iterable[TcpConnection], snap: Snapshot, out: IO[bytes]) -> None:
    """Write a JSON array of connection documents, chunk by chunk, ending in a newline.

    The bytes equal ``json.dumps(docs, indent=2)`` for ASCII text (non-ASCII is UTF-8).
    """
    rows, plain_rows = JsonRows(snap), JsonRows(snap, fragments=False)
    filled = _TemplateRows(rows, snap)
    sep = b"["
    for batch in chunks(conns):
        try:
            body = filled.encode(batch)
        except orjson.JSONEncodeError:
            # Each chunk is "[\n  {...},\n  {...}\n]": keep its elements, join the chunks.
            body = _encode(batch, rows, plain_rows)[1:-2]
        out.write(sep)
        out.write(body)
        sep = b","
    out.write(b"[]\n" if sep == b"[" else b"\n]\n")


# --- CSV --------------------------------------------------------------------------------

CSV_EXTRA: Final = ("ProcessName", "ProcessUser", "ProcessCommandLine", "OwnerStatus")


def _process_cells(info: ProcessInfo | None) -> tuple[str, str, str]:
    """Escaped, and inert in a spreadsheet: a process called ``=HYPERLINK(...)`` would
    otherwise run as a formula in whatever opens the file (OWASP CSV injection)."""
    if info is None:
        return ("", "", "")
    return (
        csv_cell(info.name or ""),
        csv_cell(info.username or ""),
        csv_cell(" ".join(info.cmdline or ())),
    )


class _CsvRows:
    """CSV lines of one snapshot: the ordinary cells, and per kind of row a template.

    Why templates: most of a row's 37 cells are the same for every row of a kind (see
    core.connections.json_templates.row_kind), so the first row of a kind is written by the
    csv module with markers in the per-row cells, and the rest fill that line. A row whose
    text would need quoting goes the ordinary way.
    """

    def __init__(self, snap: Snapshot) -> None:
        self._view = snap.namespaces
        self._processes = snap.processes
        self._by_pid: dict[int | None, tuple[str, str, str]] = {None: ("", "", "")}
        self._process_text: dict[int | None, str] = {}
        self._namespace_text: dict[int | None, str] = {}
        self._times: dict[datetime, str] = {}
        self._templates: dict[
            tuple[object, ...], tuple[str, Callable[..., tuple[object, ...]]]
        ] = {}
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\n")

    def header(self) -> str:
        """The header line."""
        extra = ("Namespace",) if self._view is not None else ()
        return self._line([*_WMI_NAMES, *CSV_EXTRA, *extra])

    def _line(self, cells: Sequence[object]) -> str:
        buf = self._buf
        buf.seek(0)
        buf.truncate()
        self._writer.writerow(cells)
        return buf.getvalue()

    def _time(self, when: datetime) -> str:
        text = self._times.get(when)
        if text is None:
            text = self._times[when] = iso_utc(when)
        return text

    def _process(self, pid: int | None) -> tuple[str, str, str]:
        cells = self._by_pid.get(pid)
        if cells is None:
            cells = self._by_pid[pid] = _process_cells(self._processes.get(pid) if pid else None)
        return cells

    def cells(self, conn: TcpConnection) -> list[object]:
        """The ordinary cells of one row."""
        row: list[object] = list(_WMI_VALUES(conn))
        for i in _DATETIME_COLUMNS:
            when = row[i]
            if isinstance(when, datetime):
                row[i] = self._time(when)
        for i in _ARRAY_COLUMNS:
            values = row[i]
            if isinstance(values, tuple):
                row[i] = ";".join(map(str, values))
        row += self._process(conn.owning_process)
        row.append(conn.owner_status.value)
        if self._view is not None:
            row.append(namespace_text(conn.netns, self._view))
        return row

    def _template(self, conn: TcpConnection) -> tuple[str, Callable[..., tuple[object, ...]]]:
        cells = self.cells(conn)
        marks = {i: f"\ue000{n}\ue000" for n, i in enumerate(_CSV_SLOTS)}
        for i, mark in marks.items():
            cells[i] = mark
        process_at = len(_WMI_NAMES)
        cells[process_at : process_at + 3] = ["\ue000p\ue000"]
        if self._view is not None:
            cells[-1] = "\ue000n\ue000"
        text = self._line(cells).replace("%", "%%")
        found = [(text.find(m), n) for n, m in enumerate([*marks.values(), "\ue000p\ue000",
                                                          "\ue000n\ue000"])]  # fmt: skip
        for mark in [*marks.values(), "\ue000p\ue000", "\ue000n\ue000"]:
            text = text.replace(mark, "%s")
        order = [n for at, n in sorted(found) if at >= 0]
        return text, itemgetter(*order)

    def line(self, conn: TcpConnection) -> str:
        """One row's line."""
        kind = row_kind(conn)
        found = self._templates.get(kind)
        if found is None:
            if len(self._templates) >= MAX_TEMPLATES:
                return self._line(self.cells(conn))
            found = self._templates[kind] = self._template(conn)
        iid, laddr, lport, raddr, rport, state, pid, created = _CSV_SLOT_VALUES(conn)
        if _CSV_SPECIAL.search(iid) or _CSV_SPECIAL.search(laddr) or _CSV_SPECIAL.search(raddr):
            return self._line(self.cells(conn))
        process = self._process_text.get(pid)
        if process is None:
            process = self._process_text[pid] = self._line(self._process(pid))[:-1]
        netns = conn.netns
        namespace = self._namespace_text.get(netns)
        if namespace is None:
            text = namespace_text(netns, self._view)
            namespace = self._namespace_text[netns] = self._line([text])[:-1]
        text, order = found
        values = (iid, laddr, lport, raddr, rport, state, "" if pid is None else pid,
                  "" if created is None else self._time(created), process, namespace)  # fmt: skip
        return text % order(values)


_CSV_SLOT_ATTRS: Final = (
    "instance_id", "local_address", "local_port", "remote_address", "remote_port", "state",
    "owning_process", "creation_time",
)  # fmt: skip
_CSV_SLOT_VALUES: Final = attrgetter(*_CSV_SLOT_ATTRS)
_CSV_SLOTS: Final = tuple(
    next(i for i, spec in enumerate(PROPERTIES) if spec.attr == attr) for attr in _CSV_SLOT_ATTRS
)
"""The columns of the per-row values, in :data:`_CSV_SLOT_ATTRS` order."""
_CSV_SPECIAL: Final = re.compile(r'[",\r\n]')
"""What makes the csv module quote a cell."""


def write_csv(conns: Iterable[TcpConnection], snap: Snapshot, out: IO[bytes]) -> None:
    """CSV with the WMI names as header (arrays joined by ``;``) plus process columns."""
    rows = _CsvRows(snap)
    out.write(rows.header().encode("utf-8", "backslashreplace"))
    line = rows.line
    for batch in chunks(conns):
        out.write("".join([line(conn) for conn in batch]).encode("utf-8", "backslashreplace"))


# --- table ------------------------------------------------------------------------------

TABLE_HEADER: Final = ("State", "Local", "Remote", "PID", "Process")


def write_table(
    conns: Sequence[TcpConnection], snap: Snapshot, state_name: dict[int, str], out: IO[bytes]
) -> None:
    """A plain aligned table for terminals; untrusted text is made printable.

    Column widths come from a first pass that writes the endpoints only, so rows are
    formatted and written chunk by chunk.
    """
    processes = snap.processes
    names: dict[int | None, str] = {None: "-"}
    for pid in set(map(_OWNER, conns)):
        if pid is not None:
            info = processes.get(pid)
            names[pid] = printable(info.name or "?") if info else "-"
    states = {int(s) for s in set(map(_STATE, conns))}
    state_names = {s: state_name.get(s, str(s)) for s in states}
    local, remote = _endpoints(conns)
    widths = [
        max([len(TABLE_HEADER[0]), *(len(state_names[s]) for s in states)]),
        max(len(TABLE_HEADER[1]), *map(len, local)) if local else len(TABLE_HEADER[1]),
        max(len(TABLE_HEADER[2]), *map(len, remote)) if remote else len(TABLE_HEADER[2]),
        max([len(TABLE_HEADER[3]), *(len(str(p)) for p in names if p is not None)]),
    ]
    w0, w1, w2, w3 = widths
    # A Namespace column (before Process) when a row is outside tcpscope's own namespace.
    view = snap.namespaces
    spaces: dict[int | None, str] = {}
    inodes = set(map(_NETNS, conns))
    if view is not None and (len(inodes) > 1 or inodes != {None}):
        spaces = {n: namespace_text(n, view) for n in inodes}
    header: tuple[str, ...] = TABLE_HEADER
    if spaces:
        widths.append(max(len("Namespace"), *map(len, spaces.values())))
        header = (*TABLE_HEADER[:4], "Namespace", TABLE_HEADER[4])
    w4 = widths[-1] if spaces else 0
    out.write(_table_line(header, widths).encode())
    # What repeats is formatted once: state cells by state, the rest of a line by PID and
    # namespace (it starts with the PID or "-", so stripping it strips the line).
    # A list by State number: an IntEnum indexes a list in C, but hashes in Python.
    state_cell = [""] * (max(states, default=0) + 1)
    for s, name in state_names.items():
        state_cell[s] = f"{name:<{w0}}  "
    tails: dict[tuple[int | None, int | None], str] = {}
    for pid, netns in set(map(_OWNER_NETNS, conns)):
        where = f"{spaces[netns]:<{w4}}  " if spaces else ""
        tails[pid, netns] = f"{'-' if pid is None else pid:<{w3}}  {where}{names[pid]}".rstrip()
    line = f"\n%s%-{w1}s  %-{w2}s  %s"
    done = 0
    for batch in chunks(conns):
        end = done + len(batch)
        text = "".join(
            [
                line % (state_cell[c.state], la, ra, tails[c.owning_process, c.netns])
                for c, la, ra in zip(batch, local[done:end], remote[done:end], strict=True)
            ]
        )
        out.write(text.encode("utf-8", "backslashreplace"))
        done = end
    out.write(b"\n")


_OWNER: Final = attrgetter("owning_process")
_STATE: Final = attrgetter("state")
_NETNS: Final = attrgetter("netns")
_OWNER_NETNS: Final = attrgetter("owning_process", "netns")
_ENDS: Final = attrgetter("local_address", "local_port", "remote_address", "remote_port")


def _endpoints(conns: Sequence[TcpConnection]) -> tuple[list[str], list[str]]:
    """Every row's local and remote ``address:port`` (IPv6 in brackets)."""
    heads: dict[str, str] = {}
    local: list[str] = []
    remote: list[str] = []
    for la, lp, ra, rp in map(_ENDS, conns):
        head = heads.get(la)
        if head is None:
            head = heads[la] = f"[{la}]:" if ":" in la else f"{la}:"
        local.append(f"{head}{lp}")
        head = heads.get(ra)
        if head is None:
            head = heads[ra] = f"[{ra}]:" if ":" in ra else f"{ra}:"
        remote.append(f"{head}{rp}")
    return local, remote


def _table_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.ljust(w) for cell, w in zip(cells, widths, strict=False)]
    return "  ".join([*padded, *cells[len(widths) :]]).rstrip()
