"""The sorted, filtered index behind the connection table, updated in O(changes) per tick.

Why it exists: at 50k connections a full re-sort every tick costs tens of milliseconds. The
sources hand back the very same record object for an unchanged connection, so an identity
check finds what changed; only those rows are re-keyed and moved with bisect. The index keeps
keys ascending; a descending view just reads it backwards. Ghost rows (recently closed
connections) live in the same index, flagged, until their time-to-live runs out.

This module decides which order is worked on when: the one shown, the one asked for (being
built, :mod:`core.connections.order_build`) and the next sort column's (prepared while idle);
a tick only notes what changed in each (:mod:`core.connections.row_order`), and the moves are
made at once when they are few, else in :meth:`RowIndex.step` slices like the builds.

A build, once begun, runs to its end: only the user (another sort column or filter) drops it.
A tick with many changes notes them in it, and new namespace names (an ``ns:``/``container:``
filter) make the shown order again once it is whole. Why: a build needs a second or more of
slices at 250k rows; begun again by each such tick (1/8 of the rows changed, other people's
namespaces coming and going) it never ended, and a filter asked for was not shown for minutes.

The grouped view (one row per process or container) is :mod:`core.connections.row_groups`.

UI-free: it imports neither Textual nor Rich, so it is tested and benchmarked on its own.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from operator import attrgetter

from core.connections.model import ProcessInfo, TcpConnection, TcpState
from core.connections.namespaces import (
    NamespaceInfo,
    NamespaceView,
    ghost_namespace,
    namespace_finder,
)
from core.connections.order_build import OrderBuild, gc_paused
from core.connections.query import EMPTY_QUERY, Query
from core.connections.row_groups import Group, group_row_id, group_rows
from core.connections.row_order import MOVES_PER_CHECK, NamespaceOf, RowOrder, Rows, dec
from core.connections.snapshot import Ghost, GhostDelta, Snapshot
from core.connections.sort_keys import key_func
from core.connections.tick_changes import TickChanges, ghost_maps, tick_changes

REBUILD_FRACTION = 8
"""Above 1/8 of the rows changing, one new order beats many bisect insertions."""
SYNC_ROWS = 5000
"""Up to this many rows a new order is made, and a tick's rows moved, at once (a few ms);
above, in bounded slices."""
CHUNK = 2048
"""Rows keyed and sorted per step of a build (1-2 ms here; a slice looks at the clock after
each, so a slice ends at most this much past its budget: with 4096, UI callbacks of a 10-12 ms
budget took 18-30 ms of CPU at 250k rows on a busy host, and a key pressed then waited)."""
MOVES_AT_ONCE = 256
"""Above :data:`SYNC_ROWS` rows, a tick moves up to this many rows at once (all orders
together, a few ms at 250k rows); more wait for :meth:`RowIndex.step` slices."""
TICK_BUDGET_S = 0.008
"""Beyond those, a tick moves rows for this long (a step's slice): at 50k rows with 1% churn
that is usually all of them, at 250k a fraction."""
RETIRE_ROWS = 16_384
"""Rows of a dropped order let go of per :meth:`RowIndex.step` (a couple of ms at most)."""
_STATE = attrgetter("state")


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
        self._ghost_owners: dict[str, ProcessInfo] = {}
        """Ghost row → the process that owned it when it closed: a sample lists only the
        processes alive, and a ghost of a process ended (``K``) lost its name."""
        self.namespaces: NamespaceView | None = None
        self.namespace_of: NamespaceOf = namespace_finder(None)
        """The namespace of a row (for the ``ns:``/``container:`` filters and grouping)."""
        self.hidepid: str | None = None
        """Why other users' owners are hidden, when a hidepid /proc does it (the last
        snapshot's Privilege.hidepid): the note of their group."""
        self.counts_all: dict[TcpState, int] = {}
        """Live rows by State, current at each tick (see :meth:`counts`)."""
        self._agreed: tuple[Query, dict[TcpState, int], dict[TcpState, int]] | None = None
        """The last :meth:`counts` taken while the shown order was current, and its query."""
        self.sync_rows = SYNC_ROWS
        """Up to this many rows a new order is made at once; above, in :meth:`step` slices."""
        self.chunk_rows = CHUNK
        """Rows keyed and sorted per unit of a build's work."""
        self.moves_at_once = MOVES_AT_ONCE
        """Above :attr:`sync_rows`, a tick moves this many rows at most before it returns."""
        self.move_batch = MOVES_PER_CHECK
        """Rows moved between two looks at the clock in a :meth:`step`."""
        self.tick_budget_s = TICK_BUDGET_S
        """How long a tick may go on moving rows beyond :attr:`moves_at_once` (0: none)."""
        self._shown = RowOrder(sort_column, EMPTY_QUERY, key_func(sort_column), self.rows)
        self._pending: OrderBuild | None = None
        """The order asked for, being built (the shown one stays until it is done)."""
        self._next: OrderBuild | RowOrder | None = None
        """The next sort column's order, prepared while idle (see :meth:`prepare`)."""
        self._retired: list[RowOrder] = []
        """Orders no longer used, let go of a slice per :meth:`step` (see :meth:`RowOrder.shed`)."""
        self.retire_rows = RETIRE_ROWS
        """Rows of a dropped order let go of per step."""
        self._last_seq: int | None = None
        self._ghosts: dict[str, Ghost] = {}
        """The ghost rows' Ghosts (a tick finds new ones by identity)."""
        self._ghost_gen: int | None = None
        """The sampler's generation :attr:`_ghosts` are (GhostDelta.gen), when they are all
        of its ghosts: the next snapshot's delta then applies to them."""

    # --- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        """Rows that pass the filter (ghosts included)."""
        return len(self._shown.keys)

    @property
    def building(self) -> bool:
        """True while the asked-for order (sort column, filter) is still being made (not
        while the shown one, current, is only made again for new namespace names)."""
        pending = self._pending
        if pending is None:
            return False
        shown = self._shown
        return not (shown.live and shown.column == pending.column and shown.query is pending.query)

    @property
    def catching_up(self) -> bool:
        """True while rows of the shown order wait to be moved to their new records."""
        return self._shown.live and bool(self._shown.dirty)

    @property
    def shown_column(self) -> str:
        """The column the rows are in order of now (:attr:`sort_column` once built)."""
        return self._shown.column

    @property
    def counts_filtered(self) -> dict[TcpState, int]:
        """Live rows that pass the filter, by State."""
        return self._shown.counts

    def counts(self) -> tuple[dict[TcpState, int], dict[TcpState, int]] | None:
        """Live rows by State, all and those that pass the filter, of one moment: the
        current ones, or while the shown order lags the rows (a tick's moves waiting for
        slices, or a new order being made after many changes) the last taken when it did
        not. None when there are none for the shown order's filter (a new filter shown
        before its rows are moved).

        Why: :attr:`counts_all` is current at each tick, :attr:`counts_filtered` only as
        rows are moved; paired, the count line read ``CloseWait 2/1 │ 2 of 30335 shown``
        after a CloseWait connection closed.
        """
        shown = self._shown
        if shown.live and not shown.dirty:  # copies: both dicts change in place
            self._agreed = (shown.query, dict(self.counts_all), dict(shown.counts))
            return self.counts_all, shown.counts
        if shown.query.empty:  # all rows pass: the counts of all rows are the filter's
            return self.counts_all, self.counts_all
        agreed = self._agreed
        if agreed is None or agreed[0] is not shown.query:
            return None
        return agreed[1], agreed[2]

    def row_id(self, position: int) -> str:
        """InstanceID at ``position`` of the current (possibly descending) order."""
        keys = self._shown.keys
        if self.reverse:
            position = len(keys) - 1 - position
        return keys[position]

    def record(self, row_id: str) -> TcpConnection:
        """The record a shown row was sorted by (KeyError when it is not listed)."""
        conn = self._shown.keyed(row_id)
        if conn is None:
            raise KeyError(row_id)
        return conn

    def position(self, row_id: str) -> int | None:
        """Where ``row_id`` is in the current order, or None when it is not shown."""
        order = self._shown
        conn = order.keyed(row_id)
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
        """New namespace names: a filter on them sees them from now on (rows re-checked: at
        once when nothing is being built, else once the build under way is whole)."""
        self.namespaces = view
        self.namespace_of = self._namespace_finder(view)
        if self._pending is None and self._names_changed(self._shown):
            self._order_by(self.sort_column, self.query)

    def _names_changed(self, order: RowOrder) -> bool:
        """Whether ``order`` filters on namespace names that changed since it was made."""
        return order.names is not self.namespaces and any(
            t.key in ("ns", "container") for t in order.query.tokens
        )

    def _namespace_finder(self, view: NamespaceView | None) -> NamespaceOf:
        """:func:`namespace_finder` for ``view``, a ghost row given its own namespace
        (:func:`ghost_namespace`: its key may name another one by now)."""
        find = namespace_finder(view)
        if view is None:
            return find

        def of(conn: TcpConnection) -> NamespaceInfo | None:
            live = find(conn)
            if conn.netns is None:
                return live
            ghost = self._ghosts.get(conn.instance_id)
            if ghost is None or ghost.namespace is None:
                return live
            return ghost_namespace(ghost.namespace, live)

        return of

    def kept_namespace(self, row_id: str) -> NamespaceInfo | None:
        """A ghost row's own namespace (:attr:`Ghost.namespace`); None for a live row."""
        ghost = self._ghosts.get(row_id)
        return None if ghost is None else ghost.namespace

    def proc(self, conn: TcpConnection) -> ProcessInfo | None:
        """The owning process record of ``conn``, if known; for a ghost, the one it had
        when it closed (its process may have exited since, or its PID gone to another)."""
        pid = conn.owning_process
        if pid is None:
            return None
        if self._ghost_owners:
            owner = self._ghost_owners.get(conn.instance_id)
            if owner is not None:
                return owner
        return self.processes.get(pid)

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
            self._retire(self._pending)
            if isinstance(ready, RowOrder):
                self._pending = None
                self._shown, old = ready, self._shown
                self._retire(old)
                if self._names_changed(ready):
                    self._pending = self._build(column, self.query)
                self._settle_if_small()
                return
            self._pending = ready  # prepared in part: finish it first
            self._settle_if_small()
            return
        self._retire(ready)
        self._order_by(column, self.query)

    def set_query(self, query: Query) -> None:
        """Filter by ``query`` (every row is checked once, in slices above :attr:`sync_rows`)."""
        self.query = query
        self._retire(self._next)
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
        self._retire(nxt)
        self._next = self._build(column, self.query)

    @property
    def retiring(self) -> bool:
        """True while dropped orders still hold rows (let go of in :meth:`step` slices)."""
        return bool(self._retired)

    def _retire(self, old: OrderBuild | RowOrder | None) -> None:
        """Let go of ``old`` (an order, or a build's) a slice at a time, not at once."""
        order = old.order if isinstance(old, OrderBuild) else old
        if order is not None and order is not self._shown and len(order.keys) > self.sync_rows:
            self._retired.append(order)

    @property
    def has_work(self) -> bool:
        """True while :meth:`step` has something to do."""
        nxt = self._next
        return (
            self._pending is not None
            or self.catching_up
            or isinstance(nxt, OrderBuild)
            or (nxt is not None and bool(nxt.dirty))
        )

    def step(self, budget_s: float = 0.01) -> bool:
        """Work for about ``budget_s``: the shown order's moves first, then a slice of a
        dropped order let go of, then the order asked for, then the prepared one.

        Returns True when the shown rows changed (moved, or the asked-for order is shown).
        """
        deadline = time.perf_counter() + budget_s
        with gc_paused():
            shown = self._shown
            changed = False
            if shown.live and shown.dirty:
                changed = True
                if not shown.catch_up(self, deadline, self.move_batch):
                    return True
            # Before the builds: under churn one may follow another for long, and the orders
            # they drop would pile up meanwhile.
            retired = self._retired
            if retired and retired[-1].shed(self.retire_rows):
                retired.pop()
            pending = self._pending
            if pending is not None:
                if not pending.advance(deadline):
                    return changed
                order = pending.order
                self._pending = None
                self._shown = order  # its rows changed meanwhile are moved next
                self._retire(shown)
                if len(order.dirty) <= self.moves_at_once:
                    order.catch_up(self, math.inf)
                if self._names_changed(order):  # while it was built: checked again
                    self._pending = self._build(order.column, order.query)
                return True
            nxt = self._next
            if isinstance(nxt, OrderBuild):
                if nxt.advance(deadline):
                    self._next = nxt.order
            elif nxt is not None and nxt.dirty:
                nxt.catch_up(self, deadline, self.move_batch)
        return changed

    def settle(self) -> None:
        """Finish every build and move now (tests, small tables, one-off consumers)."""
        while self.has_work or self._retired:
            self.step(3600.0)

    def _build(self, column: str, query: Query) -> OrderBuild:
        return OrderBuild(self, column, query, self.processes, self.rows, self.chunk_rows)

    def _order_by(self, column: str, query: Query) -> None:
        self._retire(self._pending)
        self._pending = self._build(column, query)
        self._settle_if_small()

    def _settle_if_small(self) -> None:
        if len(self.rows) <= self.sync_rows:
            while self._pending is not None or self.catching_up:
                self.step(3600.0)

    # --- ticks ------------------------------------------------------------------------
    def update(self, snap: Snapshot, ghost_ttl_s: float) -> int:
        """Bring the index to ``snap``; returns how many rows changed.

        When ``snap`` follows the last snapshot applied here, its diff (worked out once, by the
        source and the sampler) covers everything in between and the work is O(changes).
        Otherwise (a first snapshot, a jump in a replay), or when the diff does not add up,
        each row's record is checked by identity: O(N), about 10-15 ms at 50k. Rows are moved
        at once when few (:attr:`moves_at_once`), else in :meth:`step` slices.
        """
        if snap.namespaces is not self.namespaces:
            self._set_namespaces(snap.namespaces)
        self.hidepid = snap.privilege.hidepid
        before = self.processes
        if snap.processes is not self.processes:
            self.processes = snap.processes
            for order in self._tracked():
                order.retarget(self.processes)
        last, self._last_seq = self._last_seq, snap.seq
        follows = last is not None and 0 <= snap.seq - last <= 1 + snap.skipped
        conns = snap.connections
        # The sampler's ghosts as a change of the last ones applied here, when that is what
        # they are (see GhostDelta): a tick then follows the churn, not the ghosts' number.
        delta = snap.ghost_delta
        if delta is not None and (delta.of is not snap.ghosts or delta.ttl_s > ghost_ttl_s):
            # ghosts rewritten since (redacted), or shown for less time than the sampler keeps
            # them: each is looked at
            delta = None
        if delta is not None and delta.gen == self._ghost_gen:  # the same ones (republished)
            delta = GhostDelta(delta.gen, delta.gen, delta.ttl_s, (), frozenset(), delta.of)
        applies = delta is not None and delta.since == self._ghost_gen
        self._ghost_gen = delta.gen if delta is not None else None
        if not self.rows and len(conns) > self.sync_rows:
            # A first large snapshot: every row is new, nothing to compare (at 250k, a look
            # at each row's record and a list of them all cost 50 ms for nothing).
            ghosts, ghost_rows, closed = ghost_maps(snap, ghost_ttl_s)
            self._bulk(conns, TickChanges(ghosts, [], [], [], ghost_rows, closed))
            return len(conns)
        tick = tick_changes(
            snap,
            self.rows,
            self._ghosts,
            ghost_ttl_s,
            follows,
            closed=self.ghosts,
            delta=delta if applies else None,
        )
        self._keep_ghost_owners(tick, before)
        if conns is self.rows.live and tick.live:
            # The source changed its published dict in place: the old records are lost.
            self._bulk(conns, tick)
        elif tick.count > max(64, len(self.rows) // REBUILD_FRACTION):
            self._bulk(conns, tick)
        else:
            self._note(conns, tick)
            with gc_paused():
                self._move_few()
        return tick.count

    def _keep_ghost_owners(self, tick: TickChanges, before: Mapping[int, ProcessInfo]) -> None:
        """Note the owner of each new ghost (from this sample, else the one before: a process
        with no socket left is in neither once it has exited), and forget those of rows gone
        or open again. O(changes)."""
        owners = self._ghost_owners
        for iid in tick.ghosted:
            conn = tick.ghost_rows.get(iid)
            pid = conn.owning_process if conn is not None else None
            if pid is not None and iid not in owners:
                proc = self.processes.get(pid) or before.get(pid)
                if proc is not None:
                    owners[iid] = proc
        if owners:
            for iid in (*tick.gone, *tick.live):
                owners.pop(iid, None)

    def _note(self, conns: Mapping[str, TcpConnection], tick: TickChanges) -> None:
        """Note each changed row in every order (by the record it is in order by now), and
        take the new rows; the counts of all rows are current at once."""
        old_live, old_dead = self.rows.live, self.rows.ghosts
        orders = self._tracked()
        dirties = [order.dirty for order in orders]
        counts = self.counts_all
        entry: tuple[TcpConnection | None, bool]
        for ids in (tick.live, tick.ghosted, tick.gone):
            for iid in ids:
                old = old_live.get(iid)
                if old is not None:
                    dec(counts, old.state)
                    entry = (old, False)
                else:
                    old = old_dead.get(iid)
                    entry = (old, old is not None)
                for dirty in dirties:
                    dirty.setdefault(iid, entry)  # a row noted twice keeps its first record
        for iid in tick.live:
            state = conns[iid].state
            counts[state] = counts.get(state, 0) + 1
        self._take_rows(conns, tick)
        for order in orders:
            order.take_rows(self.rows)

    def _take_rows(self, conns: Mapping[str, TcpConnection], tick: TickChanges) -> None:
        self.rows = Rows(conns, tick.ghost_rows)
        self.ghosts = tick.closed
        self._ghosts = tick.ghosts

    def _move_few(self) -> None:
        """Move the noted rows now if they are few (or the table small); else as many as
        :attr:`tick_budget_s` allows (often all: no second frame for them), the rest in
        :meth:`step` slices, which the table runs between keypresses."""
        orders = [o for o in self._tracked() if o.dirty and self._may_move(o)]
        moves = sum(len(o.dirty) for o in orders)
        if not moves:
            return
        if moves <= self.moves_at_once or len(self.rows) <= self.sync_rows:
            for order in orders:
                order.catch_up(self, math.inf)
        elif self.tick_budget_s > 0:
            self.step(self.tick_budget_s)

    def _may_move(self, order: RowOrder) -> bool:
        """Orders being built take their moves once whole."""
        return not any(build.order is order for build in self._builds())

    def _tracked(self) -> list[RowOrder]:
        """Orders kept current by every tick (those being built included)."""
        orders = [self._shown] if self._shown.live else []
        orders.extend(build.order for build in self._builds())
        if isinstance(self._next, RowOrder):
            orders.append(self._next)
        return orders

    def _builds(self) -> list[OrderBuild]:
        builds = [self._pending] if self._pending is not None else []
        if isinstance(self._next, OrderBuild):
            builds.append(self._next)
        return builds

    def _bulk(self, conns: Mapping[str, TcpConnection], tick: TickChanges) -> None:
        """Many rows changed: a new order rather than many moves, unless one is being built
        (its rows are noted in it then, moved once it is whole: begun again by every such
        tick, a build longer than a sample never ended)."""
        # New row maps, not the old ones changed: the shown order keeps reading the old rows
        # (consistent with its keys) until the new order is built.
        self._shown.live = False
        self._retire(self._next)
        self._next = None
        if self._pending is not None and self.rows and conns is not self.rows.live:
            self._note(conns, tick)
            return
        self._take_rows(conns, tick)
        self.counts_all = dict(Counter(map(_STATE, conns.values())))  # in C: 250k rows, 10 ms
        self._order_by(self.sort_column, self.query)

    # --- group by process -------------------------------------------------------------
    def group_row_id(self, conn: TcpConnection, by: str = "process") -> str:
        """The row id of the group :meth:`groups` puts ``conn`` in (see
        :func:`core.connections.row_groups.group_row_id`)."""
        return group_row_id(conn, by, self.namespace_of)

    def groups(self, by: str = "process") -> list[Group]:
        """Filtered rows grouped by owning process (or by ``"container"``: namespace), busiest
        first, then by name; a group's ghosts are listed in it, not counted."""
        return group_rows(
            self.ids(),
            self._shown.keyed,
            by,
            ghosts=self.ghosts,
            proc=self.proc,
            namespace_of=self.namespace_of,
            namespaces=self.namespaces,
            hidepid=self.hidepid,
        )
