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
import heapq
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice
from typing import Any

from core.connections.model import ProcessInfo, TcpConnection, TcpState
from core.connections.namespaces import NamespaceInfo, NamespaceView, label
from core.connections.query import EMPTY_QUERY, NEEDS_PROCESS, Query, RowKey, SortKey, key_func
from core.connections.snapshot import Ghost, Snapshot
from core.connections.sorted_keys import BLOCK, SortedKeys

REBUILD_FRACTION = 8
"""Above 1/8 of the rows changing, one new order beats many bisect insertions."""
SYNC_ROWS = 5000
"""Up to this many rows a new order is made at once (a few ms); above, in bounded slices."""
CHUNK = 4096
"""Rows keyed and sorted per slice of a build (about 3 ms of tuples here)."""


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


class Rows(Mapping[str, TcpConnection]):
    """Every row by InstanceID: the snapshot's own connections (shared, never copied) and the
    ghosts' records. Why: a copy of 250k records' dict is 10 MB kept for nothing; the
    sources never change a connections dict once published (they copy on change)."""

    __slots__ = ("ghosts", "live")

    def __init__(self, live: Mapping[str, TcpConnection], ghosts: dict[str, TcpConnection]) -> None:
        self.live, self.ghosts = live, ghosts

    def __getitem__(self, iid: str) -> TcpConnection:
        conn = self.live.get(iid)
        return conn if conn is not None else self.ghosts[iid]

    def get(self, iid: str, default: Any = None) -> Any:
        """The record of ``iid``, or ``default``."""
        conn = self.live.get(iid)
        return conn if conn is not None else self.ghosts.get(iid, default)

    def __contains__(self, iid: object) -> bool:
        return iid in self.live or iid in self.ghosts

    def __len__(self) -> int:
        return len(self.live) + len(self.ghosts)

    def __iter__(self) -> Iterator[str]:
        yield from self.live
        yield from self.ghosts

    def pairs(self) -> Iterator[tuple[str, TcpConnection]]:
        """(InstanceID, record) of every row. Safe to hold across ticks: neither dict is ever
        changed (a tick makes a new Rows)."""
        return chain(self.live.items(), self.ghosts.items())


class _Order:
    """One column's order over the rows that pass one query, and their State counts."""

    __slots__ = ("column", "counts", "key", "keys", "live", "query", "rows", "stored")

    def __init__(self, column: str, query: Query, key: RowKey, rows: Rows) -> None:
        self.column, self.query, self.key = column, query, key
        self.counts: dict[TcpState, int] = {}
        self.rows = rows
        """The records the rows were ordered by (the index's own rows while :attr:`live`)."""
        self.live = True
        """Kept current by every tick; False: a stale order shown while its successor builds."""
        self.stored: dict[str, SortKey] | None = {} if column in NEEDS_PROCESS else None
        """Keys by InstanceID, only where a row's key cannot be made again from its record
        (process and user names change under a PID); other keys are made again when needed."""
        self.keys = SortedKeys(self.key_of if self.stored is None else self.stored.__getitem__)

    def key_of(self, iid: str) -> SortKey:
        """The key row ``iid`` is ordered by (from :attr:`rows`)."""
        rows = self.rows
        conn = rows.live.get(iid)
        return self.key(conn if conn is not None else rows.ghosts[iid])

    def add(self, index: RowIndex, iid: str, conn: TcpConnection, ghost: bool) -> None:
        """Put ``conn`` in order if it passes the query (:attr:`rows` must hold it)."""
        query = self.query
        if query.empty or query.matches(conn, index.proc(conn), index.namespace_of(conn)):
            key = self.key(conn)
            if self.stored is not None:
                self.stored[iid] = key
            self.keys.add(iid, key)
            if not ghost:
                self.counts[conn.state] = self.counts.get(conn.state, 0) + 1

    def discard(self, iid: str, conn: TcpConnection, ghost: bool) -> None:
        """Take ``conn`` (the record it was added with) out, if it is in."""
        stored = self.stored
        key = self.key(conn) if stored is None else stored.get(iid)
        if key is not None and self.keys.remove(iid, key):
            if stored is not None:
                del stored[iid]
            if not ghost:
                _dec(self.counts, conn.state)

    def retarget(self, processes: Mapping[int, ProcessInfo]) -> None:
        """New process records: rows keyed from now on see their names."""
        if self.stored is not None:
            self.key = key_func(self.column, processes)


class _Build:
    """A new order (another column or query, or a first snapshot) made in bounded steps.

    Why: sorting 250k keys in one go holds the UI (and the GIL) for half a second. Here rows
    are keyed and sorted a chunk at a time, and the sorted chunks merged a block at a time;
    rows that change meanwhile are noted and redone when the order is finished.
    """

    def __init__(self, index: RowIndex, column: str, query: Query) -> None:
        self.column, self.query = column, query
        self.order = _Order(column, query, key_func(column, index.processes), index.rows)
        self.dirty: dict[str, tuple[TcpConnection | None, bool]] = {}
        """Rows changed since the build started: the record and ghost flag it saw."""
        self.done = False
        # The rows as they are now (read lazily: they never change, see Rows); later changes
        # are noted (see note) and redone at the end.
        self._steps = self._run(index, index.rows.pairs(), set(index.ghosts))

    def note(self, iid: str, old: TcpConnection | None, ghost: bool) -> None:
        """Row ``iid`` is about to change (``old``: its record now, None if it has none)."""
        if iid not in self.dirty:
            self.dirty[iid] = (old, ghost)

    def advance(self, deadline: float) -> bool:
        """Work until ``deadline`` (perf_counter); True once every row is in order."""
        if not self.done:
            for _ in self._steps:
                if time.perf_counter() >= deadline:
                    return False
            self.done = True
        return True

    def finish(self, index: RowIndex) -> _Order:
        """The order, brought up to date with the rows that changed while it was built."""
        order = self.order
        # Out by the records it was built from (while its rows are those), then back in.
        for iid, (old, ghost) in self.dirty.items():
            if old is not None:
                order.discard(iid, old, ghost)
        order.rows = index.rows
        for iid in self.dirty:
            conn = index.rows.get(iid)
            if conn is not None:
                order.add(index, iid, conn, iid in index.ghosts)
        self.dirty = {}
        return order

    def _run(
        self, index: RowIndex, items: Iterator[tuple[str, TcpConnection]], ghosts: set[str]
    ) -> Iterator[None]:
        order, query = self.order, self.query
        key, counts, stored = order.key, order.counts, order.stored
        proc, namespace_of = index.proc, index.namespace_of
        runs: list[list[str]] = []
        size = index.chunk_rows
        while chunk := list(islice(items, size)):
            if not query.empty:
                chunk = [(i, c) for i, c in chunk if query.matches(c, proc(c), namespace_of(c))]
            keys = [key(c) for _, c in chunk]
            if stored is not None:
                stored.update(zip([i for i, _ in chunk], keys, strict=True))
            for i, c in chunk:
                if i not in ghosts:
                    counts[c.state] = counts.get(c.state, 0) + 1
            keys.sort()
            runs.append([str(k[-1]) for k in keys])  # a key ends with its row's InstanceID
            yield
        of = order.keys.key
        if len(runs) <= 1:
            order.keys = SortedKeys.from_sorted(of, runs[0] if runs else [])
            return
        merged = heapq.merge(*runs, key=of)
        blocks: list[list[str]] = []
        while block := list(islice(merged, min(BLOCK, size))):
            blocks.append(block)
            yield
        order.keys = SortedKeys(of, blocks)


class RowIndex:
    """Connections plus ghosts, filtered by a query and sorted by one column."""

    def __init__(self, sort_column: str = "state", reverse: bool = False) -> None:
        """An empty index sorted by ``sort_column``."""
        self.sort_column = sort_column
        """The column asked for (the rows are in its order once :attr:`building` is False)."""
        self.reverse = reverse
        self.query: Query = EMPTY_QUERY
        self.rows = Rows({}, {})
        """Everything shown or filtered out, live and ghost, by InstanceID."""
        self.ghosts: dict[str, datetime] = {}
        """InstanceID → when the connection closed, for ghost rows."""
        self.processes: Mapping[int, ProcessInfo] = {}
        self.namespaces: NamespaceView | None = None
        self.namespace_of: NamespaceOf = _no_namespace
        """The namespace of a row (for the ``ns:``/``container:`` filters and grouping)."""
        self.counts_all: dict[TcpState, int] = {}
        self.sync_rows = SYNC_ROWS
        """Up to this many rows a new order is made at once; above, in :meth:`step` slices."""
        self.chunk_rows = CHUNK
        """Rows keyed and sorted per unit of a build's work."""
        self._shown = _Order(sort_column, EMPTY_QUERY, key_func(sort_column), self.rows)
        self._pending: _Build | None = None
        """The order asked for, being built (the shown one stays until it is done)."""
        self._next: _Build | _Order | None = None
        """The next sort column's order, prepared while idle (see :meth:`prepare`)."""
        self._last_seq: int | None = None

    # --- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        """Rows that pass the filter (ghosts included)."""
        return len(self._shown.keys)

    @property
    def building(self) -> bool:
        """True while the asked-for order (sort column, filter) is still being made."""
        return self._pending is not None

    @property
    def shown_column(self) -> str:
        """The column the rows are in order of now (:attr:`sort_column` once built)."""
        return self._shown.column

    @property
    def counts_filtered(self) -> dict[TcpState, int]:
        """Live rows that pass the filter, by State."""
        return self._shown.counts

    def row_id(self, position: int) -> str:
        """InstanceID at ``position`` of the current (possibly descending) order."""
        keys = self._shown.keys
        if self.reverse:
            position = len(keys) - 1 - position
        return keys[position]

    def record(self, row_id: str) -> TcpConnection:
        """The record a shown row was sorted by (KeyError when it is not listed)."""
        return self._shown.rows[row_id]

    def position(self, row_id: str) -> int | None:
        """Where ``row_id`` is in the current order, or None when it is not shown."""
        order = self._shown
        conn = order.rows.get(row_id)
        if conn is None:
            return None
        key = order.key(conn) if order.stored is None else order.stored.get(row_id)
        i = order.keys.index(row_id, key) if key is not None else None
        if i is None:
            return None
        return len(order.keys) - 1 - i if self.reverse else i

    def ids(self) -> Iterator[str]:
        """Shown InstanceIDs in the current order."""
        keys = self._shown.keys
        yield from reversed(keys) if self.reverse else keys

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
            self._order_by(self.sort_column, self.query)

    def proc(self, conn: TcpConnection) -> ProcessInfo | None:
        """The owning process record of ``conn``, if known."""
        pid = conn.owning_process
        return self.processes.get(pid) if pid is not None else None

    # --- changing the view ------------------------------------------------------------
    def set_sort(self, column: str, reverse: bool) -> None:
        """Sort by ``column``; reversing alone costs nothing, nor does a prepared column."""
        key_func(column)  # KeyError for a column that does not exist, before anything changes
        self.reverse = reverse
        if column == self.sort_column:
            return
        self.sort_column = column
        ready = self._next
        self._next = None
        if ready is not None and ready.column == column and ready.query is self.query:
            if isinstance(ready, _Order):
                self._pending = None
                self._shown = ready
                return
            self._pending = ready  # prepared in part: finish it first
            self._settle_if_small()
            return
        self._order_by(column, self.query)

    def set_query(self, query: Query) -> None:
        """Filter by ``query`` (every row is checked once, in slices above :attr:`sync_rows`)."""
        self.query = query
        self._next = None
        self._order_by(self.sort_column, query)

    def prepare(self, column: str) -> None:
        """Make ``column``'s order ahead, in :meth:`step` slices while idle.

        Why: ``s`` always moves to the next column; with its order made and kept current by
        every tick, the keypress only swaps two orders, whatever the number of rows.
        """
        nxt = self._next
        if column == self.sort_column or (
            nxt is not None and nxt.column == column and nxt.query is self.query
        ):
            return
        self._next = _Build(self, column, self.query)

    @property
    def has_work(self) -> bool:
        """True while :meth:`step` has something to do."""
        return self._pending is not None or isinstance(self._next, _Build)

    def step(self, budget_s: float = 0.01) -> bool:
        """Build for about ``budget_s``: the order asked for first, then the prepared one.

        Returns True when the shown order changed (the asked-for order is now shown).
        """
        deadline = time.perf_counter() + budget_s
        with _gc_paused():
            pending = self._pending
            if pending is not None:
                if not pending.advance(deadline):
                    return False
                self._pending = None
                self._shown = pending.finish(self)
                return True
            nxt = self._next
            if isinstance(nxt, _Build) and nxt.advance(deadline):
                self._next = nxt.finish(self)
        return False

    def settle(self) -> None:
        """Finish every build now (tests, small tables, one-off consumers)."""
        while self.has_work:
            self.step(3600.0)

    def _order_by(self, column: str, query: Query) -> None:
        self._pending = _Build(self, column, query)
        self._settle_if_small()

    def _settle_if_small(self) -> None:
        if len(self.rows) <= self.sync_rows and self._pending is not None:
            while not self.step(3600.0):
                pass

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
            for order in self._orders():
                order.retarget(self.processes)
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
        if (
            conns is self.rows.live
            and (changed or gone)
            and any(not ghost for _, _, ghost in changed)
        ):
            # The source changed its published dict in place: the old records are lost.
            self._bulk(conns, ghosts)
        elif len(changed) + len(gone) > max(64, len(self.rows) // REBUILD_FRACTION):
            self._bulk(conns, ghosts)
        else:
            with _gc_paused():
                self._apply(conns, ghosts, changed, gone)
        return len(changed) + len(gone)

    def _apply(
        self,
        conns: Mapping[str, TcpConnection],
        ghosts: Mapping[str, Ghost],
        changed: list[tuple[str, TcpConnection, bool]],
        gone: list[str],
    ) -> None:
        """Move each changed row out of the orders (by its old record) and back in."""
        changed = list({iid: (iid, c, g) for iid, c, g in changed}.values())  # once each
        old_rows, old_ghosts = self.rows, self.ghosts
        orders, builds = self._orders(), self._builds()
        counts = self.counts_all
        for iid in [*gone, *(iid for iid, _, _ in changed)]:
            old = old_rows.get(iid)
            if old is None:
                for build in builds:
                    build.note(iid, None, False)
                continue
            was_ghost = iid in old_ghosts
            if not was_ghost:
                _dec(counts, old.state)
            for order in orders:
                order.discard(iid, old, was_ghost)
            for build in builds:
                build.note(iid, old, was_ghost)
        self.rows = rows = Rows(conns, {iid: g.connection for iid, g in ghosts.items()})
        self.ghosts = {iid: g.closed_at for iid, g in ghosts.items()}
        for order in orders:
            order.rows = rows
        for iid, conn, ghost in changed:
            if not ghost:
                counts[conn.state] = counts.get(conn.state, 0) + 1
            for order in orders:
                order.add(self, iid, conn, ghost)

    def _orders(self) -> list[_Order]:
        """Orders kept current by every tick."""
        orders = [self._shown] if self._shown.live else []
        if isinstance(self._next, _Order):
            orders.append(self._next)
        return orders

    def _builds(self) -> list[_Build]:
        builds = [self._pending] if self._pending is not None else []
        if isinstance(self._next, _Build):
            builds.append(self._next)
        return builds

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
        # New row maps, not the old ones changed: the shown order keeps reading the old rows
        # (consistent with its keys) until the new order is built.
        self.rows = Rows(conns, {iid: g.connection for iid, g in ghosts.items()})
        self.ghosts = {iid: g.closed_at for iid, g in ghosts.items()}
        counts: dict[TcpState, int] = {}
        for conn in conns.values():
            counts[conn.state] = counts.get(conn.state, 0) + 1
        self.counts_all = counts
        self._shown.live = False
        self._next = None
        self._order_by(self.sort_column, self.query)

    # --- group by process -------------------------------------------------------------
    def groups(self, by: str = "process") -> list[Group]:
        """Filtered live rows grouped by owning process (or by ``"container"``: namespace),
        busiest first, then by name."""
        by_pid: dict[int | None, Group] = {}
        rows = self._shown.rows
        for iid in self.ids():
            if iid in self.ghosts:
                continue
            conn = rows[iid]
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
