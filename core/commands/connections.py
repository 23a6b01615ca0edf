"""``tcpscope connections``: one sample, filtered like Get-NetTCPConnection, printed.

The filter options carry Get-NetTCPConnection's parameter names so a Windows admin finds
them where they expect. No Textual import on this path.
"""

from __future__ import annotations

import argparse
import gc
import os
import stat
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import repeat
from operator import add, attrgetter, is_, mul
from typing import IO, TYPE_CHECKING, Final, TypeVar, cast

from core.commands.arg_types import AllWords, non_empty, whole_between
from core.given import Once
from core.netns import ALL_NETNS, DEFAULT_NETNS, add_netns_argument
from core.textsafe import is_digits, rquoted

if TYPE_CHECKING:
    from core.connections import Endpoints, NamespaceView, ProcessInfo, Snapshot, TcpConnection
    from core.remote import RemoteTarget

E = TypeVar("E", bound="Endpoints")

SOURCE_CHOICES: Final = ("auto", "netlink", "psutil")
PSUTIL_OWN_NAMESPACE: Final = (
    "only this network namespace was read: other namespaces need the netlink source"
)
_LOCAL_ADDRESS: Final = attrgetter("local_address")
_LOCAL_PORT: Final = attrgetter("local_port")
_REMOTE_ADDRESS: Final = attrgetter("remote_address")
_REMOTE_PORT: Final = attrgetter("remote_port")
_PORTS: Final = 65536
_SOURCE_VALUE_FILTERS: Final = (
    ("--offload-state", "offload_state", "OffloadState"),
    ("--applied-setting", "applied_setting", "AppliedSetting"),
)
"""Filters on a value the source may never give (not reported, or derived as one value)."""


port = whole_between(0, 65535, "port")
"""An argparse type: a TCP port 0–65535 (ASCII digits only)."""
pid = whole_between(0, 0xFFFFFFFF, "process ID")
"""An argparse type: a process ID (uint32)."""


def enum_value(prop: str) -> Callable[[str], int]:
    """An argparse type: a seed enum name (case-insensitive) or number for ``prop``."""

    def parse(text: str) -> int:
        from core.connections import ENUMS

        table = ENUMS[prop]
        found = table.by_name(text)
        if found is not None:
            return int(found.value)
        if is_digits(text) and any(v.value == int(text) for v in table.every):
            return int(text)
        names = ", ".join(v.name for v in table.every)
        raise argparse.ArgumentTypeError(f"unknown {prop} {rquoted(text)} (one of: {names})")

    return parse


def prestart(words: Sequence[str]) -> Callable[[], None] | None:
    """Start the owner scan (the /proc fd scan, core.connections.sources.fd_scan) before the
    command line is parsed and the sampling code imported: ~50 ms more of it runs on the
    other core while this one imports. Returns what stops it (for a command line that fails).

    A guess from the raw words: a run it guessed wrong (``--source psutil``, ``--remote``)
    stops the scan unused, one that uses it adopts it (:func:`run`).
    """
    if sys.platform != "linux" or any(
        word.startswith("--remote") or word in ("psutil", "--source=psutil") for word in words
    ):
        return None
    from core.connections import cancel_owner_scan, start_owner_scan

    start_owner_scan()
    return cancel_owner_scan


def state_names() -> dict[int, str]:
    """State value → the seed's name, Bound included, for the table and ``close``'s lines."""
    from core.connections import ENUMS

    return {int(v.value): v.name for v in ENUMS["State"].every}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tcpscope connections``."""
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON array, WMI property names")
    out.add_argument("--csv", action="store_true", help="CSV, WMI property names as header")
    add_filter_arguments(parser)
    add_netns_argument(parser, default=argparse.SUPPRESS, command=True)


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The filters of ``tcpscope connections``; ``tcpscope close`` takes the same."""
    parser.add_argument(
        "--state",
        action="append",
        type=enum_value("State"),
        metavar="NAME",
        help="seed State name (any case) or number, e.g. Established, TimeWait, 5 (repeatable)",
    )
    parser.add_argument(
        "--local-address",
        action=Once,
        type=address("--local-address"),
        metavar="ADDR",
        help="this local IPv4 or IPv6 address (fe80::1%%eth0: on that link only)",
    )
    parser.add_argument(
        "--local-port", action=Once, type=port, metavar="PORT", help="this local port"
    )
    parser.add_argument(
        "--remote-address",
        action=Once,
        type=address("--remote-address"),
        metavar="ADDR",
        help="this remote (peer) IPv4 or IPv6 address",
    )
    parser.add_argument(
        "--remote-port", action=Once, type=port, metavar="PORT", help="this remote port"
    )
    parser.add_argument(
        "--owning-process",
        action=Once,
        type=pid,
        metavar="PID",
        help="sockets held by the process with this PID",
    )
    parser.add_argument(
        "--offload-state",
        action=Once,
        type=enum_value("OffloadState"),
        metavar="NAME",
        help="seed OffloadState name or number (Linux: always InHost)",
    )
    parser.add_argument(
        "--applied-setting",
        action=Once,
        type=enum_value("AppliedSetting"),
        metavar="NAME",
        help="seed AppliedSetting name or number (Linux reports none: no rows)",
    )
    parser.add_argument(
        "--filter",
        dest="conn_filter",
        type=_filter,
        action=AllWords,
        metavar="EXPR",
        help="the TUI's filter language, e.g. 'state:est,listen -port:22 addr:10.0.0.0/8' "
        "(repeated: all of them)",
    )
    # SUPPRESS: without it this default would overwrite a top-level --source; "after": given
    # there too, it is refused (core.commands.arg_types.BEFORE_AND_AFTER).
    parser.add_argument(
        "--source",
        action=Once,
        marker="after",
        choices=SOURCE_CHOICES,
        default=argparse.SUPPRESS,
        help="where connections come from (as the global --source)",
    )


def _filter(text: str) -> str:
    """``--filter EXPR`` (core.connections.query, imported only when a filter is given)."""
    from core.connections import filter_argument

    return filter_argument(text)


def has_filter(args: argparse.Namespace) -> bool:
    """Whether any filter of :func:`add_filter_arguments` was given (``--source`` is none)."""
    scratch = argparse.ArgumentParser(add_help=False)
    add_filter_arguments(scratch)
    defaults = vars(scratch.parse_args([]))
    given = (getattr(args, name, default) for name, default in defaults.items() if name != "source")
    return any(value not in (None, "", []) for value in given)


def address(what: str) -> Callable[[str], str]:
    """An argparse type: an IP address as ``--local-address`` matches it (a zone allowed),
    refused at parsing like every other option's value, not after a whole sample."""
    given = non_empty(what)

    def parse(text: str) -> str:
        _address_test(given(text))
        return text

    return parse


def _address_test(text: str | None) -> Callable[[str, str], bool] | None:
    if text is None:
        return None
    from core.connections import address_test

    try:
        return address_test(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {rquoted(text)}") from None


def filter_expression(args: argparse.Namespace) -> str:
    """Every ``--filter`` given, before the subcommand and after it: their words AND."""
    given = (getattr(args, "filter", None), getattr(args, "conn_filter", None))
    return " ".join(text for text in given if text)


def select(
    conns: Collection[TcpConnection],
    args: argparse.Namespace,
    processes: Mapping[int, ProcessInfo] | None = None,
    namespaces: NamespaceView | None = None,
    in_order: list[TcpConnection] | None = None,
) -> list[TcpConnection]:
    """The connections matching every given filter, sorted by local then remote endpoint.

    ``processes`` (by PID) lets ``--filter`` match ``proc:`` and ``user:`` words,
    ``namespaces`` its ``ns:`` and ``container:`` words. ``in_order``: the same records as
    ``conns``, already sorted (:class:`EarlyOrder`).
    """
    from core.connections import namespace_in

    local = _address_test(args.local_address)
    remote = _address_test(args.remote_address)
    states = set(args.state or ())
    expression = filter_expression(args)
    matches = None
    if expression:  # the query language is imported only for a filter
        from core.connections import parse_query

        query = parse_query(expression)
        matches = None if query.empty else query.matches
    owners = processes or {}

    def keep(c: TcpConnection) -> bool:
        return (
            (not states or int(c.state) in states)
            and (local is None or local(c.local_address, c.instance_id))
            and (args.local_port is None or c.local_port == args.local_port)
            and (remote is None or remote(c.remote_address, c.instance_id))
            and (args.remote_port is None or c.remote_port == args.remote_port)
            and (args.owning_process is None or c.owning_process == args.owning_process)
            and (args.offload_state is None or c.offload_state == args.offload_state)
            and (args.applied_setting is None or c.applied_setting == args.applied_setting)
            and (
                matches is None
                or matches(
                    c,
                    owners.get(c.owning_process or -1),
                    namespace_in(c.netns, namespaces) if namespaces is not None else None,
                )
            )
        )

    filters = (local, remote, args.local_port, args.remote_port, args.owning_process,
               args.offload_state, args.applied_setting)  # fmt: skip
    given = conns if in_order is None else in_order
    rows = (
        [c for c in given if keep(c)]
        if states or matches is not None or any(f is not None for f in filters)
        else [*given]
    )
    return by_endpoints(rows) if in_order is None else rows


def filter_notes(args: argparse.Namespace, snap: Snapshot) -> list[str]:
    """Why a filter matches nothing because of the source, not the host: ``--applied-setting``
    where AppliedSetting is never reported, ``--offload-state Offloaded`` where every
    connection is derived InHost; an ``ns:``/``container:`` word no namespace read answers to
    (a typo, or a label of a namespace not chosen by ``--netns``); PID 0 (Windows' owner of
    the kernel's sockets) asked of Linux, which gives them no PID. Said (as a note, the run
    still succeeds: the answer is "none") so an empty table is not read as "no such
    connection right now".

    Each check imports what it needs only when its option or word was given: a run without
    filters (the common one-shot) loads none of it (the query language alone is ~7 ms)."""
    notes = []
    for option, attr, wmi in _SOURCE_VALUE_FILTERS:
        wanted = getattr(args, attr, None)
        if wanted is None:
            continue
        from core.connections import ENUMS, Provenance, property_rule

        rule = property_rule(snap.source, wmi)
        if rule.provenance is Provenance.REPORTED:
            continue
        if any(getattr(c, attr) == wanted for c in snap.connections.values()):
            continue
        name = ENUMS[wmi].decode(wanted).name
        notes.append(
            f"{option} {name} matches no connection: {wmi} is {rule.provenance.value} "
            f"by the {snap.source} source ({rule.text})"
        )
    asked = _never_on_linux_asked(args, snap)
    if asked is not None:
        from core.connections import NEVER_ON_LINUX

        notes.append(f"{asked} matches no connection: {NEVER_ON_LINUX}")
    asked = _pid_zero_asked(args)
    if asked is not None:
        from core.connections import pid_zero_miss

        conns = snap.connections.values()
        note = pid_zero_miss(asked, snap.source, conns, time_wait="--state TimeWait")
        notes.extend(() if note is None else (note,))
    expression = filter_expression(args)
    if "ns:" in expression.casefold() or "container:" in expression.casefold():
        from core.connections import namespace_misses, parse_query

        query = parse_query(expression)
        notes.extend(namespace_misses(query, snap.namespaces, snap.source).lines)
    return notes


def _never_on_linux_asked(args: argparse.Namespace, snap: Snapshot) -> str | None:
    """How ``--state`` or a ``--filter`` ``state:`` word asked for DeleteTCB of a Linux host,
    which never gives it (only Windows, through psutil, does): the netlink source, or psutil
    here on Linux; None when neither asked, or a connection is in it."""
    from core.connections import TcpState

    wanted = int(TcpState.DELETE_TCB)
    expression = filter_expression(args)
    if wanted in set(args.state or ()):
        asked = "--state DeleteTCB"
    elif not expression:
        return None
    else:
        from core.connections import parse_query  # the query language: only for a filter

        if wanted not in parse_query(expression).named_states():
            return None
        asked = "--filter state:DeleteTCB"
    from core.connections import linux_source

    if not linux_source(snap.source) or any(
        c.state is TcpState.DELETE_TCB for c in snap.connections.values()
    ):
        return None
    return asked


def _pid_zero_asked(args: argparse.Namespace) -> str | None:
    """How ``--owning-process 0`` or a ``--filter`` ``pid:0`` word asked for PID 0, which
    Windows gives the kernel's sockets and Linux none (:func:`pid_zero_miss` says so)."""
    if args.owning_process == 0:
        return "--owning-process 0"
    expression = filter_expression(args)
    if "pid:" not in expression.casefold():  # the query language only for such a word
        return None
    from core.connections import parse_query

    return "--filter pid:0" if 0 in parse_query(expression).named_pids() else None


class EarlyOrder:
    """The output's order, worked out from the records while their owners load.

    Why: sorting 50k rows by endpoints takes 30-40 ms. A one-shot's source waits for its
    owner scan after building its records (core.connections.sources.base.OwnersWait); sorted
    then, the rows cost the scan's end half of that (the scan shares the two cores), and
    nothing after it. Filtering sorted rows keeps them sorted.
    """

    def __init__(self) -> None:
        self._started: list[Endpoints] = []
        self._rows: list[Endpoints] | None = None

    def __call__(self, started: Sequence[Endpoints]) -> None:
        """Sort the records being built (they become the sample's records in place)."""
        self._started = list(started)
        self._rows = by_endpoints(self._started)

    def of(self, conns: Mapping[str, TcpConnection]) -> list[TcpConnection] | None:
        """The sorted rows when they are exactly ``conns``'s records (the same objects): a
        record replaced before the sample ended, or a source that never called, gives None.

        Compared in the order they were built, which a first sample stores them in: one
        pass in memory order (in sorted order, lookups by InstanceID took 19 ms at 50k).
        Another order only costs the sort after all.
        """
        if self._rows is None or len(self._started) != len(conns):
            return None
        if not all(map(is_, self._started, conns.values())):
            return None
        return cast("list[TcpConnection]", self._rows)


def by_endpoints(rows: list[E]) -> list[E]:
    """``rows`` sorted by (local address, local port, remote address, remote port), the
    output's order; equal endpoints keep their order.

    Why not a tuple key: at 50k rows comparing tuples was 55-80 ms of a one-shot. Each row's
    key here is one int, made by C-level maps: the rank of its local address among all the
    addresses' texts, its local port, the rank of its remote address, its remote port, as
    digits of mixed radix, so the ints sort as the tuples would (35-50 ms, measured).
    """
    local = list(map(_LOCAL_ADDRESS, rows))
    remote = list(map(_REMOTE_ADDRESS, rows))
    texts = sorted({*local, *remote})
    rank = dict(zip(texts, range(len(texts)), strict=True)).__getitem__
    key: Iterator[int] = map(mul, map(rank, local), repeat(_PORTS))
    key = map(mul, map(add, key, map(_LOCAL_PORT, rows)), repeat(len(texts)))
    key = map(mul, map(add, key, map(rank, remote)), repeat(_PORTS))
    keys = list(map(add, key, map(_REMOTE_PORT, rows)))
    return list(map(rows.__getitem__, sorted(range(len(rows)), key=keys.__getitem__)))


class _TextSink:
    """Bytes into a text stream that has no binary buffer (a redirected ``sys.stdout``)."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text

    def write(self, data: bytes) -> int:
        return self._text.write(data.decode("utf-8", "replace"))

    def flush(self) -> None:
        self._text.flush()


PIPE_SIZE: Final = 1 << 20
"""The pipe buffer asked for under a large output (Linux's default cap for any user)."""
_F_SETPIPE_SZ: Final = 1031


def widen_pipe(out: IO[bytes]) -> None:
    """Give a pipe under ``out`` a 1 MiB buffer: ``--json`` writes 4 KB per connection, and
    a 64 KiB pipe would wake the reader and block the writer every sixteen rows."""
    try:
        fd = out.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            import fcntl

            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), PIPE_SIZE)
    except (OSError, ValueError, AttributeError):
        pass  # not a file, not a pipe, or the system refused: the default buffer it is


def binary(stream: IO[str]) -> IO[bytes]:
    """The byte stream under ``stream`` (the report writers write bytes)."""
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None else cast(IO[bytes], _TextSink(stream))


def run(args: argparse.Namespace) -> int:
    """Take one sample and print it; 0 on success (errors propagate as MonitorError)."""
    from core.remote import remote_given

    remote = None
    if remote_given(args):  # (the target's parsing is imported for a remote run only)
        from core.remote import target_from

        remote = target_from(args)
    # A one-shot frees nothing worth a collection: the collector would only walk the 50k
    # records being built, again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        order = EarlyOrder()
        snap = _snapshot(args, remote, order)
        code = _write(args, snap, order.of(snap.connections))
        if getattr(args, "leave_when_done", False):
            from core.commands.output_errors import leave

            leave(code)  # with the snapshot still held: nothing of it is freed
        return code
    finally:
        if collecting:
            gc.enable()


def privilege_notes(snap: Snapshot, shown: Collection[TcpConnection]) -> tuple[str, ...]:
    """The sample's privilege lines that bear on the rows ``shown``: the owners' line only
    when a shown row's owner is not known for lack of privilege. Why: the sample holds every
    socket of the namespaces read, and ``--local-port`` of a user's own listener was told
    that other users' owners need CAP_SYS_PTRACE over rows that all had their PID."""
    from core.connections import OwnerStatus

    owners = snap.privilege.owners
    hidden = snap.privilege.hidden
    if owners is None or any(c.owner_status is OwnerStatus.NEEDS_PRIVILEGE for c in shown):
        return hidden
    return tuple(line for line in hidden if line != owners)


def _snapshot(args: argparse.Namespace, remote: RemoteTarget | None, order: EarlyOrder) -> Snapshot:
    from core.connections import cancel_owner_scan, start_owner_scan

    try:
        if remote is not None:
            from core.remote import remote_snapshot  # asyncio and more: only when remote

            netns = getattr(args, "netns", DEFAULT_NETNS)
            return remote_snapshot(remote, tcp_info=bool(args.json), netns=netns)
        if getattr(args, "source", "auto") != "psutil" and sys.platform == "linux":
            start_owner_scan()  # on the other core while the rest is imported (or already)
        from core.connections import take_snapshot
        from core.netns import namespace_dumps

        netns = getattr(args, "netns", DEFAULT_NETNS)
        tcp_info = bool(args.json)
        snap = take_snapshot(
            getattr(args, "source", "auto"),
            tcp_info=tcp_info,
            namespaces=lambda: namespace_dumps(netns, tcp_info=tcp_info),
            meanwhile=order,
        )
        if snap.namespaces is None and netns == ALL_NETNS and snap.source == "psutil":
            from core.netns import readable_here

            if readable_here():  # (elsewhere there are no other namespaces to miss)
                print(f"tcpscope: note: {PSUTIL_OWN_NAMESPACE}", file=sys.stderr)
        return snap
    finally:
        cancel_owner_scan()  # a scan nothing adopted (another source, remote, a failure)


def _write(
    args: argparse.Namespace, snap: Snapshot, in_order: list[TcpConnection] | None = None
) -> int:
    conns = select(snap.connections.values(), args, snap.processes, snap.namespaces, in_order)
    for line in (*privilege_notes(snap, conns), *filter_notes(args, snap)):
        print(f"tcpscope: note: {line}", file=sys.stderr)
    sys.stdout.flush()
    out = binary(sys.stdout)
    if args.json or args.csv:
        widen_pipe(out)
    # Each format imports its own writer only (the JSON one loads orjson, the CSV one csv).
    if args.json:
        from core.connections import write_json

        write_json(conns, snap, out)
    elif args.csv:
        from core.connections import write_csv

        write_csv(conns, snap, out)
    else:
        from core.connections import write_table

        write_table(conns, snap, state_names(), out)
    out.flush()
    return 0
