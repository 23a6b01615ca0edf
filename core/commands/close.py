"""``tcpscope close``: close the TCP connections a filter selects, as ``ss -K`` does.

Why so careful: closing is not undoable, and a script that pipes into it cannot answer a
question. So it needs a filter (never "everything"), lists what matches, asks on a terminal
(``--yes`` skips the question, and is the only way without one), leaves listening sockets
alone unless ``--state Listen`` names them, and prints what it closed. No Textual import.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Final, TextIO

from core.commands import connections as connections_cli
from core.connections import (
    PEER_RESET,
    CloseTarget,
    Outcome,
    Snapshot,
    TcpConnection,
    TcpState,
    affected,
    close_connections,
    close_refused_here,
    close_targets,
    closed_by_peer,
    endpoints,
    namespace_in,
    namespace_label,
    process_label,
    waiting_to_accept,
)
from core.errors import MonitorError, UsageError
from core.netns import ALL_NETNS, CURRENT_NETNS, add_netns_argument, netns_chosen
from core.textsafe import printable

TargetsOf = Callable[[Sequence[TcpConnection]], list[CloseTarget]]
"""Who holds each socket (here, or on the ``--remote`` server)."""
Closer = Callable[[Sequence[TcpConnection]], list[tuple[TcpConnection, Outcome]]]
"""Closes them (here, or on the ``--remote`` server)."""
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
EXIT_NO_MATCH: Final = 3
"""No connection matched, nothing was closed (as ``pkill`` when no process matched): told
apart from a refusal, since a script often takes it as done (the connection ended already)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The filters of ``tcpscope connections``, plus ``--yes``."""
    connections_cli.add_filter_arguments(parser)
    parser.add_argument(
        "--yes", "-y", action="store_true", help="close without asking (needed without a terminal)"
    )
    add_netns_argument(
        parser,
        dest="close_netns",
        default=None,
        command=True,
        help="network namespaces to act in: current (default), all, or names, PIDs, paths",
    )


def acting_netns(args: argparse.Namespace) -> str:
    """The namespaces ``close`` acts in: its own ``--netns``, else the top-level one
    (``tcpscope --netns web close`` is ``close --netns web``, never silently the current one),
    else the current namespace."""
    return netns_chosen(args, "close", "close_netns") or CURRENT_NETNS


def run(args: argparse.Namespace) -> int:
    """List, confirm, close; 0 when every match was closed, 1 when refused (or answered
    no), 2 on usage, 3 when nothing matched."""
    if not connections_cli.has_filter(args):
        raise UsageError(
            "close: give a filter (e.g. --remote-port 443 or --filter 'state:est'); "
            "closing every connection is refused"
        )
    from core.remote import target_from

    remote = target_from(args)
    netns = acting_netns(args)
    if remote is not None:  # everything happens on the server, in one agent session
        if netns != CURRENT_NETNS:
            raise UsageError(
                "close --netns does not apply with --remote: the agent closes connections in "
                "the network namespace its SSH session runs in"
            )
        from core.remote import RemoteActions

        actions = RemoteActions(remote)
        try:
            refused = actions.close_refused()  # the server's rights, not this machine's
            if refused is not None:
                return _refuse_all(refused)
            return _run(args, actions.snapshot(), actions.close_targets, actions.close_connections)
        finally:
            actions.end()
    refused = close_refused_here()
    if refused is not None:
        return _refuse_all(refused)
    from core.netns import sock_diag_in

    return _run(
        args,
        _snapshot(args, netns),
        close_targets,
        partial(close_connections, dumper_in=sock_diag_in),
        partial(_hint_other_namespaces, args) if netns == CURRENT_NETNS else None,
    )


def _refuse_all(refused: str) -> int:
    """Every close would be refused: said in one line, before listing or asking."""
    print(f"tcpscope: {refused}; nothing closed", file=sys.stderr)
    return EXIT_REFUSED


def _snapshot(args: argparse.Namespace, netns: str) -> Snapshot:
    from core.connections import take_snapshot
    from core.netns import namespace_dumps

    return take_snapshot(
        getattr(args, "source", "auto"),
        tcp_info=False,
        namespaces=lambda: namespace_dumps(netns, tcp_info=False),
    )


def _chosen(args: argparse.Namespace, snap: Snapshot) -> tuple[list[TcpConnection], int]:
    """The connections ``args`` selects in ``snap``, and how many listeners it leaves out."""
    matched = connections_cli.select(
        snap.connections.values(), args, snap.processes, snap.namespaces
    )
    listeners_named = _names_listeners(args)
    chosen = [c for c in matched if listeners_named or c.state is not TcpState.LISTEN]
    return chosen, len(matched) - len(chosen)


def _hint_other_namespaces(args: argparse.Namespace) -> None:
    """After "no connection matches" in tcpscope's own namespace: say so when the filter
    matches in others (``connections`` lists every namespace; ``close`` acts in its own)."""
    from core.netns import readable_here

    if not readable_here():
        return
    try:
        elsewhere, _ = _chosen(args, _snapshot(args, ALL_NETNS))
    except MonitorError:
        return  # the hint only: the answer stays "nothing closed"
    count = sum(1 for c in elsewhere if c.netns is not None)
    if count:
        print(
            f"tcpscope: {count} match(es) in other network namespaces: "
            "add --netns all (or --netns NAME) to close there",
            file=sys.stderr,
        )


def _run(
    args: argparse.Namespace,
    snap: Snapshot,
    targets_of: TargetsOf,
    closer: Closer,
    no_match_hint: Callable[[], None] | None = None,
) -> int:
    chosen, skipped = _chosen(args, snap)
    if skipped:
        print(
            f"tcpscope: leaving {skipped} listening socket(s) open "
            "(add --state Listen or state:listen to close listeners)",
            file=sys.stderr,
        )
    if not chosen:
        for line in connections_cli.filter_notes(args, snap):
            print(f"tcpscope: note: {line}", file=sys.stderr)
        print("tcpscope: no connection matches; nothing closed", file=sys.stderr)
        if no_match_hint is not None:
            no_match_hint()
        return EXIT_NO_MATCH
    _list(chosen, snap, targets_of)
    if not args.yes and not _confirmed(len(chosen), sys.stdin):
        return EXIT_USAGE if not sys.stdin.isatty() else EXIT_REFUSED
    return _close(chosen, snap, closer)


def _names_listeners(args: argparse.Namespace) -> bool:
    """Whether ``--state Listen`` or a ``state:listen`` filter word asks for listeners."""
    listen = int(TcpState.LISTEN)
    if listen in set(args.state or ()):
        return True
    from core.connections import parse_query

    return listen in parse_query(connections_cli.filter_expression(args)).named_states()


def _list(conns: Sequence[TcpConnection], snap: Snapshot, targets_of: TargetsOf) -> None:
    from core.connections import write_table

    sys.stdout.flush()
    out = connections_cli.binary(sys.stdout)
    write_table(conns, snap, connections_cli.state_names(), out)
    out.flush()
    for conn in conns:
        waiting = waiting_to_accept(conn, snap.connections.values())
        if waiting:
            print(
                f"note: closing the listener {endpoints(conn)} affects {affected(waiting)} "
                "(reset too)",
                file=sys.stderr,
            )
    for target in targets_of(conns):
        if target.shared:
            pids = ", ".join(str(p) for p in sorted(target.holders))
            print(
                f"note: {endpoints(target.conn)} is one socket shared by PIDs {pids}: "
                "closing it closes it for all of them",
                file=sys.stderr,
            )


def _confirmed(count: int, stdin: TextIO) -> bool:
    """Ask on the terminal; without one, refuse (a script must say ``--yes``)."""
    if not stdin.isatty():
        print(
            f"tcpscope: refusing to close {count} connection(s) without confirmation: "
            "stdin is not a terminal (use --yes); nothing closed",
            file=sys.stderr,
        )
        return False
    try:  # (the prompt inside: a Ctrl+C right after it is answered the same way)
        print(f"Close {count} connection(s)? [y/N] ", end="", file=sys.stderr, flush=True)
        line = stdin.readline()
    except KeyboardInterrupt:  # Ctrl+C: the answer "no", on its own line; exit 130 still
        print("\nnothing closed", file=sys.stderr)
        raise
    if line.strip().lower() in ("y", "yes"):
        return True
    # Ctrl+D ends the input without a newline: the terminal's cursor is still on the prompt.
    print(("" if line.endswith("\n") else "\n") + "nothing closed", file=sys.stderr)
    return False


def _close(conns: Sequence[TcpConnection], snap: Snapshot, closer: Closer) -> int:
    results = closer(conns)
    names = connections_cli.state_names()
    where = _namespace_names(conns, snap)
    refused = False
    for conn, outcome in results:
        pid = conn.owning_process
        proc = snap.processes.get(pid) if pid is not None else None
        owner = process_label(pid, proc, conn.owner_status, snap.privilege.hidepid_short)
        if outcome.done:
            state = names.get(int(conn.state), "?")
            how = f"  ({PEER_RESET})" if closed_by_peer(outcome) else ""
            print(f"closed  {endpoints(conn)}  {state}  {owner}{where(conn, '  ')}{how}")
        else:
            refused = True
            print(
                f"tcpscope: {endpoints(conn)} ({owner}{where(conn, ', ')}): {outcome.message}",
                file=sys.stderr,
            )
    untried = len(conns) - len(results)
    if untried:
        print(f"tcpscope: {untried} more not tried (the same refusal)", file=sys.stderr)
    return EXIT_REFUSED if refused else 0


def _namespace_names(
    conns: Sequence[TcpConnection], snap: Snapshot
) -> Callable[[TcpConnection, str], str]:
    """``in NAMESPACE`` (as the table's column labels it, escaped) for each line, when any
    connection is outside tcpscope's own namespace; else nothing.

    Why: the same 4-tuple in two namespaces printed two identical "closed" lines, and a
    refusal did not say which socket it was.
    """
    view = snap.namespaces
    if view is None or all(c.netns is None for c in conns):
        return lambda _conn, _sep: ""

    def where(conn: TcpConnection, sep: str) -> str:
        return f"{sep}in {printable(namespace_label(namespace_in(conn.netns, view), view))}"

    return where
