"""One column's order over the table's rows, moved row by row as connections change.

Why a module: the connection table keeps two such orders current at once (the shown column
and the next one, see :mod:`core.connections.row_index`), and each may be made in slices
(:mod:`core.connections.order_build`). What they share lives here: the rows they read
(:class:`Rows`), the block-sorted ids and State counts (:class:`RowOrder`), and the rows
whose records changed since they were put in order (:attr:`RowOrder.dirty`). A tick only
notes those; moving them is :meth:`RowOrder.catch_up`'s, in bounded slices when there are
many (at 250k rows each move costs tens of microseconds: 1% churn is 5,000 moves).

UI-free: it imports neither Textual nor Rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from typing import Any, Final, Protocol

from core.connections.model import ProcessInfo, TcpConnection, TcpState
from core.connections.namespaces import NamespaceInfo, NamespaceView
from core.connections.query import Query
from core.connections.sort_keys import NEEDS_PROCESS, RowKey, SortKey, key_func
from core.connections.sorted_keys import SortedKeys

MOVES_PER_CHECK: Final = 32
"""Rows moved between two looks at the clock while catching up."""

NamespaceOf = Callable[[TcpConnection], NamespaceInfo | None]


class RowContext(Protocol):
    """What a query needs beside a row's record: its process and its namespace."""

    namespace_of: NamespaceOf
    namespaces: NamespaceView | None
    """The namespace names :attr:`namespace_of` reads."""

    def proc(self, conn: TcpConnection) -> ProcessInfo | None:
        """The owning process record of ``conn``, if known."""
        ...


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


class _Reader:
    """What a row's key is read from: kept apart from :class:`RowOrder` so that the key
    function its :class:`SortedKeys` holds makes no reference cycle (an order dropped after a
    re-sort is then freed at once, not left, with its 250k ids, to the cyclic collector)."""

    __slots__ = ("dirty", "key", "rows")

    def __init__(self, key: RowKey, rows: Rows) -> None:
        self.key, self.rows = key, rows
        self.dirty: dict[str, tuple[TcpConnection | None, bool]] = {}

    def key_of(self, iid: str) -> SortKey:
        """The key row ``iid`` is in order by (it must be in the order)."""
        dirty = self.dirty
        if dirty:
            held = dirty.get(iid)
            if held is not None and held[0] is not None:
                return self.key(held[0])
        rows = self.rows
        conn = rows.live.get(iid)
        return self.key(conn if conn is not None else rows.ghosts[iid])


class RowOrder:
    """One column's order over the rows that pass one query, and their State counts.

    A row sits where its key put it: the key of its record in the rows last taken (see
    :meth:`take_rows`), or for a row in :attr:`dirty`, of the record noted there (the one it
    was put in order by). Reading by position is therefore always consistent, also while rows
    wait to be moved.
    """

    __slots__ = (
        "_reader",
        "column",
        "counts",
        "dirty",
        "keys",
        "live",
        "names",
        "query",
        "stored",
    )

    def __init__(self, column: str, query: Query, key: RowKey, rows: Rows) -> None:
        self.column, self.query = column, query
        self.counts: dict[TcpState, int] = {}
        self._reader = _Reader(key, rows)
        self.dirty = self._reader.dirty
        """Rows changed since they were put in order: the record they are in order by (None:
        not in it) and whether it was a ghost's. :meth:`catch_up` moves them."""
        self.live = True
        """Kept current by every tick; False: a stale order shown while its successor builds."""
        self.names: NamespaceView | None = None
        """The namespace names its rows were matched against when it was made: an
        ``ns:``/``container:`` query's order is made again once they change."""
        self.stored: dict[str, SortKey] | None = {} if column in NEEDS_PROCESS else None
        """Keys by InstanceID, only where a row's key cannot be made again from its record
        (process and user names change under a PID); other keys are made again when needed."""
        self.keys = SortedKeys(
            self._reader.key_of if self.stored is None else self.stored.__getitem__
        )

    @property
    def key(self) -> RowKey:
        """The key of a record (for this column)."""
        return self._reader.key

    def take_rows(self, rows: Rows) -> None:
        """The rows' current records from now on (their changes noted in :attr:`dirty`)."""
        self._reader.rows = rows

    def keyed(self, iid: str) -> TcpConnection | None:
        """The record row ``iid`` is in order by (None when it is not in the rows)."""
        dirty = self.dirty
        if dirty:
            held = dirty.get(iid)
            if held is not None:
                return held[0]
        conn: TcpConnection | None = self._reader.rows.get(iid)
        return conn

    def add(self, index: RowContext, iid: str, conn: TcpConnection, ghost: bool) -> None:
        """Put ``conn`` in order if it passes the query (its row must not be dirty)."""
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
                dec(self.counts, conn.state)

    def note(self, iid: str, old: TcpConnection | None, ghost: bool) -> None:
        """Row ``iid`` changes (``old``: the record it is in order by now, None if it has
        none): it is moved by :meth:`catch_up`. A row noted twice keeps its first record."""
        if iid not in self.dirty:
            self.dirty[iid] = (old, ghost)

    def catch_up(self, index: RowContext, deadline: float, batch: int = MOVES_PER_CHECK) -> bool:
        """Move dirty rows to their current records until ``deadline`` (perf_counter; ``inf``:
        all of them), ``batch`` rows between looks at the clock; True once none is left."""
        dirty, rows = self.dirty, self._reader.rows
        while dirty:
            for _ in range(batch):
                if not dirty:
                    break
                iid, (old, was_ghost) = dirty.popitem()
                if old is not None:
                    self.discard(iid, old, was_ghost)
                conn = rows.get(iid)
                if conn is not None:
                    self.add(index, iid, conn, iid in rows.ghosts)
            if time.perf_counter() >= deadline:
                return not dirty
        return True

    def shed(self, rows: int) -> bool:
        """Let go of up to ``rows`` of this dropped order's rows, its stored keys first; True
        once none is left.

        Why: an order dropped at once freed its 250k stored key tuples in the call that
        dropped it: 25 ms of the UI thread's CPU (125 ms of wall time) for the `s` from User
        to Age at 250k rows (measured on the netlink source).
        """
        stored = self.stored
        if stored:
            for _ in range(min(rows, len(stored))):
                stored.popitem()
            return False
        return self.keys.shed(rows)

    def retarget(self, processes: Mapping[int, ProcessInfo]) -> None:
        """New process records: rows keyed from now on see their names."""
        if self.stored is not None:
            self._reader.key = key_func(self.column, processes)


def dec(counts: dict[TcpState, int], state: TcpState) -> None:
    """One fewer row in ``state`` (the State leaves ``counts`` at zero)."""
    left = counts.get(state, 0) - 1
    if left > 0:
        counts[state] = left
    else:
        counts.pop(state, None)
