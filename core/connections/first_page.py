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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.connections.model import TcpConnection, TcpState

PAGE_COLUMN = "state"
"""The one sort column a first page can be worked out for before the records exist."""


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
    groups: Iterable[tuple[int, Callable[[], Sequence[bytes]]]],
    ports: Callable[[bytes], bytes],
    record: Callable[[bytes], TcpConnection],
    request: PageRequest,
) -> tuple[TcpConnection, ...]:
    """The ``request.rows`` records that sort first (last when reversed) by State.

    ``groups`` are the States in display order, each as its number of sockets and a way to
    list their keys (called only for the States the page reaches); ``ports`` gives a key's
    local and remote port, big-endian (so bytes order is number order). Within the last State
    reached, only the keys that tie at the page's edge are built beyond the page, to break
    the tie as the table does (InstanceID): the page is the one the whole table shows.
    """
    pick = heapq.nlargest if request.reverse else heapq.nsmallest
    picked: list[bytes] = []
    for count, keys_of in groups:
        need = request.rows - len(picked)
        if need <= 0:
            break
        keys = keys_of()
        if count <= need:
            picked.extend(keys)
            continue
        chosen = pick(need, keys, key=ports)
        edge = ports(chosen[-1])
        picked.extend(k for k in chosen if ports(k) != edge)
        picked.extend(k for k in keys if ports(k) == edge)
    from core.connections.sort_keys import key_func  # the sampler's module stays light

    key = key_func(PAGE_COLUMN)
    records = sorted((record(k) for k in picked), key=key, reverse=request.reverse)
    return tuple(records[: request.rows])
