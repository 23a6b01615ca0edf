"""Row ids kept sorted by a key, in blocks: insert, remove and read by position cheaply.

Why blocks: the connection table's order holds 50k–1M rows. In one flat list each insertion
or removal moves half the list (measured: about 40 µs at 250k, so a tick with 2,500 changes
spent 150 ms on memmove alone). Here the rows sit in blocks of at most :data:`BLOCK_MAX`; a
change moves one block's worth, and a position is found through the blocks' start offsets,
recomputed lazily (one pass over N/1000 blocks after a change).

Why row ids, not keys: a stored key tuple costs 72 bytes per row and per order (two orders
are kept: the shown one and the next column's); an id is a reference to the record's own
InstanceID string. Keys are computed when a bisection looks at a row (about ten per insertion;
a removal finds its row by identity), and the caller keeps the key function's answers stable
while a row is in (see :meth:`remove`).

Why tuples, not lists, for blocks: a block holds only strings, and CPython stops tracking such
a tuple once its cyclic collector has looked at it; a list of ids stays tracked, and every
full collection walked each of them (at 250k rows the two orders' blocks were half of the
~1M references a full collection followed: 30-60 ms a pass, on whichever thread allocated,
the UI's included). A change makes a new block (a copy of at most :data:`BLOCK_MAX`
references: about a microsecond, next to the tens a move costs).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate
from typing import Final

BLOCK: Final = 1000
"""Rows per block when blocks are built from a sorted run."""
BLOCK_MAX: Final = 2 * BLOCK
"""A block that grows past this is split in two."""

Key = tuple[object, ...]
"""A sort key: unique per row (its last item is the row id)."""
KeyOf = Callable[[str], Key]
Block = tuple[str, ...]
"""Ascending row ids (never changed: a change makes a new block)."""


class SortedKeys:
    """Row ids ascending by ``key`` (each present once), in blocks; see the module docstring."""

    __slots__ = ("_block_max", "_blocks", "_len", "_maxes", "_starts", "key")

    def __init__(
        self, key: KeyOf, blocks: Iterable[Sequence[str]] = (), block_max: int = BLOCK_MAX
    ) -> None:
        """Rows of ``blocks`` (non-empty, ascending, each block's rows below the next's)."""
        self.key = key
        """The key of a row id; must answer the same for a row while it is in."""
        self._block_max = block_max
        self._blocks: list[Block] = [tuple(b) for b in blocks]
        self._maxes: list[Key] = [key(b[-1]) for b in self._blocks]
        self._len = sum(len(b) for b in self._blocks)
        self._starts: list[int] | None = None

    @classmethod
    def from_sorted(cls, key: KeyOf, ids: Iterable[str]) -> SortedKeys:
        """Rows from ids already ascending by ``key``."""
        run = tuple(ids)
        return cls(key, [run[i : i + BLOCK] for i in range(0, len(run), BLOCK)])

    def __len__(self) -> int:
        """How many rows."""
        return self._len

    def __iter__(self) -> Iterator[str]:
        """Row ids ascending."""
        for block in self._blocks:
            yield from block

    def __reversed__(self) -> Iterator[str]:
        """Row ids descending."""
        for block in reversed(self._blocks):
            yield from reversed(block)

    def __getitem__(self, position: int) -> str:
        """The row id at ``position`` (0 ≤ position < len)."""
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

    def _find(self, row: str, key: Key) -> tuple[int, int] | None:
        # The block by its largest key, then the row by identity in C: a bisection inside
        # the block would make about ten keys, each a record lookup and a tuple (measured at
        # 250k rows: two thirds of a move's time), and would ask the key of ``row`` itself.
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return None
        try:
            return i, self._blocks[i].index(row)
        except ValueError:
            return None

    def index(self, row: str, key: Key) -> int | None:
        """Position of ``row`` (whose key is ``key``), or None when it is not here."""
        found = self._find(row, key)
        return None if found is None else self._offsets()[found[0]] + found[1]

    def add(self, row: str, key: Key) -> None:
        """Insert ``row`` (not already present; its key is ``key``) in order."""
        maxes, blocks = self._maxes, self._blocks
        self._len += 1
        self._starts = None
        if not blocks:
            blocks.append((row,))
            maxes.append(key)
            return
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            block = blocks[i] + (row,)
            maxes[i] = key
        else:
            block = blocks[i]
            j = bisect_left(block, key, key=self.key)
            block = (*block[:j], row, *block[j:])
        if len(block) > self._block_max:
            half = len(block) // 2
            blocks[i : i + 1] = block[:half], block[half:]
            maxes[i] = self.key(block[half - 1])
            maxes.insert(i + 1, self.key(block[-1]))
        else:
            blocks[i] = block

    def remove(self, row: str, key: Key) -> bool:
        """Remove ``row``, found by ``key`` (the key it was added with); False (nothing
        changed) when it is not here.

        The other rows' keys must still answer as when they were added (a block's new
        largest key is read from its new last row).
        """
        found = self._find(row, key)
        if found is None:
            return False
        i, j = found
        block = self._blocks[i]
        block = block[:j] + block[j + 1 :]
        self._len -= 1
        self._starts = None
        if not block:
            del self._blocks[i]
            del self._maxes[i]
            return True
        self._blocks[i] = block
        if j == len(block):
            self._maxes[i] = self.key(block[-1])
        return True

    def shed(self, rows: int) -> bool:
        """Drop the last blocks, about ``rows`` rows (one block at least); True once none is
        left. For an order no longer used (see :meth:`RowOrder.shed`)."""
        blocks, count = self._blocks, max(1, rows // BLOCK)
        self._len -= sum(len(block) for block in blocks[-count:])
        del blocks[-count:], self._maxes[-count:]
        self._starts = None
        return not blocks
