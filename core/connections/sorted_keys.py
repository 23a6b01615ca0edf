"""A sorted sequence kept in blocks: insert, remove and read by position without moving N items.

Why: the connection table's order is a sorted list of 50k–1M sort keys. In one flat list each
insertion or removal moves half the list (measured: about 40 µs at 250k, so a tick with 2,500
changes spent 150 ms on memmove alone). Here the keys sit in blocks of at most
:data:`BLOCK_MAX`; a change moves one block's worth, and a position is found through the
blocks' start offsets, recomputed lazily (one pass over N/1000 blocks after a change).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Final

BLOCK: Final = 1000
"""Keys per block when blocks are built from a sorted run."""
BLOCK_MAX: Final = 2 * BLOCK
"""A block that grows past this is split in two."""

K = tuple[object, ...]
"""A sort key: a tuple whose last item identifies the row (so every key is unique)."""


class SortedKeys:
    """Ascending keys (each present once), in blocks; see the module docstring."""

    __slots__ = ("_block_max", "_blocks", "_len", "_maxes", "_starts")

    def __init__(self, blocks: list[list[K]] | None = None, block_max: int = BLOCK_MAX) -> None:
        """Keys from ``blocks``: non-empty sorted lists, each one's keys below the next's."""
        self._block_max = block_max
        self._blocks: list[list[K]] = blocks or []
        self._maxes: list[K] = [b[-1] for b in self._blocks]
        self._len = sum(len(b) for b in self._blocks)
        self._starts: list[int] | None = None

    @classmethod
    def from_sorted(cls, keys: Iterable[K]) -> SortedKeys:
        """Keys from an ascending iterable."""
        run = list(keys)
        return cls([run[i : i + BLOCK] for i in range(0, len(run), BLOCK)])

    def __len__(self) -> int:
        """How many keys."""
        return self._len

    def __iter__(self) -> Iterator[K]:
        """Keys ascending."""
        for block in self._blocks:
            yield from block

    def __reversed__(self) -> Iterator[K]:
        """Keys descending."""
        for block in reversed(self._blocks):
            yield from reversed(block)

    def __getitem__(self, position: int) -> K:
        """The key at ``position`` (0 ≤ position < len)."""
        if not 0 <= position < self._len:
            raise IndexError(position)
        starts = self._offsets()
        i = bisect_right(starts, position) - 1
        return self._blocks[i][position - starts[i]]

    def _offsets(self) -> list[int]:
        starts = self._starts
        if starts is None:
            starts = self._starts = [0, *accumulate(len(b) for b in self._blocks)][:-1]
        return starts

    def index(self, key: K) -> int | None:
        """Position of ``key``, or None when it is not here."""
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return None
        block = self._blocks[i]
        j = bisect_left(block, key)
        if block[j] != key:
            return None
        return self._offsets()[i] + j

    def add(self, key: K) -> None:
        """Insert ``key`` (not already present) in order."""
        maxes, blocks = self._maxes, self._blocks
        self._len += 1
        self._starts = None
        if not blocks:
            blocks.append([key])
            maxes.append(key)
            return
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            blocks[i].append(key)
            maxes[i] = key
        else:
            insort(blocks[i], key)
        block = blocks[i]
        if len(block) > self._block_max:
            half = len(block) // 2
            blocks.insert(i + 1, block[half:])
            del block[half:]
            maxes[i] = block[-1]
            maxes.insert(i + 1, blocks[i + 1][-1])

    def remove(self, key: K) -> bool:
        """Remove ``key``; False (and nothing changed) when it is not here."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return False
        block = self._blocks[i]
        j = bisect_left(block, key)
        if block[j] != key:
            return False
        del block[j]
        self._len -= 1
        self._starts = None
        if not block:
            del self._blocks[i]
            del maxes[i]
        elif j == len(block):
            maxes[i] = block[-1]
        return True
