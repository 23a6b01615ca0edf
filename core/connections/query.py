"""Filter expressions over connections, UI-free.

The TUI's ``/`` filter and ``--filter EXPR`` are defined here so they are tested without
Textual and shared by every consumer (the sort columns are in
:mod:`core.connections.sort_keys`). A query is words that AND together;
each word is ``[-]field:value[,value…]`` or free text:

- values separated by commas OR together: ``port:80,443``, ``state:est,listen``;
- quotes (``'…'`` or ``"…"``) make one value of what holds a space or comma:
  ``ns:"web a,b"`` (:mod:`core.connections.filter_words`);
- a leading ``-`` (or ``!``) negates the word: ``-state:listen``;
- ``state:`` takes the seed's State names, any unambiguous-or-not prefix (``est``, ``syn``),
  or the class's numbers (``5``);
- ``port:``/``lport:``/``rport:``/``pid:`` take numbers, ranges (``1024-65535``) and, for
  ports, /etc/services names (``https``);
- ``addr:``/``laddr:``/``raddr:`` take an address (its zone the interface's name or index:
  ``fe80::1%eth0``, ``fe80::1%3``), a CIDR block (``10.0.0.0/8``) or, when neither parses, a
  piece of the address text; ``proc:`` and ``user:`` a piece of the name;
- ``ns:`` takes a piece of a network namespace's name (``ip netns`` or container), its inode
  or ``current``; ``container:`` a piece of a container's name, id, pod or runtime;
- free text matches any column.

Names are matched as the table shows them (:func:`core.textsafe.printable`): a process named
with an ESC is found by ``proc:\x1b``, and a control character in the filter itself is taken
as that escape (:func:`core.textsafe.typed`). A backslash is text, not a shell escape.

Parsing raises nothing but :class:`QueryError`, whose message is one line fit for the UI.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from core.connections.filter_words import Word, lex
from core.connections.model import ProcessInfo, TcpConnection
from core.connections.namespaces import (
    NamespaceInfo,
    namespace_words,
)
from core.connections.records import address_test, endpoint_text
from core.connections.seed_tables import ENUMS
from core.connections.services import service_port
from core.textsafe import is_digits, printable, rquoted, typed

FILTER_KEYS: Final = (
    "state",
    "port",
    "lport",
    "rport",
    "addr",
    "laddr",
    "raddr",
    "pid",
    "proc",
    "user",
    "ns",
    "container",
)
"""The ``field:`` prefixes a filter word may use."""

FIELD_HELP: Final[dict[str, str]] = {
    "state": "State name, prefix or number: est, listen, timewait, 5",
    "port": "either end's port: 443, https, 1024-65535",
    "lport": "local port",
    "rport": "remote port",
    "addr": "either end's address: 10.0.0.5, 10.0.0.0/8, 2001:db8::/32",
    "laddr": "local address or CIDR",
    "raddr": "remote address or CIDR",
    "pid": "owning (or holding) process ID, ranges allowed",
    "proc": "process name contains",
    "user": "process user contains",
    "ns": "network namespace: ip netns or container name, inode, current",
    "container": "container name, id, pod or runtime (docker, podman, containerd…)",
}
"""One line per field, for completion and help."""

NEGATIONS: Final = ("-", "!")
MAX_PORT: Final = 65535
MAX_PID: Final = 0xFFFFFFFF
MAX_QUERY_CHARS: Final = 4096
"""Longest filter accepted (typed, saved in preferences or given on the command line): far
above any real filter, and it keeps a 200 MB "filter" from a preferences file out of memory."""

Match = Callable[[TcpConnection, ProcessInfo | None], bool]


EMPTY_WORD: Final = (
    "an empty filter word (quotes with nothing between them): "
    "put something between the quotes, or take them away"
)
"""Said of ``""`` or ``''`` in a filter: the word is empty (a quoted word is one word)."""


class QueryError(ValueError):
    """A filter the user typed cannot be understood (one line, shown in the UI)."""


@dataclass(frozen=True, slots=True)
class Token:
    """One filter word: a field (``None`` = free text), its values, whether it is negated."""

    key: str | None
    values: tuple[str, ...]
    negated: bool
    test: Match = field(compare=False, repr=False)
    """True when a connection matches any of the values (before negation)."""
    ns_test: Callable[[NamespaceInfo | None], bool] | None = field(
        default=None, compare=False, repr=False
    )
    """For ``ns:``/``container:``: the test of the connection's namespace instead."""

    @property
    def value(self) -> str:
        """The values as typed, comma-joined."""
        return ",".join(self.values)


def state_name(state: int) -> str:
    """The seed's name of a State value (``Established``...)."""
    return ENUMS["State"].decode(state).name


# --- value parsers: each turns one comma item into a predicate ---------------------------


def _states(key: str, item: str) -> frozenset[int]:
    """The States ``item`` names: a name prefix, or the class's number (``5``: Established,
    as ``connections --state 5`` and WMI output give it; ASCII digits only)."""
    table = ENUMS["State"]
    if is_digits(item):
        found_value = table.find(int(item)) if len(item) <= 3 else None  # a uint8
        if found_value is None:
            numbers = ", ".join(str(int(v.value)) for v in table.every)
            raise QueryError(f"{key}:{item} is no State value (one of {numbers})")
        return frozenset({int(found_value.value)})
    found = table.by_prefix(item)
    if not found:
        names = ", ".join(v.name for v in ENUMS["State"].every)
        raise QueryError(f"{key}:{item} matches no State (one of {names})")
    return frozenset(int(v.value) for v in found)


def _number(key: str, text: str, top: int) -> int:
    if not is_digits(text):
        raise QueryError(f"{key}: needs a number or a range like 1024-65535, got {rquoted(text)}")
    number = int(text, 10)
    if number > top:
        raise QueryError(f"{key}: {number} is out of range 0-{top}")
    return number


def _range(key: str, item: str, top: int, names: bool) -> tuple[int, int]:
    """``80``, ``https`` (ports) or ``1024-65535`` as an inclusive (low, high)."""
    if names:
        named = service_port(item)
        if named is not None:
            return named, named
    low, sep, high = item.partition("-")
    if not sep:
        if names and not is_digits(item):
            raise QueryError(f"{key}: {rquoted(item)} is neither a port number nor a service name")
        number = _number(key, item, top)
        return number, number
    if not (is_digits(low) and is_digits(high)):  # quote what was typed: `pid:-5`, not ''
        raise QueryError(f"{key}: needs a number or a range like 1024-65535, got {rquoted(item)}")
    lo, hi = _number(key, low, top), _number(key, high, top)
    if lo > hi:
        raise QueryError(f"{key}: range {item} runs backwards (write {hi}-{lo})")
    return lo, hi


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_PARSED: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None] = {}
"""Parsed addresses by text: a re-filter at 50k rows meets the same few addresses again."""


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return _PARSED[text]
    except KeyError:
        pass
    if len(_PARSED) > 65536:
        _PARSED.clear()
    try:
        parsed: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(text)
    except ValueError:
        parsed = None
    _PARSED[text] = parsed
    return parsed


_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")


def _network(key: str, item: str) -> _Network:
    """A CIDR block; an IPv4-mapped one (``::ffff:0:0/96``) as the IPv4 block it maps."""
    try:
        net: _Network = ipaddress.ip_network(item, strict=False)
    except ValueError:
        raise QueryError(f"{key}: {rquoted(item)} is not a CIDR block like 10.0.0.0/8") from None
    if isinstance(net, ipaddress.IPv6Network) and net.subnet_of(_MAPPED):
        base = net.network_address.ipv4_mapped
        return ipaddress.IPv4Network(f"{base}/{net.prefixlen - 96}")
    return net


def _address_test(key: str, item: str) -> Callable[[str, str], bool]:
    """A test on one address text and its row's InstanceID: CIDR membership, equality (a
    numeric zone, ``fe80::1%3``, is the interface index the InstanceID carries), or a piece
    of the text."""
    if "/" in item:
        net = _network(key, item)

        def in_net(address: str, iid: str) -> bool:
            ip = _ip(address)
            return ip is not None and ip.version == net.version and ip in net

        return in_net
    try:
        return address_test(item)
    except ValueError:
        piece = item.casefold()
        return lambda address, iid: piece in address.casefold()


def _any(tests: list[Callable[[str, str], bool]]) -> Callable[[str, str], bool]:
    if len(tests) == 1:
        return tests[0]
    return lambda text, iid: any(t(text, iid) for t in tests)


def _in_ranges(ranges: list[tuple[int, int]]) -> Callable[[int | None], bool]:
    if all(lo == hi for lo, hi in ranges):
        exact = frozenset(lo for lo, _ in ranges)
        return lambda n: n in exact
    return lambda n: n is not None and any(lo <= n <= hi for lo, hi in ranges)


def _field_test(key: str, items: tuple[str, ...]) -> Match:
    if key == "state":
        states: frozenset[int] = frozenset().union(*(_states(key, i) for i in items))
        return lambda c, p: int(c.state) in states
    if key in ("port", "lport", "rport"):
        ports = _in_ranges([_range(key, i, MAX_PORT, names=True) for i in items])
        if key == "lport":
            return lambda c, p: ports(c.local_port)
        if key == "rport":
            return lambda c, p: ports(c.remote_port)
        return lambda c, p: ports(c.local_port) or ports(c.remote_port)
    if key == "pid":
        pids = _in_ranges([_range(key, i, MAX_PID, names=False) for i in items])
        # Any holder: OwningProcess is the lowest of them, and a forked server's children
        # hold its sockets too (pid:CHILD found none of them).
        return lambda c, p: pids(c.owning_process) or any(map(pids, c.holders))
    if key in ("addr", "laddr", "raddr"):
        address = _any([_address_test(key, i) for i in items])
        if key == "laddr":
            return lambda c, p: address(c.local_address, c.instance_id)
        if key == "raddr":
            return lambda c, p: address(c.remote_address, c.instance_id)
        return lambda c, p: (
            address(c.local_address, c.instance_id) or address(c.remote_address, c.instance_id)
        )
    pieces = tuple(i.casefold() for i in items)
    attr = "name" if key == "proc" else "username"

    def named(c: TcpConnection, p: ProcessInfo | None) -> bool:
        text = printable(getattr(p, attr) or "").casefold() if p is not None else ""
        return p is not None and any(piece in text for piece in pieces)

    return named


def namespace_test(key: str, items: tuple[str, ...]) -> Callable[[NamespaceInfo | None], bool]:
    """Whether a namespace answers to any of ``items`` (pieces of its names or labels)."""
    pieces = tuple(i.casefold() for i in items)
    only_container = key == "container"

    def in_namespace(ns: NamespaceInfo | None) -> bool:
        text = namespace_words(ns, only_container) if ns is not None else ""
        return any(piece in text for piece in pieces)

    return in_namespace


def _items(key: str | None, text: str, items: tuple[str, ...]) -> tuple[str, ...]:
    if any(not i for i in items):
        where = f"{key}:" if key else ""
        raise QueryError(f"{where}{text}: empty value between commas")
    return items


def parse_token(word: Word | str) -> Token:
    """One word: ``[-]field:value[,value…]`` or ``[-]text``; a ``str`` is one word whose
    every comma separates values (a :class:`Word` knows which were quoted).

    Raises:
        QueryError: unknown field, empty value, bad number, range, CIDR or state name.
    """
    if isinstance(word, str):
        word = Word(tuple(word.split(",")))
    text = word.text
    if not text:  # ``""`` or ``''``: told it "needs something to negate", of no ``-`` typed
        raise QueryError(EMPTY_WORD)
    negated = text[:1] in NEGATIONS
    body = text[1:] if negated else text
    parts = (word.parts[0][1:] if negated else word.parts[0], *word.parts[1:])
    if not body:
        raise QueryError(f"'{text}' needs something to negate")
    key, sep, value = body.partition(":")
    key = key.lower()
    if not sep or key not in FILTER_KEYS:
        if sep and key.isalpha() and "." not in body:
            # "foo:bar" with an unknown field is more likely a typo than an address.
            raise QueryError(f"unknown field {rquoted(key)}; fields: {', '.join(FILTER_KEYS)}")
        items = tuple(i.casefold() for i in _items(None, body, parts))
        return Token(None, items, negated, lambda c, p: _free(items, c, p))
    if not value:
        raise QueryError(f"{key}: needs a value ({FIELD_HELP[key]})")
    # The key has no comma: it is all in the first part, before its first colon.
    items = _items(key, value, (parts[0].partition(":")[2], *parts[1:]))
    if key in ("ns", "container"):
        return Token(key, items, negated, lambda c, p: False, namespace_test(key, items))
    return Token(key, items, negated, _field_test(key, items))


def split_words(text: str) -> list[str]:
    """The words of a filter line, quotes taken off (quotes group words; an unbalanced quote
    is text).

    A backslash stays in the word: it starts the escapes names are shown (and matched) with,
    ``proc:\x1b``, where :func:`shlex.split` would have dropped it."""
    return [w.text for w in lex(text)]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: words that all have to match (an empty query matches everything)."""

    text: str
    tokens: tuple[Token, ...]

    @property
    def empty(self) -> bool:
        """True when the query keeps every connection."""
        return not self.tokens

    def matches(
        self, conn: TcpConnection, proc: ProcessInfo | None, ns: NamespaceInfo | None = None
    ) -> bool:
        """True when ``conn`` (owned by ``proc``, in namespace ``ns``) passes every word."""
        return all(
            (t.test(conn, proc) if t.ns_test is None else t.ns_test(ns)) != t.negated
            for t in self.tokens
        )

    def named_states(self) -> frozenset[int]:
        """The States its ``state:`` words ask for (not the negated ones): ``close`` closes
        listeners only when asked by name."""
        named: set[int] = set()
        for t in self.tokens:
            if t.key == "state" and not t.negated:
                for item in t.values:
                    named |= _states("state", item)
        return frozenset(named)

    def named_pids(self) -> frozenset[int]:
        """The single PIDs its ``pid:`` words ask for (not ranges, not the negated ones):
        ``pid:0`` is told that Linux gives no socket PID 0."""
        named: set[int] = set()
        for t in self.tokens:
            if t.key == "pid" and not t.negated:
                for item in t.values:
                    low, high = _range("pid", item, MAX_PID, names=False)
                    if low == high:
                        named.add(low)
        return frozenset(named)


def parse_query(text: str) -> Query:
    """Parse a whole filter line.

    Its text is kept as :func:`core.textsafe.typed` makes it (control characters escaped): the
    form that is shown, put back in the input and saved, and that matches the escaped names.

    Raises:
        QueryError: one of its words is invalid, or the line is longer than MAX_QUERY_CHARS.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"filter longer than {MAX_QUERY_CHARS} characters")
    text = typed(text)
    return Query(text.strip(), tuple(parse_token(word) for word in lex(text)))


EMPTY_QUERY: Final = Query("", ())


def filter_argument(text: str) -> str:
    """An argparse type for ``--filter EXPR``: the expression, or the parse error as usage."""
    try:
        return parse_query(text).text
    except QueryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _free_text(conn: TcpConnection, proc: ProcessInfo | None) -> str:
    parts = [
        state_name(conn.state),
        endpoint_text(conn.local_address, conn.local_port),
        endpoint_text(conn.remote_address, conn.remote_port),
        "" if conn.owning_process is None else str(conn.owning_process),
    ]
    if proc is not None:
        parts.extend((printable(proc.name or ""), printable(proc.username or "")))
    if conn.offload_state is not None:
        parts.append(ENUMS["OffloadState"].decode(conn.offload_state).name)
    if conn.applied_setting is not None:
        parts.append(ENUMS["AppliedSetting"].decode(conn.applied_setting).name)
    return "\n".join(parts).casefold()


def _free(items: tuple[str, ...], conn: TcpConnection, proc: ProcessInfo | None) -> bool:
    text = _free_text(conn, proc)
    return any(item in text for item in items)
