"""What the ``x`` and ``K`` dialogs say: the socket or process, as it is now, and what acting
on it does.

Why a module of its own: the dialogs' screens and the flows that ask core and toast
(:mod:`tui.connections.actions`) need only these two bodies; their wording, wrapping and
warnings are one job. Untrusted text (process names, command lines) is escaped and never read
as markup.
"""

from __future__ import annotations

from typing import Final

from rich.cells import cell_len, set_cell_size

from core import connections
from core.connections import (
    CloseTarget,
    NamespaceView,
    OwnerStatus,
    ProcessTarget,
    Snapshot,
    TcpConnection,
    TcpState,
)
from tui import format as fmt
from tui.connections.namespace_detail import namespace_line
from tui.widgets.hanging_text import HangingText

LISTED: Final = 5
"""Connections of a process listed by name in the confirmation; the rest are counted."""
CMDLINE_CELLS: Final = 60
VALUE_CELLS: Final = 62
"""Cells right of a 10-cell label in the dialogs' 72: a longer value wraps under the label."""
ENDPOINT_CELLS: Final = 23
"""Cells for each endpoint in the K dialog's list: 10 of label, 12 of State and 3 of arrow
leave 47 of the dialog's 72 (an IPv4 endpoint is at most 21)."""


def _row(text: HangingText, label: str, value: str, style: str = "") -> None:
    """A labelled line; a value too long for the dialog wraps under the value column."""
    text.line(f"{label:<10}", value, head_style="bold", style=style)


def _warn(text: HangingText, line: str) -> None:
    text.line("⚠ ", line, head_style="bold yellow", style="bold yellow")


def state_now(target: CloseTarget) -> TcpState:
    """The socket's State when ``x`` was pressed where the kernel was asked, else sampled."""
    return target.state if target.state is not None else target.conn.state


def _owner_now(target: CloseTarget) -> OwnerStatus | None:
    """Its owner status when ``x`` was pressed where that was looked up, else sampled."""
    return target.owner if target.looked else target.conn.owner_status


def _process_now(target: CloseTarget, snap: Snapshot) -> tuple[str, str]:
    """(the Process row as the socket is held now, as it was sampled)."""
    conn = target.conn
    pid = conn.owning_process
    hidepid = snap.privilege.hidepid_short
    sampled = connections.process_label(
        pid, snap.processes.get(pid) if pid else None, conn.owner_status, hidepid
    )
    if not target.looked or target.owner is None:  # nothing known of its holders now
        return sampled, sampled
    if target.holder is not None:
        if target.holder == pid:
            return sampled, sampled
        return connections.process_label(target.holder, target.process), sampled
    return connections.process_label(None, None, target.owner, hidepid), sampled


def close_body(target: CloseTarget, snap: Snapshot) -> HangingText:
    """What closing ``target`` does: endpoints, state, owner, who else holds the socket, as
    the look-up on ``x`` found them (the row's sample may be old: paused, or a busy host),
    and which of those changed since the row was sampled."""
    conn = target.conn
    state = state_now(target)
    owner = _owner_now(target)
    text = HangingText()
    both = connections.endpoints(conn)
    if cell_len(both) <= VALUE_CELLS:
        _row(text, "Endpoints", both)
    else:  # whole, never cut (what is closed must read exactly), the remote under the local
        _row(text, "Endpoints", fmt.endpoint(conn.local_address, conn.local_port))
        _row(text, "", f"→ {fmt.endpoint(conn.remote_address, conn.remote_port)}")
    changed = []
    if state is conn.state:
        _row(text, "State", fmt.state_name(state))
    else:
        changed.append("State")
        _row(
            text,
            "State",
            f"{fmt.state_name(state)} (was {fmt.state_name(conn.state)} when sampled)",
        )
    process, sampled = _process_now(target, snap)
    _row(text, "Process", process)
    if process != sampled:
        changed.append("Process")
        _row(text, "", f"(was {sampled} when sampled)")
    _row(text, "Namespace", namespace_line(conn.netns, snap.namespaces))
    holders = len(target.holders)
    if holders:
        held = f"the socket is held by {holders} process{'es' if holders != 1 else ''}"
    elif owner is OwnerStatus.NO_OWNER:
        held = "no process holds the socket (no file)"
    elif conn.inode is None:  # psutil: no inode to find the holders by
        held = "its holders are not known (no socket inode)"
    elif target.looked and owner is OwnerStatus.NOT_FOUND:
        held = "no fd table tcpscope could read holds the socket"
    else:  # some fd tables could not be read: a holder may be among them
        held = "its holders are not known"
    info = snap.tcp_info.get(conn.instance_id)
    waiting = connections.waiting_to_accept(
        conn, snap.connections.values(), None if info is None else info.recv_q
    )
    _row(text, "Affects", f"{connections.affected(waiting)}; {held}")
    if changed:
        _warn(text, f"changed since the row was sampled: {' and '.join(changed)} (shown as now)")
    if target.shared:
        pids = ", ".join(str(p) for p in sorted(target.holders))
        _warn(text, f"a shared socket (PIDs {pids}): closing it closes it for all of them")
    if state is TcpState.LISTEN:
        _warn(text, "a listening socket: new connections to this port will be refused")
    text.append(f"\n{connections.close_effect(state, owner)}", style="italic")
    return text


def terminate_body(target: ProcessTarget, view: NamespaceView | None = None) -> HangingText:
    """What ending the process involves: its command, namespace, connections, shared sockets."""
    text = HangingText()
    info = target.info
    if info is not None and info.cmdline:
        command, left = fmt.command_head(info.cmdline, CMDLINE_CELLS)
        if left:
            command = set_cell_size(command, min(cell_len(command), CMDLINE_CELLS - 1)) + "…"
        _row(text, "Command", command)
    conns = target.connections
    for i, netns in enumerate(dict.fromkeys(conn.netns for conn in conns)):
        _row(text, "Namespace" if i == 0 else "", namespace_line(netns, view))
    states: dict[str, int] = {}
    for conn in conns:
        states[fmt.state_name(conn.state)] = states.get(fmt.state_name(conn.state), 0) + 1
    summary = ", ".join(f"{n} {name}" for name, n in sorted(states.items()))
    _row(text, "Holds", f"{len(conns)} connection{'s' if len(conns) != 1 else ''}: {summary}")
    # What ending it closes before the list: in a small terminal the list scrolls out of sight.
    _warn_what_closes(text, target)
    if target.shared:
        others = sorted({p for pids in target.shared.values() for p in pids})
        one = len(target.shared) == 1
        pids = f"PID {others[0]}" if len(others) == 1 else f"PIDs {', '.join(map(str, others))}"
        _warn(
            text,
            f"{len(target.shared)} of its sockets {'is' if one else 'are'} shared with {pids}: "
            f"{'it stays' if one else 'they stay'} open while "
            f"{'it runs' if len(others) == 1 else 'those run'}",
        )
    for conn in conns[:LISTED]:
        text.append(f"{'':<10}{_listed(conn)}\n")
    if len(conns) > LISTED:
        text.append(f"{'':<10}… and {len(conns) - LISTED} more\n")
    text.append(
        "\nSIGTERM first; if it is still running after a few seconds, SIGKILL is offered.",
        style="italic",
    )
    return text


def _warn_what_closes(text: HangingText, target: ProcessTarget) -> None:
    """How many of the process's connections close when it exits: only those no other
    process holds (a shared socket stays open while its other holders run), so the count
    never contradicts the "shared" warning below it."""
    conns = target.connections
    closing = sum(1 for conn in conns if conn.inode not in target.shared)
    # Without inodes (psutil) other holders cannot be looked up: no certainty claimed.
    unsure = any(conn.inode is None for conn in conns)
    hedge = " (unless shared: no socket inode to tell)" if unsure else ""
    if closing == len(conns):
        if closing > 1:
            _warn(text, f"all {closing} connections close when it exits{hedge}")
    elif closing == 0:
        which = "its socket is" if len(conns) == 1 else f"all {len(conns)} sockets are"
        _warn(text, f"no connection closes when it exits: {which} shared")
    else:
        verb = "closes" if closing == 1 else "close"
        _warn(text, f"{closing} of its {len(conns)} connections {verb} when it exits{hedge}")


def _listed(conn: TcpConnection) -> str:
    """One line of the K dialog's list: the State, then both endpoints, each cut in the
    middle of its address (never at the port) when it would not fit: a long IPv6 pair wrapped
    onto the next line at the dialog's left edge, under the labels."""
    local = fmt.fit_endpoint(fmt.endpoint(conn.local_address, conn.local_port), ENDPOINT_CELLS)
    remote = fmt.fit_endpoint(fmt.endpoint(conn.remote_address, conn.remote_port), ENDPOINT_CELLS)
    return f"{fmt.state_name(conn.state):<11} {local.rstrip()} → {remote.rstrip()}"
