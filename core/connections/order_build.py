"""A new order (another column or query, or a first snapshot) made in bounded steps.

Why: sorting 250k keys in one go holds the UI (and the GIL) for half a second. Here rows are
keyed and sorted a chunk at a time, and the sorted chunks merged a block at a time; rows that
change meanwhile are noted in the order (:attr:`core.connections.row_order.RowOrder.dirty`)
and moved once it is whole, like any other order's.

UI-free: it imports neither Textual nor Rich.
"""

from __future__ import annotations

import gc
import heapq
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice

from core.connections.model import ProcessInfo, TcpConnection
from core.connections.query import Query
from core.connections.row_order import NamespaceOf, RowContext, RowOrder, Rows
from core.connections.sort_keys import key_func
from core.connections.sorted_keys import BLOCK, SortedKeys


class OrderBuild:
    """Makes :attr:`order` over the rows as they were when it started, in :meth:`advance`
    steps of about ``chunk_rows`` rows each."""

    def __init__(
        self,
        context: RowContext,
        column: str,
        query: Query,
        processes: Mapping[int, ProcessInfo],
        rows: Rows,
        chunk_rows: int,
    ) -> None:
        self.column, self.query = column, query
        self.order = RowOrder(column, query, key_func(column, processes), rows)
        self.done = False
        # The rows as they are now (read lazily: they never change, see Rows); later changes
        # are noted in the order and moved when it is whole. A function of its own, not a
        # method: a generator holding this build would make a cycle, and a build dropped
        # half-way (another re-sort) would keep an old snapshot until a full collection.
        # The namespace names as they are now, too: a change of them is not followed by a
        # build (see RowIndex), it is noted as :attr:`RowOrder.names` and checked once whole.
        self.order.names = context.namespaces
        self._steps = _steps(
            self.order,
            context.proc,
            context.namespace_of,
            rows.pairs(),
            set(rows.ghosts),
            chunk_rows,
        )

    def advance(self, deadline: float) -> bool:
        """Work until ``deadline`` (perf_counter); True once every row is in order."""
        if not self.done:
            for _ in self._steps:
                if time.perf_counter() >= deadline:
                    return False
            self.done = True
        return True


def _steps(
    order: RowOrder,
    proc: Callable[[TcpConnection], ProcessInfo | None],
    namespace_of: NamespaceOf,
    items: Iterator[tuple[str, TcpConnection]],
    ghosts: set[str],
    size: int,
) -> Iterator[None]:
    """Key and sort ``size`` rows a step, then merge the sorted runs a block a step."""
    query, key, counts, stored = order.query, order.key, order.counts, order.stored
    runs: list[tuple[str, ...]] = []  # tuples of strings: the cyclic GC soon stops tracking them
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
        runs.append(tuple([str(k[-1]) for k in keys]))  # a key ends with its row's InstanceID
        # Not held across the pause: 4k (id, record) pairs and 4k key tuples, young, would be
        # walked by every young collection the UI makes until the next step (at 250k rows a
        # build runs for seconds after each re-sort, while keys are pressed).
        del chunk, keys
        yield
    of = order.keys.key
    if len(runs) <= 1:
        order.keys = SortedKeys.from_sorted(of, runs[0] if runs else ())
        return
    merged = heapq.merge(*runs, key=of)
    blocks: list[tuple[str, ...]] = []
    while block := tuple(islice(merged, min(BLOCK, size))):
        blocks.append(block)
        yield
    order.keys = SortedKeys(of, blocks)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while a rebuild allocates 50k key tuples (measured: it triggers dozens of
    collections, a full one among them, tripling a re-sort's time). Nothing here is cyclic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
