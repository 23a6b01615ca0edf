"""The first page of a live view: the rows on screen, before the rest of the first sample.

Why: at 50k sockets a first sample builds 50k records and scans every process's fd table
(about a second), yet the first frame shows some 40 rows. Once the kernel's dump is parsed,
the rows that sort first are known from the raw socket keys alone; building just those
records lets the UI draw a true first page while the rest is built. Their owners are not
looked up yet, and say so (:attr:`core.connections.model.OwnerStatus.RESOLVING`).

Only the default order (State, then local and remote port) is known from raw keys; other
orders need every record (addresses as text, owners) and take the whole first sample.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from core.connections.model import TcpConnection, TcpState

PAGE_COLUMN = "state"
"""The one sort column a first page can be worked out for before the records exist."""

SortPrefix = tuple[int, bytes, bytes]
"""``(int(State), local port, remote port)``, ports big-endian: a prefix of the State key."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What the UI will show first: this many rows of the State order."""

    rows: int
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class FirstPage:
    """The first rows of a first sample, in display order, with the whole sample's counts."""

    rows: tuple[TcpConnection, ...]
    total: int
    """Connections in the whole sample (the table's length once the rest arrives)."""
    counts: Mapping[TcpState, int]
    """Connections per State in the whole sample."""
    reverse: bool = False


def first_rows(
    keys: Iterable[bytes],
    prefix: Callable[[bytes], SortPrefix],
    record: Callable[[bytes], TcpConnection],
    request: PageRequest,
) -> tuple[TcpConnection, ...]:
    """The ``request.rows`` records that sort first (last when reversed) by State.

    ``prefix`` must agree with the State key's first three parts for every key; only the
    keys that tie at the page's edge are built as records to break the tie exactly, so the
    page is the one the full table shows.
    """
    decorated = [(prefix(k), k) for k in keys]
    pick = heapq.nlargest if request.reverse else heapq.nsmallest
    chosen = pick(request.rows, decorated)
    if not chosen:
        return ()
    edge = chosen[-1][0]
    candidates = {k for p, k in chosen if p != edge}
    candidates.update(k for p, k in decorated if p == edge)
    from core.connections.query import key_func  # the sampler's module stays light

    key = key_func(PAGE_COLUMN)
    records = sorted((record(k) for k in candidates), key=key, reverse=request.reverse)
    return tuple(records[: request.rows])
