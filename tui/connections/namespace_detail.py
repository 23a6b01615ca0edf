"""The detail pane's "Network namespace" section: where the socket lives and how it was read.

Why a section: the same 4-tuple can be in two containers, and a namespace read from
``/proc/PID/net/tcp`` (no CAP_SYS_ADMIN) lacks tcp_info; the pane says which fields are
missing and why instead of leaving them blank.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from core.connections import (
    STAND_IN_REASON,
    NamespaceInfo,
    NamespaceView,
    ProcessInfo,
    ReadBy,
    TcpConnection,
    namespace_key_text,
    shown_namespace,
)
from core.netns import PROCNET_MISSING
from core.textsafe import composed
from tui import format as fmt

GONE_WHY = "the namespace no longer exists (its last process ended); shown as last seen"
"""Why a ghost's namespace is described as it was (:attr:`NamespaceInfo.gone`)."""
OWN = "tcpscope's own"
"""The namespace the sampler ran in, when it ran here (see ``Shell.own_namespace``)."""
INITIAL = "the host's (initial)"
"""The host's initial network namespace (PID 1's), seen from inside another."""


def namespace_table(
    conn: TcpConnection,
    view: NamespaceView,
    proc: ProcessInfo | None = None,
    own: str = OWN,
    kept: NamespaceInfo | None = None,
) -> Table:
    """Namespace inode and name, container, how it was read, the PID inside it; ``own``
    names the sampler's namespace (``Shell.own_namespace``); ``kept``: a ghost's own
    (:func:`core.connections.namespaces.ghost_namespace`)."""
    table = Table.grid(padding=(0, 1))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    info = shown_namespace(conn.netns, view, kept)
    if info is None:
        gone = "?" if conn.netns is None else namespace_key_text(conn.netns)
        table.add_row(Text("namespace"), Text(f"{gone} (gone)", style="italic"))
        return table
    where = own if info.current else "the host's initial" if info.initial else "another"
    inode = info.own_inode  # a stand-in key is never shown as the inode
    if inode is None:
        table.add_row(Text("inode"), Text(f"{STAND_IN_REASON} ({where})", style="italic"))
    else:
        table.add_row(Text("inode"), Text(f"{inode} ({where})"))
    if info.stand_in and info.via_pid is not None:
        table.add_row(Text("process in it"), Text(f"PID {info.via_pid}"))
    if info.name:
        table.add_row(Text("ip netns"), Text(fmt.safe(info.name)))
    container = info.container
    if container is not None:
        table.add_row(Text("runtime"), Text(fmt.safe(container.runtime)))
        table.add_row(Text("container"), Text(fmt.safe(container.name or "(name unknown)")))
        table.add_row(Text("id"), Text(fmt.safe(container.id[:12])))
        if container.pod:
            table.add_row(Text("pod"), Text(fmt.safe(container.pod)))
    if proc is not None and proc.ns_pid is not None:
        table.add_row(Text("pid inside"), Text(str(proc.ns_pid)))
    if info.read_by is ReadBy.PROCFS:
        table.add_row(
            Text("read from"),
            Text(
                f"/proc/PID/net/tcp: no {', no '.join(PROCNET_MISSING)} "
                f"({composed(info.reason or 'sock_diag inside it needs CAP_SYS_ADMIN')})",
                style="italic",
            ),
        )
    else:
        table.add_row(Text("read from"), Text("sock_diag inside the namespace"))
    if info.gone:
        table.add_row(Text("gone"), Text(GONE_WHY, style="italic"))
    return table


def namespace_line(
    netns: int | None,
    view: NamespaceView | None,
    own: str = OWN,
    kept: NamespaceInfo | None = None,
) -> str:
    """One line naming a socket's namespace and container, for the close/terminate dialogs.

    Why: the same 4-tuple can live in two containers, so "close this?" must say which one
    (``tcpscope close`` lists the same). Untrusted names are made printable.
    """
    info = None if view is None else shown_namespace(netns, view, kept)
    if info is None:
        if netns is None:
            return own
        return f"{'inode ' if netns >= 0 else 'ns'}{namespace_key_text(netns)} (no longer seen)"
    parts: list[str] = []
    container = info.container
    if container is not None:
        name = fmt.safe(container.name, "(name unknown)")
        parts.append(f"{fmt.safe(container.runtime)} container {name}")
        parts.append(f"id {fmt.safe(container.id[:12])}")
        if container.pod:
            parts.append(f"pod {fmt.safe(container.pod)}")
    if info.name:
        parts.append(f"ip netns {fmt.safe(info.name)}")
    if info.current:
        parts.insert(0, own)
    elif info.initial:
        parts.insert(0, INITIAL)
    elif not parts:
        parts.append("another, unnamed")
    gone = ", gone" if info.gone else ""
    if info.own_inode is None:
        pid = f"PID {info.via_pid}'s; " if info.via_pid is not None else ""
        return f"{', '.join(parts)} ({pid}inode not readable{gone})"
    return f"{', '.join(parts)} (inode {info.own_inode}{gone})"
