"""Sort keys over connections, one per column of the table, UI-free.

Why here and not in the UI: the table, its row index, the first page of a sample and the
tests order rows the same way. Sort keys are total orders: a primary value, then the ports
and InstanceID, so sorting is stable and deterministic across refreshes. State sorts by the
seed's numeric value.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Final

from core.connections.model import ProcessInfo, TcpConnection
from core.connections.services import connection_service

SortKey = tuple[object, ...]
RowKey = Callable[[TcpConnection], SortKey]

_PACKED: dict[str, bytes] = {}
"""Packed addresses by text: at 50k rows the same few addresses repeat on every re-sort."""


def _pack(address: str) -> bytes:
    try:
        if ":" in address:
            return b"\x06" + socket.inet_pton(socket.AF_INET6, address)
        return b"\x04" + socket.inet_pton(socket.AF_INET, address)
    except OSError:
        return b"\xff" + address.encode("utf-8", "replace")


def _packed(address: str) -> bytes:
    """Addresses sort numerically (10.0.0.2 before 10.0.0.10), IPv4 before IPv6."""
    packed = _PACKED.get(address)
    if packed is None:
        if len(_PACKED) > 65536:
            _PACKED.clear()
        packed = _PACKED[address] = _pack(address)
    return packed


def _created(conn: TcpConnection) -> float:
    # Ascending age = youngest first: a later creation time is a smaller age, so negate.
    t = conn.creation_time
    return -t.timestamp() if t is not None else float("inf")


_NO_PROC: Final = "\uffff"
"""Rows without a known process sort after every name."""


def _by_pid(processes: Mapping[int, ProcessInfo], field: str) -> dict[int | None, str]:
    return {pid: (getattr(p, field) or "").casefold() for pid, p in processes.items()}


def _row_key(column: str, processes: Mapping[int, ProcessInfo]) -> RowKey:
    # One flat function per column, no nested calls: a re-sort computes 50k of these.
    if column == "state":
        return lambda c: (int(c.state), c.local_port, c.remote_port, c.instance_id)
    cached = _PACKED.get  # one C call per row once an address has been seen
    if column == "local":
        return lambda c: (
            cached(c.local_address) or _packed(c.local_address),
            c.local_port,
            c.remote_port,
            c.instance_id,
        )
    if column == "remote":
        return lambda c: (
            cached(c.remote_address) or _packed(c.remote_address),
            c.remote_port,
            c.local_port,
            c.instance_id,
        )
    if column == "pid":
        return lambda c: (
            -1 if c.owning_process is None else c.owning_process,
            c.local_port,
            c.remote_port,
            c.instance_id,
        )
    if column in ("process", "user"):
        names = _by_pid(processes, "name" if column == "process" else "username")
        get = names.get
        return lambda c: (
            get(c.owning_process, _NO_PROC),
            c.local_port,
            c.remote_port,
            c.instance_id,
        )
    if column == "offload":
        return lambda c: (
            -1 if c.offload_state is None else c.offload_state,
            c.local_port,
            c.remote_port,
            c.instance_id,
        )
    if column == "applied":
        return lambda c: (
            -1 if c.applied_setting is None else c.applied_setting,
            c.local_port,
            c.remote_port,
            c.instance_id,
        )
    if column == "age":
        return lambda c: (_created(c), c.local_port, c.remote_port, c.instance_id)
    if column == "service":
        return lambda c: (
            connection_service(c.local_port, c.remote_port) or _NO_PROC,
            c.local_port,
            c.remote_port,
            c.instance_id,
        )
    raise KeyError(column)


SORT_COLUMNS: Final = (
    "state",
    "local",
    "remote",
    "pid",
    "process",
    "service",
    "offload",
    "applied",
    "user",
    "age",
)
"""Columns the table can sort by, left to right as the table shows them (``s`` and ``>``
move to the next, ``<`` to the previous)."""

NEEDS_PROCESS: Final = frozenset({"process", "user"})
"""Sort columns whose key reads the owning process records."""


def key_func(column: str, processes: Mapping[int, ProcessInfo] | None = None) -> RowKey:
    """The key function of ``column`` for rows owned by ``processes``.

    Keys are total orders: the column's value, then the ports, then the InstanceID. For
    ``process``/``user`` the names are looked up once per PID here, not once per row.

    Raises:
        KeyError: ``column`` is not in :data:`SORT_COLUMNS`.
    """
    return _row_key(column, processes or {})


def sort_key(column: str, conn: TcpConnection, proc: ProcessInfo | None) -> SortKey:
    """The key of one row (convenience for tests and one-off sorts)."""
    processes = {proc.pid: proc} if proc is not None else {}
    return _row_key(column, processes)(conn)
