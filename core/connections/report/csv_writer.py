"""Connections as CSV under their WMI property names, streamed chunk by chunk."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import IO, Final

from core.connections.cmdline import cmdline_cut
from core.connections.model import ProcessInfo, TcpConnection
from core.connections.namespaces import namespace_text
from core.connections.property_rules import PROPERTIES
from core.connections.report.rows import (
    CHUNK,
    MAX_TEMPLATES,
    WMI_NAMES,
    WMI_VALUES,
    cached_column,
    creation_time_bound,
    iso_utc,
    row_kind,
    row_kinds,
)
from core.connections.report.two_writers import SPLIT_ROWS, write_chunks
from core.connections.snapshot import Snapshot
from core.textsafe import csv_cell

_DATETIME_COLUMNS: Final = tuple(
    i for i, spec in enumerate(PROPERTIES) if spec.cim_type == "datetime"
)
_ARRAY_COLUMNS: Final = tuple(
    i for i, spec in enumerate(PROPERTIES) if spec.cim_type.endswith("[]")
)

CSV_EXTRA: Final = (
    "ProcessName", "ProcessUser", "ProcessCommandLine", "OwnerStatus", "CreationTimeBound",
)  # fmt: skip
"""tcpscope's columns after the WMI ones (then ``Namespace``, empty when no namespace was
looked up: the columns never depend on ``--netns``).
CreationTimeBound says what CreationTime bounds, as JSON's ``creation_time_bound``:
``before start`` (open before the sample: the time is only an upper bound) or ``first seen``."""


def _process_cells(info: ProcessInfo | None) -> tuple[str, str, str]:
    """Escaped, and inert in a spreadsheet: a process called ``=HYPERLINK(...)`` would
    otherwise run as a formula in whatever opens the file (OWASP CSV injection)."""
    if info is None:
        return ("", "", "")
    return (csv_cell(info.name or ""), csv_cell(info.username or ""), _command(info.cmdline))


def _command(cmdline: tuple[str, ...] | None) -> str:
    """The ProcessCommandLine cell: each row of the process repeats it, so it is cut at
    :data:`~core.connections.cmdline.CMDLINE_LIMIT` bytes, ``…[N more bytes]`` saying so."""
    args, whole = cmdline_cut(cmdline or ())
    cell = csv_cell(" ".join(args))
    if whole is None:
        return cell
    return f"{cell}…[{whole - len(os.fsencode(' '.join(args)))} more bytes]"


class _CsvRows:
    """CSV lines of one snapshot: the ordinary cells, and per kind of row a template.

    Why templates: most of a row's 37 cells are the same for every row of a kind (see
    core.connections.report.rows.row_kind), so the first row of a kind is written by the
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
        self._orders: dict[str, tuple[int, ...]] = {}
        """Each template's slots, as indexes into :meth:`line`'s values."""
        self._pid_cells: dict[int | None, object] = {None: ""}
        self._time_cells: dict[datetime | None, object] = {None: ""}
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\n")

    def header(self) -> str:
        """The header line."""
        return self._line([*WMI_NAMES, *CSV_EXTRA, "Namespace"])

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

    def _time_cell(self, when: datetime | None) -> object:
        return "" if when is None else self._time(when)

    def _process(self, pid: int | None) -> tuple[str, str, str]:
        cells = self._by_pid.get(pid)
        if cells is None:
            cells = self._by_pid[pid] = _process_cells(self._processes.get(pid) if pid else None)
        return cells

    def cells(self, conn: TcpConnection) -> list[object]:
        """The ordinary cells of one row."""
        row: list[object] = list(WMI_VALUES(conn))
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
        row.append(creation_time_bound(conn))  # (one per kind: created_before_start is in it)
        row.append(namespace_text(conn.netns, self._view))  # ("" when none was looked up)
        return row

    def _template(self, conn: TcpConnection) -> tuple[str, Callable[..., tuple[object, ...]]]:
        cells = self.cells(conn)
        marks = {i: f"\ue000{n}\ue000" for n, i in enumerate(_CSV_SLOTS)}
        for i, mark in marks.items():
            cells[i] = mark
        process_at = len(WMI_NAMES)
        cells[process_at : process_at + 3] = ["\ue000p\ue000"]
        cells[-1] = "\ue000n\ue000"
        text = self._line(cells).replace("%", "%%")
        found = [(text.find(m), n) for n, m in enumerate([*marks.values(), "\ue000p\ue000",
                                                          "\ue000n\ue000"])]  # fmt: skip
        for mark in [*marks.values(), "\ue000p\ue000", "\ue000n\ue000"]:
            text = text.replace(mark, "%s")
        order = [n for at, n in sorted(found) if at >= 0]
        self._orders[text] = tuple(order)
        return text, itemgetter(*order)

    def _namespace_cell(self, netns: int | None) -> str:
        """The Namespace cell's text (a row of one empty cell is written ``""``: not ours)."""
        text = namespace_text(netns, self._view)
        return self._line([text])[:-1] if text else ""

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
            namespace = self._namespace_text[netns] = self._namespace_cell(netns)
        text, order = found
        values = (iid, laddr, lport, raddr, rport, state, "" if pid is None else pid,
                  "" if created is None else self._time(created), process, namespace)  # fmt: skip
        return text % order(values)

    def lines(self, batch: Sequence[TcpConnection]) -> str:
        """The lines of ``batch``, column by column: each row's template by its kind and each
        slot's cells by C-level maps, the rows then filled in one ``map`` (a third of the
        time :meth:`line` per row takes). A chunk with a row that needs quoting, more kinds
        than templates, or templates of other slot orders goes row by row."""
        if not batch:
            return ""
        iid, laddr, lport, raddr, rport, state, pid, created, held, netns = zip(
            *map(_CSV_ROW, batch), strict=True
        )
        if _CSV_SPECIAL.search("\0".join([*iid, *{*laddr, *raddr}])):
            return "".join(map(self.line, batch))
        templates = self._templates
        kinds = row_kinds(batch, pid, held, created)
        if not templates.keys() >= set(kinds):
            for conn, kind in zip(batch, kinds, strict=True):
                if kind not in templates:
                    if len(templates) >= MAX_TEMPLATES:
                        return "".join(map(self.line, batch))
                    templates[kind] = self._template(conn)
        texts = [templates[kind][0] for kind in kinds]
        orders = {self._orders[text] for text in set(texts)}
        if len(orders) != 1:
            return "".join(map(self.line, batch))
        for p in set(pid).difference(self._process_text):
            self._process_text[p] = self._line(self._process(p))[:-1]
        for n in set(netns).difference(self._namespace_text):
            self._namespace_text[n] = self._namespace_cell(n)
        values: tuple[Sequence[object], ...] = (
            iid, laddr, lport, raddr, rport, state,
            cached_column(self._pid_cells, pid, _pid_cell),
            cached_column(self._time_cells, created, self._time_cell),
            list(map(self._process_text.__getitem__, pid)),
            list(map(self._namespace_text.__getitem__, netns)),
        )  # fmt: skip
        slots = zip(*(values[n] for n in orders.pop()), strict=True)
        return "".join(map(str.__mod__, texts, slots))


def _pid_cell(pid: int | None) -> object:
    return "" if pid is None else pid


_CSV_ROW: Final = attrgetter(
    "instance_id", "local_address", "local_port", "remote_address", "remote_port", "state",
    "owning_process", "creation_time", "holders", "netns",
)  # fmt: skip
"""A row's slot values (:data:`_CSV_SLOT_ATTRS`), then what its kind and cells need."""
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
    """CSV with the WMI names as header (arrays joined by ``;``) plus process columns,
    chunk by chunk (by two processes from
    :data:`core.connections.report.two_writers.SPLIT_ROWS` rows on)."""
    rows = _CsvRows(snap)
    out.write(rows.header().encode("utf-8", "backslashreplace"))
    lines = rows.lines

    def encode(batch: Sequence[TcpConnection], _first: bool) -> bytes:
        return lines(batch).encode("utf-8", "backslashreplace")

    write_chunks(conns, out, encode, chunk=CHUNK, split_at=SPLIT_ROWS)
