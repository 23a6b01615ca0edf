"""Rows of ``connections --json`` filled into templates: the same bytes, without a document per row.

Why: at 50k connections the JSON output is 200 MB, and building a dict of 45 entries per row
for orjson to walk costs more than the rest of the one-shot together. But rows of one kind
differ only in a few values: the identity, the owner, the namespace and tcp_info. So the
first row of each kind is encoded the ordinary way (:class:`core.connections.report.JsonRows`)
with markers in place of those values, and cut at the markers into a template; every row of
that kind then costs one compact orjson call for its scalars and one ``%`` fill. The kind
(:data:`_SHAPE`) holds every other value of the row, so a template can only be reused for rows
that would encode the same outside its slots; kinds past :data:`MAX_TEMPLATES` (a snapshot
whose rows all differ elsewhere) go the ordinary way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from operator import attrgetter, itemgetter
from typing import Final

import orjson

from core.connections.model import CimProperties, TcpConnection, TcpInfo
from core.connections.property_rules import PROPERTIES
from core.connections.tcpinfo import LazyTcpInfo, TcpInfoValues

MAX_TEMPLATES: Final = 256
"""Kinds of row given a template; rows of further kinds are encoded the ordinary way."""
_MARK: Final = "\ue000slot{}\ue000"
"""A marker string (private-use characters: never in a real value) for slot ``n``."""
_SCALAR_ATTRS: Final = (
    "instance_id", "local_address", "local_port", "remote_address", "remote_port", "state",
    "owning_process", "creation_time", "family", "inode", "uid", "state_changed_at",
)  # fmt: skip
"""Per-row values written as they are: one compact orjson call encodes them all."""
_SCALARS: Final = attrgetter(*_SCALAR_ATTRS)
_CIM: Final = frozenset(f.name for f in dataclasses.fields(CimProperties))
_EXTRA_SLOTS: Final = ("process", "holders", "tcp_info", "namespace")
"""Per-row values the writer encodes itself (fragments, cached per PID or namespace)."""
_WMI_SLOTS: Final = {spec.wmi_name: spec.attr for spec in PROPERTIES if spec.attr in _SCALAR_ATTRS}
_EXTRA_SCALARS: Final = ("family", "inode", "uid", "state_changed_at")
_SHAPE: Final = attrgetter(
    # The shared CimProperties object holds every WMI value outside the scalars, and equal
    # values are the same object (model.shared_cim): compared and hashed by identity.
    "cim",
    *(spec.attr for spec in PROPERTIES if spec.attr not in _SCALAR_ATTRS and spec.attr not in _CIM),
    "owner_status._value_",  # its value: an Enum member hashes in Python
    "created_before_start",
)
"""The values that decide a row's template besides its provenance facts (see row_kind)."""
_JSON_OPTIONS: Final = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_NULL: Final = b"null"


def row_kind(conn: TcpConnection) -> tuple[object, ...]:
    """Everything of ``conn`` its row's text depends on outside the template's slots."""
    return (_SHAPE(conn), conn.owning_process is None, len(conn.holders) > 1,
            conn.creation_time is None)  # fmt: skip


class Template:
    """One kind of row as ``%b`` slots in its encoded text."""

    __slots__ = ("order", "text")

    def __init__(self, doc: dict[str, object], encode: Callable[[dict[str, object]], bytes]):
        """Cut ``encode(doc with markers)`` at the markers (``doc`` is one row's document)."""
        names = [*_SCALAR_ATTRS, *_EXTRA_SLOTS]
        marked = dict(doc)
        for wmi, attr in _WMI_SLOTS.items():
            marked[wmi] = _MARK.format(names.index(attr))
        extra = dict(marked["tcpscope"])  # type: ignore[call-overload]
        for name in (*_EXTRA_SCALARS, *_EXTRA_SLOTS):
            if name in extra:
                extra[name] = _MARK.format(names.index(name))
        marked["tcpscope"] = extra
        text = encode(marked).replace(b"%", b"%%")
        found: list[tuple[int, int]] = []
        for slot in range(len(names)):
            quoted = orjson.dumps(_MARK.format(slot))
            at = text.find(quoted)
            if at >= 0:
                found.append((at, slot))
                text = text.replace(quoted, b"%b")
        found.sort()
        self.order = itemgetter_of([slot for _at, slot in found])
        self.text = text


def itemgetter_of(indices: list[int]) -> Callable[[tuple[bytes, ...]], tuple[bytes, ...]]:
    """A function picking ``indices`` of a tuple, always returning a tuple."""
    if len(indices) == 1:
        only = indices[0]
        return lambda values: (values[only],)
    pick: Callable[[tuple[bytes, ...]], tuple[bytes, ...]] = itemgetter(*indices)
    return pick


def scalars(conn: TcpConnection) -> list[bytes]:
    """The JSON text of each of :data:`_SCALAR_ATTRS` of ``conn``."""
    values = _SCALARS(conn)
    parts = orjson.dumps(values, option=_JSON_OPTIONS)[1:-1].split(b",")
    if len(parts) != len(values):  # a comma inside a string: one at a time
        parts = [orjson.dumps(v, option=_JSON_OPTIONS) for v in values]
    return parts


# --- tcp_info -----------------------------------------------------------------------------


class TcpInfoText:
    """The ``tcp_info`` value of a row, from the decoded fields without a TcpInfo object."""

    def __init__(self, indent: Callable[[object], bytes]) -> None:
        """``indent(value)``: its text as it sits in a row (see report._indented)."""
        self._indent = indent
        marks = [_MARK.format(i) for i in range(len(TcpInfo.__dataclass_fields__))]
        text = indent(TcpInfo(*marks)).replace(b"%", b"%%")  # type: ignore[arg-type]
        for mark in marks:
            text = text.replace(orjson.dumps(mark), b"%d")
        self._text = text

    def of(self, values: TcpInfoValues | None) -> bytes:
        """The text of one socket's tcp_info (``null`` when it has none)."""
        if values is None:
            return _NULL
        if None in values:
            return self._indent(TcpInfo(*values))  # type: ignore[arg-type]
        return self._text % values

    def lookup(self, infos: Mapping[str, TcpInfo]) -> Callable[[str], bytes]:
        """``iid -> text`` over a snapshot's tcp_info mapping."""
        if isinstance(infos, LazyTcpInfo):
            fields, of = infos.fields_reader(), self.of
            return lambda iid: of(fields(iid))
        indent = self._indent

        def plain(iid: str) -> bytes:
            info = infos.get(iid)
            return _NULL if info is None else indent(info)

        return plain
