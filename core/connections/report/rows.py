"""What every output format shares: the WMI columns of a row, chunking, datetimes as text."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, is_
from typing import Final, TypeVar

from core.connections.model import CimProperties, TcpConnection
from core.connections.property_rules import PROPERTIES

FIRST_CHUNK: Final = 64
"""Rows in the first chunk written: a reader sees output at once."""
CHUNK: Final = 2048
"""Rows per later chunk: large enough that per-chunk costs vanish."""
WMI_NAMES: Final = tuple(spec.wmi_name for spec in PROPERTIES)
WMI_VALUES: Final = attrgetter(*(spec.attr for spec in PROPERTIES))
"""A row's WMI values in :data:`WMI_NAMES` order, in one C call."""


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as the JSON and CSV show datetimes."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def creation_time_bound(conn: TcpConnection) -> str:
    """What ``conn``'s CreationTime bounds (JSON's ``creation_time_bound``, the CSV's
    CreationTimeBound): ``before start`` (open before tcpscope's first sample, so the time is
    only an upper bound) or ``first seen``."""
    return "before start" if conn.created_before_start else "first seen"


MAX_TEMPLATES: Final = 256
"""Kinds of row given a template; rows of further kinds are encoded the ordinary way."""
ROW_SLOTS: Final = (
    "instance_id", "local_address", "local_port", "remote_address", "remote_port", "state",
    "owning_process", "creation_time", "family", "inode", "uid", "state_changed_at",
)  # fmt: skip
"""The values that differ from row to row: a template (JSON, CSV) has a slot for each it
shows, and the rest of its text comes from the row's kind (:data:`SHAPE`)."""
_CIM: Final = frozenset(f.name for f in dataclasses.fields(CimProperties))
SHAPE_FIELDS: Final = (
    # The shared CimProperties object holds every WMI value outside the slots, and equal
    # values are the same object (model.shared_cim): compared and hashed by identity.
    "cim",
    *(spec.attr for spec in PROPERTIES if spec.attr not in ROW_SLOTS and spec.attr not in _CIM),
    "owner_status._value_",  # its value: an Enum member hashes in Python
    "created_before_start",
)
"""The values that decide a row's template besides the facts in :func:`row_kind`."""
SHAPE: Final = attrgetter(*SHAPE_FIELDS)
"""The :data:`SHAPE_FIELDS` of a row, in one C call."""


def row_kind(conn: TcpConnection) -> tuple[object, ...]:
    """Everything of ``conn`` its row's text depends on outside the template's slots."""
    return (SHAPE(conn), conn.owning_process is None, len(conn.holders),
            conn.creation_time is None)  # fmt: skip


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_NONE: Final = repeat(None)


def row_kinds(
    batch: Sequence[TcpConnection],
    pids: Iterable[int | None],
    holders: Iterable[tuple[int, ...]],
    created: Iterable[datetime | None],
) -> list[tuple[object, ...]]:
    """:func:`row_kind` of each of ``batch`` by C-level maps, from its columns of owning
    process, holders and creation time."""
    return list(
        zip(map(SHAPE, batch), map(is_, pids, _NONE), map(len, holders), map(is_, created, _NONE),
            strict=False)  # _NONE never ends
    )  # fmt: skip


def cached_column(cache: dict[K, V], keys: Sequence[K], make: Callable[[K], V]) -> list[V]:
    """``cache[key]`` for each of ``keys``, made once per distinct key (by C-level maps: a
    chunk's rows share few owners, times and namespaces)."""
    for key in set(keys).difference(cache):
        cache[key] = make(key)
    return list(map(cache.__getitem__, keys))
