"""Filter expressions and sort keys over connections, UI-free.

The TUI's ``/`` filter and its sort columns are defined here so they can be tested without
Textual and reused by any other consumer. A query is a list of tokens that AND together:
free text matches any column; ``key:value`` narrows one field (``state:`` by the seed's State
names, prefix allowed; ``port:`` either end; ``lport:``/``rport:``; ``pid:``; ``proc:``;
``addr:``; ``user:``; ``ns:`` namespace name or inode; ``container:`` container name, id,
pod or runtime); a leading ``!`` negates a token. Parsing never raises anything but
:class:`QueryError`, whose message is one line fit for the UI.

Sort keys are total orders: a primary value, then the connection's ports and InstanceID, so
sorting is stable and deterministic across refreshes. State sorts by the seed's numeric value.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from core.connections.model import ProcessInfo, TcpConnection, TcpState
from core.connections.namespaces import NamespaceInfo, namespace_words
from core.connections.seed_tables import ENUMS

FILTER_KEYS: Final = (
    "state",
    "port",
    "lport",
    "rport",
    "pid",
    "proc",
    "addr",
    "user",
    "ns",
    "container",
)
"""The ``key:`` prefixes a filter token may use."""


class QueryError(ValueError):
    """A filter the user typed cannot be understood (one line, shown in the UI)."""


@dataclass(frozen=True, slots=True)
class Token:
    """One filter token: a field (``None`` = free text), its value, and whether it is negated."""

    key: str | None
    value: str
    negated: bool = False
    states: frozenset[int] = frozenset()
    """For ``state:`` tokens: the seed State values the prefix matched."""
    number: int | None = None
    """For numeric keys (ports, pid): the parsed number."""


def state_name(state: int) -> str:
    """The seed's name of a State value (``Established``...)."""
    return ENUMS["State"].decode(state).name


def _state_token(value: str, negated: bool) -> Token:
    found = ENUMS["State"].by_prefix(value)
    if not found:
        names = ", ".join(v.name for v in ENUMS["State"].values)
        raise QueryError(f"state:{value} matches no State (one of {names})")
    states = frozenset(int(v.value) for v in found)
    return Token("state", value, negated, states=states)


def _number_token(key: str, value: str, negated: bool) -> Token:
    try:
        number = int(value, 10)
    except ValueError:
        raise QueryError(f"{key}: needs a number, got {value!r}") from None
    if number < 0:
        raise QueryError(f"{key}: needs a non-negative number, got {number}")
    return Token(key, value, negated, number=number)


def parse_token(text: str) -> Token:
    """One token: ``[!]key:value`` or ``[!]text``.

    Raises:
        QueryError: unknown key, empty value, bad number or a state prefix matching nothing.
    """
    negated = text.startswith("!")
    body = text[1:] if negated else text
    if not body:
        raise QueryError("'!' needs something to negate")
    key, sep, value = body.partition(":")
    key = key.lower()
    if not sep or key not in FILTER_KEYS:
        if sep and key.isalpha() and key not in FILTER_KEYS and "." not in body:
            # "foo:bar" with an unknown key is more likely a typo than an address.
            raise QueryError(f"unknown filter key {key!r}; keys: {', '.join(FILTER_KEYS)}")
        return Token(None, body.casefold(), negated)
    if not value:
        raise QueryError(f"{key}: needs a value")
    if key == "state":
        return _state_token(value, negated)
    if key in ("port", "lport", "rport", "pid"):
        return _number_token(key, value, negated)
    return Token(key, value.casefold(), negated)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        # An unbalanced quote: fall back to plain words rather than refusing the filter.
        return text.split()


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: tokens that all have to match (an empty query matches everything)."""

    text: str
    tokens: tuple[Token, ...]

    @property
    def empty(self) -> bool:
        """True when the query keeps every connection."""
        return not self.tokens

    def matches(
        self, conn: TcpConnection, proc: ProcessInfo | None, ns: NamespaceInfo | None = None
    ) -> bool:
        """True when ``conn`` (owned by ``proc``, in namespace ``ns``) passes every token."""
        return all(_match(t, conn, proc, ns) != t.negated for t in self.tokens)


def parse_query(text: str) -> Query:
    """Parse a whole filter line.

    Raises:
        QueryError: one of its tokens is invalid.
    """
    return Query(text.strip(), tuple(parse_token(word) for word in _split(text)))


EMPTY_QUERY: Final = Query("", ())


def _address(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _free_text(conn: TcpConnection, proc: ProcessInfo | None) -> str:
    parts = [
        state_name(conn.state),
        _address(conn.local_address, conn.local_port),
        _address(conn.remote_address, conn.remote_port),
        "" if conn.owning_process is None else str(conn.owning_process),
    ]
    if proc is not None:
        parts.extend((proc.name or "", proc.username or ""))
    if conn.offload_state is not None:
        parts.append(ENUMS["OffloadState"].decode(conn.offload_state).name)
    if conn.applied_setting is not None:
        parts.append(ENUMS["AppliedSetting"].decode(conn.applied_setting).name)
    return "\n".join(parts).casefold()


def _match(
    token: Token, conn: TcpConnection, proc: ProcessInfo | None, ns: NamespaceInfo | None
) -> bool:
    key = token.key
    if key is None:
        return token.value in _free_text(conn, proc)
    if key == "state":
        return int(conn.state) in token.states
    if key == "port":
        return token.number in (conn.local_port, conn.remote_port)
    if key == "lport":
        return conn.local_port == token.number
    if key == "rport":
        return conn.remote_port == token.number
    if key == "pid":
        return conn.owning_process == token.number
    if key == "addr":
        return token.value in conn.local_address.casefold() or (
            token.value in conn.remote_address.casefold()
        )
    if key == "proc":
        return proc is not None and token.value in (proc.name or "").casefold()
    if key in ("ns", "container"):
        return ns is not None and token.value in namespace_words(ns, key == "container")
    # user:
    return proc is not None and token.value in (proc.username or "").casefold()


# --- sorting ----------------------------------------------------------------------------

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
    raise KeyError(column)


SORT_COLUMNS: Final = (
    "state",
    "local",
    "remote",
    "pid",
    "process",
    "user",
    "offload",
    "applied",
    "age",
)
"""Columns the table can sort by, in the order ``s`` cycles through them."""

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


def count_states(conns: Mapping[str, TcpConnection]) -> dict[TcpState, int]:
    """How many connections are in each State."""
    counts: dict[TcpState, int] = {}
    for conn in conns.values():
        counts[conn.state] = counts.get(conn.state, 0) + 1
    return counts
