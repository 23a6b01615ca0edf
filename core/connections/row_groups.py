"""The grouped view of the connection table: one row per owning process, or per container.

Why a module of its own: grouping is a pass over the rows the index shows, in their order; it
reads the index (the rows, which are ghosts, each row's process and namespace) and changes
nothing in it, so :class:`core.connections.row_index.RowIndex` hands it what it reads and keeps
to its one job, the orders. A closed connection stays in its group as a ghost, listed, not
counted.

UI-free: it imports neither Textual nor Rich.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpState
from core.connections.namespaces import NamespaceView, label
from core.connections.owner_cells import OWNERLESS_GROUPS
from core.connections.row_order import NamespaceOf

KIN_PREFIX = 2
"""Leading characters two names share to be each other's :attr:`Group.kin`: a row keeps at
least 4 cells of a name (3 and its ``…``), at least 2 characters even when they are wide."""


@dataclass(slots=True)
class Group:
    """One owning process (or container / namespace) in the grouped view."""

    pid: int | None
    name: str
    owner: OwnerStatus | None = None
    """Without a PID: why (one group per answer, so "owner not known: needs root" is never
    mixed with "no owner", the kernel's TIME_WAITs and orphans)."""
    note: str = ""
    """Said after the counts: for owners hidden by privilege, which privilege shows them."""
    counts: dict[TcpState, int] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    """Open connections' InstanceIDs in the table's current order (counted, followed)."""
    rows: list[str] = field(default_factory=list)
    """What the expanded group lists: its members and its ghosts, in the table's order (a
    connection closed with ``x``, or by ``K``, stays in its group as a ghost, as ungrouped)."""
    closed: int = 0
    """Ghosts among :attr:`rows`."""
    netns: int | None = None
    """Set when grouping by container: the namespace's key (NamespaceInfo.inode)."""
    inode: int | None = None
    """When grouping by container: the namespace's own inode, to show (None: not known, as
    for a stand-in key, which is never shown as one)."""
    alike: bool = False
    """The name does not tell this group apart (another group has it too, or it is ``?``,
    no namespace read): its inode stays on a narrow row, where a unique name's gives way."""
    kin: tuple[str, ...] = ()
    """Other groups' names that begin as this one does (its first :data:`KIN_PREFIX`
    characters), not the same name: a narrow row that cuts this name keeps what tells it
    apart from them, or two rows read ``web-frontend-a…`` alike."""

    @property
    def row_id(self) -> str:
        """The cursor identity of this group row."""
        if self.netns is not None:
            return f"group:ns{self.netns}"
        if self.pid is None and self.owner is not None:
            return f"group:{self.owner.value}"
        return f"group:{self.pid}"


def ownerless(conn: TcpConnection) -> OwnerStatus | None:
    """Why ``conn`` has no PID (its owner_status), or None when it has one."""
    return conn.owner_status if conn.owning_process is None else None


def group_row_id(conn: TcpConnection, by: str, namespace_of: NamespaceOf) -> str:
    """The row id of the group :func:`group_rows` puts ``conn`` in: the table moves its cursor
    there without a pass over every group."""
    if by == "container":
        return Group(None, "", netns=namespace_key(conn, namespace_of) or 0).row_id
    return Group(conn.owning_process, "", owner=ownerless(conn)).row_id


def namespace_key(conn: TcpConnection, namespace_of: NamespaceOf) -> int | None:
    """What groups ``conn`` by namespace: its namespace's inode, as the view has it."""
    ns = namespace_of(conn)
    return ns.inode if ns is not None else conn.netns


def group_rows(
    ids: Iterable[str],
    keyed: Callable[[str], TcpConnection | None],
    by: str,
    *,
    ghosts: Container[str],
    proc: Callable[[TcpConnection], ProcessInfo | None],
    namespace_of: NamespaceOf,
    namespaces: NamespaceView | None = None,
    hidepid: str | None = None,
) -> list[Group]:
    """The rows ``ids`` (in the table's order; ``keyed`` gives the record each is in order by)
    grouped by owning process (or by ``"container"``: namespace), busiest first, then by name;
    a group's ``ghosts`` are listed in it, not counted; a namespace's group is labelled as
    ``namespaces`` (the view shown) labels it. ``hidepid`` (Privilege.hidepid) is the note
    of the group whose owners need privilege when a hidepid /proc hides them: no fd table
    was denied, so naming the capabilities that read one would not say why."""
    by_key: dict[int | OwnerStatus | None, Group] = {}
    for iid in ids:
        conn = keyed(iid)
        if conn is None:
            continue
        if by == "container":
            pid = namespace_key(conn, namespace_of)
            group = by_key.get(pid)
            if group is None:
                ns = namespace_of(conn)
                shown = ns.own_inode if ns is not None else pid if pid and pid > 0 else None
                name = label(ns, namespaces)
                group = by_key[pid] = Group(None, name, netns=pid or 0, inode=shown)
        else:
            owner = ownerless(conn)
            key = conn.owning_process if owner is None else owner
            group = by_key.get(key)
            if group is None:
                if owner is not None:
                    name, note = OWNERLESS_GROUPS[owner]
                    if hidepid and owner is OwnerStatus.NEEDS_PRIVILEGE:
                        note = hidepid
                    group = Group(None, name, owner=owner, note=note)
                else:
                    p = proc(conn)
                    group = Group(conn.owning_process, (p.name or "?") if p is not None else "?")
                by_key[key] = group
        group.rows.append(iid)
        if iid in ghosts:
            group.closed += 1
            continue
        group.members.append(iid)
        group.counts[conn.state] = group.counts.get(conn.state, 0) + 1
    if by == "container":
        names = Counter(g.name for g in by_key.values())
        for group in by_key.values():
            group.alike = names[group.name] > 1 or group.name == "?"
    _find_kin(list(by_key.values()))
    return sorted(by_key.values(), key=lambda g: (-len(g.members), g.name, g.pid or -1))


def _find_kin(groups: list[Group]) -> None:
    """Each group's :attr:`Group.kin`: the other names with its first :data:`KIN_PREFIX`
    characters (one pass over the names by those characters, not over every pair)."""
    by_start: dict[str, set[str]] = {}
    for group in groups:
        by_start.setdefault(group.name[:KIN_PREFIX], set()).add(group.name)
    for group in groups:
        kin = by_start[group.name[:KIN_PREFIX]]
        if len(kin) > 1:
            group.kin = tuple(sorted(kin - {group.name}))
