"""The sorted, filtered index behind the connection table, updated in O(changes) per tick.

Why it exists: at 50k connections a full re-sort every tick costs tens of milliseconds. The
sources hand back the very same record object for an unchanged connection, so an identity
check finds what changed; only those rows are re-keyed and moved with bisect. The index keeps
keys ascending; a descending view just reads it backwards. Ghost rows (recently closed
connections) live in the same index, flagged, until their time-to-live runs out.

UI-free: it imports neither Textual nor Rich, so it is tested and benchmarked on its own.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from core.connections.model import ProcessInfo, TcpConnection, TcpState
from core.connections.namespaces import NamespaceInfo, NamespaceView, label
from core.connections.query import EMPTY_QUERY, NEEDS_PROCESS, Query, SortKey, key_func
from core.connections.snapshot import Ghost, Snapshot

REBUILD_FRACTION = 8
"""Above 1/8 of the rows changing, one sort beats many bisect insertions."""


@dataclass(slots=True)
class Group:
    """One owning process (or container / namespace) in the grouped view."""

    pid: int | None
    name: str
    counts: dict[TcpState, int] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    """InstanceIDs in the table's current order."""
    netns: int | None = None
    """Set when grouping by container: the namespace's inode."""

    @property
    def row_id(self) -> str:
        """The cursor identity of this group row."""
        return f"group:ns{self.netns}" if self.netns is not None else f"group:{self.pid}"


NamespaceOf = Callable[[TcpConnection], NamespaceInfo | None]


def _no_namespace(_conn: TcpConnection) -> NamespaceInfo | None:
    return None


class RowIndex:
    """Connections plus ghosts, filtered by a query and sorted by one column."""

    def __init__(self, sort_column: str = "state", reverse: bool = False) -> None:
        """An empty index sorted by ``sort_column``."""
        self.sort_column = sort_column
        self.reverse = reverse
        self.query: Query = EMPTY_QUERY
        self._key = key_func(sort_column)
        self.rows: dict[str, TcpConnection] = {}
        """Everything shown or filtered out, live and ghost, by InstanceID."""
        self.ghosts: dict[str, datetime] = {}
        """InstanceID → when the connection closed, for ghost rows."""
        self.processes: Mapping[int, ProcessInfo] = {}
        self.namespaces: NamespaceView | None = None
        self.namespace_of: NamespaceOf = _no_namespace
        """The namespace of a row (for the ``ns:``/``container:`` filters and grouping)."""
        self._keys: dict[str, SortKey] = {}
        self._order: list[SortKey] = []
        self.counts_all: dict[TcpState, int] = {}
        self.counts_filtered: dict[TcpState, int] = {}
        self._last_seq: int | None = None
        self._next: _NextKeys | None = None

    # --- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        """Rows that pass the filter (ghosts included)."""
        return len(self._order)

    def row_id(self, position: int) -> str:
        """InstanceID at ``position`` of the current (possibly descending) order."""
        if self.reverse:
            position = len(self._order) - 1 - position
        return str(self._order[position][-1])

    def position(self, row_id: str) -> int | None:
        """Where ``row_id`` is in the current order, or None when it is not shown."""
        key = self._keys.get(row_id)
        if key is None:
            return None
        i = bisect_left(self._order, key)
        return len(self._order) - 1 - i if self.reverse else i

    def _set_namespaces(self, view: NamespaceView | None) -> None:
        """New namespace names: a filter on them sees them from now on (rows re-checked)."""
        self.namespaces = view
        if view is None:
            self.namespace_of = _no_namespace
        else:
            index, current = view.index(), view.current

            def namespace_of(conn: TcpConnection) -> NamespaceInfo | None:
                return current if conn.netns is None else index.get(conn.netns)

            self.namespace_of = namespace_of
        if any(t.key in ("ns", "container") for t in self.query.tokens):
            self._rebuild()

    def proc(self, conn: TcpConnection) -> ProcessInfo | None:
        """The owning process record of ``conn``, if known."""
        pid = conn.owning_process
        return self.processes.get(pid) if pid is not None else None

    # --- changing the view ------------------------------------------------------------
    def set_sort(self, column: str, reverse: bool) -> None:
        """Sort by ``column``; reversing alone costs nothing."""
        self.reverse = reverse
        if column == self.sort_column:
            return
        self.sort_column = column
        self._key = key_func(column, self.processes)
        ready = self._next
        self._next = None
        if ready is not None and ready.column == column:
            # Prepared while idle: keys (and usually their order) are ready, or some of the
            # keys are (`s` again soon after `s`): key only the rest.
            with _gc_paused():
                if not ready.done:
                    ready.advance(ready.left)
                self._keys = ready.keys
                self._order = (
                    ready.order if ready.order is not None else sorted(ready.keys.values())
                )
        else:
            self._rebuild()

    def set_query(self, query: Query) -> None:
        """Filter by ``query`` (re-evaluates every row once)."""
        self.query = query
        self._next = None
        self._rebuild()

    def prepare(self, column: str, rows_per_step: int = 10000) -> bool:
        """Compute some keys of ``column`` ahead (call while idle); True once keyed and sorted.

        Why: ``s`` always moves to the next column, and at 50k rows computing its keys is most
        of a re-sort (about 40 ms). Prepared keys are kept up to date by every tick after.
        """
        if column == self.sort_column:
            return True
        step = self._next
        if step is None or step.column != column:
            step = self._next = _NextKeys(column, key_func(column, self.processes), self)
        with _gc_paused():
            return step.advance(rows_per_step)

    def _rebuild(self) -> None:
        with _gc_paused():
            self._rebuild_keys()

    def _rebuild_keys(self) -> None:
        query, key, proc = self.query, self._key, self.proc
        keys: dict[str, SortKey]
        if query.empty:
            # The common case, kept to one comprehension: this is the whole re-sort at 50k.
            # int(state), not the IntEnum, in keys: list.sort compares exact ints much faster.
            keys = {iid: key(c) for iid, c in self.rows.items()}
            filtered = dict(self.counts_all)
        else:
            keys = {}
            filtered = {}
            for iid, conn in self.rows.items():
                p = proc(conn)
                if query.matches(conn, p, self.namespace_of(conn)):
                    keys[iid] = key(conn)
                    if iid not in self.ghosts:
                        filtered[conn.state] = filtered.get(conn.state, 0) + 1
        self._keys = keys
        self._order = sorted(keys.values())
        self.counts_filtered = filtered
        self._next = None

    # --- ticks ------------------------------------------------------------------------
    def update(self, snap: Snapshot, ghost_ttl_s: float) -> int:
        """Bring the index to ``snap``; returns how many rows changed.

        When ``snap`` follows the last snapshot applied here, its diff (worked out once, by the
        source and the sampler) covers everything in between and the work is O(changes).
        Otherwise (a first snapshot, a jump in a replay), or when the diff does not add up,
        each row's record is checked by identity: O(N), about 10-15 ms at 50k.
        """
        if snap.namespaces is not self.namespaces:
            self._set_namespaces(snap.namespaces)
        if snap.processes is not self.processes:
            self.processes = snap.processes
            if self.sort_column in NEEDS_PROCESS:
                # New names apply to rows keyed from now on (all of them at the next rebuild).
                self._key = key_func(self.sort_column, self.processes)
        conns = snap.connections
        ghosts = {
            g.connection.instance_id: g
            for g in snap.ghosts
            if (snap.time - g.closed_at).total_seconds() < ghost_ttl_s
            and g.connection.instance_id not in conns
        }
        last, self._last_seq = self._last_seq, snap.seq
        follows = last is not None and 0 <= snap.seq - last <= 1 + snap.skipped
        changed = None
        if follows:
            changed = self._changed_by_diff(snap, ghosts)
            gone = self._gone(snap, conns, ghosts)
            if len(self.rows) - len(gone) + self._new(changed) != len(conns) + len(ghosts):
                changed = None  # the diff does not add up: check every row
        if changed is None:
            changed = self._changed_by_identity(conns, ghosts)
            gone = self._gone(snap, conns, ghosts)
            if len(self.rows) - len(gone) + self._new(changed) != len(conns) + len(ghosts):
                gone = [k for k in self.rows if k not in conns and k not in ghosts]
        if len(changed) + len(gone) > max(64, len(self.rows) // REBUILD_FRACTION):
            self._bulk(conns, ghosts)
        else:
            for iid in gone:
                self._remove(iid)
            for iid, conn, ghost in changed:
                self._put(iid, conn, ghost, ghosts[iid].closed_at if ghost else None)
        return len(changed) + len(gone)

    def _new(self, changed: list[tuple[str, TcpConnection, bool]]) -> int:
        rows = self.rows
        return sum(1 for iid, _, _ in changed if iid not in rows)

    def _ghost_changes(self, ghosts: Mapping[str, Ghost]) -> list[tuple[str, TcpConnection, bool]]:
        rows, old = self.rows, self.ghosts
        return [
            (iid, g.connection, True)
            for iid, g in ghosts.items()
            if rows.get(iid) is not g.connection or iid not in old
        ]

    def _changed_by_diff(
        self, snap: Snapshot, ghosts: Mapping[str, Ghost]
    ) -> list[tuple[str, TcpConnection, bool]]:
        conns = snap.connections
        ids = set(snap.diff.added)
        ids.update(c.instance_id for c in snap.diff.state_changed)
        ids.update(snap.diff.changed)
        ids.update(iid for iid in self.ghosts if iid in conns)  # reopened
        changed = [(iid, conns[iid], False) for iid in ids if iid in conns]
        changed.extend(self._ghost_changes(ghosts))
        return changed

    def _changed_by_identity(
        self, conns: Mapping[str, TcpConnection], ghosts: Mapping[str, Ghost]
    ) -> list[tuple[str, TcpConnection, bool]]:
        get, old_ghosts = self.rows.get, self.ghosts
        # Sources hand back the same record for an unchanged connection.
        changed = [(iid, c, False) for iid, c in conns.items() if get(iid) is not c]
        changed.extend((iid, conns[iid], False) for iid in old_ghosts if iid in conns)
        changed.extend(self._ghost_changes(ghosts))
        return changed

    def _gone(
        self, snap: Snapshot, conns: Mapping[str, TcpConnection], ghosts: Mapping[str, Ghost]
    ) -> list[str]:
        candidates = set(snap.diff.removed) | set(self.ghosts)
        rows = self.rows
        return [k for k in candidates if k in rows and k not in conns and k not in ghosts]

    def _bulk(self, conns: Mapping[str, TcpConnection], ghosts: Mapping[str, Ghost]) -> None:
        rows = dict(conns)
        self.ghosts = {}
        for iid, g in ghosts.items():
            rows[iid] = g.connection
            self.ghosts[iid] = g.closed_at
        self.rows = rows
        counts: dict[TcpState, int] = {}
        for conn in conns.values():
            counts[conn.state] = counts.get(conn.state, 0) + 1
        self.counts_all = counts
        self._rebuild()

    def _remove(self, iid: str) -> None:
        conn = self.rows.pop(iid, None)
        if conn is None:
            return
        ghost = self.ghosts.pop(iid, None) is not None
        key = self._keys.pop(iid, None)
        if self._next is not None:
            self._next.drop(iid)
        if not ghost:
            _dec(self.counts_all, conn.state)
        if key is not None:
            del self._order[bisect_left(self._order, key)]
            if not ghost:
                _dec(self.counts_filtered, conn.state)

    def _put(self, iid: str, conn: TcpConnection, ghost: bool, closed: datetime | None) -> None:
        self._remove(iid)
        self.rows[iid] = conn
        if ghost and closed is not None:
            self.ghosts[iid] = closed
        else:
            self.counts_all[conn.state] = self.counts_all.get(conn.state, 0) + 1
        p = self.proc(conn)
        if self.query.empty or self.query.matches(conn, p, self.namespace_of(conn)):
            key = self._key(conn)
            self._keys[iid] = key
            insort(self._order, key)
            if self._next is not None:
                self._next.add(iid, conn)
            if not ghost:
                self.counts_filtered[conn.state] = self.counts_filtered.get(conn.state, 0) + 1

    # --- group by process -------------------------------------------------------------
    def groups(self, by: str = "process") -> list[Group]:
        """Filtered live rows grouped by owning process (or by ``"container"``: namespace),
        busiest first, then by name."""
        by_pid: dict[int | None, Group] = {}
        for i in range(len(self._order)):
            iid = self.row_id(i)
            if iid in self.ghosts:
                continue
            conn = self.rows[iid]
            if by == "container":
                ns = self.namespace_of(conn)
                pid = ns.inode if ns is not None else conn.netns
                group = by_pid.get(pid)
                if group is None:
                    group = by_pid[pid] = Group(None, label(ns), netns=pid or 0)
                group.members.append(iid)
                group.counts[conn.state] = group.counts.get(conn.state, 0) + 1
                continue
            pid = conn.owning_process
            group = by_pid.get(pid)
            if group is None:
                p = self.proc(conn)
                name = (p.name or "?") if p is not None else "(no owner)" if pid is None else "?"
                group = by_pid[pid] = Group(pid, name)
            group.members.append(iid)
            group.counts[conn.state] = group.counts.get(conn.state, 0) + 1
        return sorted(by_pid.values(), key=lambda g: (-len(g.members), g.name, g.pid or -1))


class _NextKeys:
    """Keys of the next sort column, computed a slice at a time over the filtered rows."""

    def __init__(self, column: str, key: Callable[[TcpConnection], SortKey], index: RowIndex):
        self.column = column
        self.key = key
        self.keys: dict[str, SortKey] = {}
        self._index = index
        self._todo = list(index._keys)
        self.done = False
        self.order: list[SortKey] | None = None
        """The keys sorted, once a step after :attr:`done` has sorted them."""

    def add(self, iid: str, conn: TcpConnection) -> None:
        """A row (re)appeared this tick: key it now, in order if there is one."""
        key = self.keys[iid] = self.key(conn)
        if self.order is not None:
            insort(self.order, key)

    def drop(self, iid: str) -> None:
        """A row left (or is about to be re-added)."""
        key = self.keys.pop(iid, None)
        if key is not None and self.order is not None:
            del self.order[bisect_left(self.order, key)]

    @property
    def left(self) -> int:
        """Rows not keyed yet."""
        return len(self._todo)

    def advance(self, count: int) -> bool:
        if self.done:
            if self.order is None:
                self.order = sorted(self.keys.values())  # one more idle step
            return True
        rows, shown, keys, key = self._index.rows, self._index._keys, self.keys, self.key
        cut = max(0, len(self._todo) - count)
        batch, self._todo = self._todo[cut:], self._todo[:cut]
        for iid in batch:
            # Rows changed since the list was taken were keyed by the tick that changed them.
            conn = rows.get(iid)
            if conn is not None and iid in shown and iid not in keys:
                keys[iid] = key(conn)
        self.done = not self._todo
        return False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while a rebuild allocates 50k key tuples (measured: it triggers dozens of
    collections, a full one among them, tripling a re-sort's time). Nothing here is cyclic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _dec(counts: dict[TcpState, int], state: TcpState) -> None:
    left = counts.get(state, 0) - 1
    if left > 0:
        counts[state] = left
    else:
        counts.pop(state, None)
