"""A set of socket inode numbers in 8 bytes each: the PID resolver's live sockets.

Why: a Python set of 50k ints costs about 42 bytes a socket (its hash table) besides the ints
themselves; the resolver asks it only whether a few inodes a tick are live. Here the numbers
sit in a sorted array, with two small sets for what changed since it was last sorted: the
inodes added and the ones removed. The kernel numbers new inodes upwards, so new sockets
usually extend the array at its end, and a rebuild runs once the changes reach a quarter of
the array (a pass over it: at 50k sockets and 1% churn every ~25 ticks, about 2 ms).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import Final

REBUILD_MIN: Final = 1024
"""Changes kept aside before a rebuild, at least (a small set is cheap to sort in)."""


class InodeSet:
    """Membership, add and discard of non-negative ints, as a set, in about 8 bytes each."""

    __slots__ = ("_added", "_base", "_removed")

    def __init__(self) -> None:
        """Empty."""
        self._base = array("Q")
        """Sorted numbers; those in ``_removed`` are no longer members."""
        self._added: set[int] = set()
        """Members not in ``_base``."""
        self._removed: set[int] = set()
        """Numbers to drop from ``_base`` (or never in it: harmless, dropped at a rebuild)."""

    def __contains__(self, ino: object) -> bool:
        if ino in self._added:
            return True
        if ino in self._removed or not isinstance(ino, int):
            return False
        base = self._base
        at = bisect_left(base, ino)
        return at < len(base) and base[at] == ino

    def __len__(self) -> int:
        return (
            len(self._base) - sum(1 for i in self._removed if self._in_base(i)) + len(self._added)
        )

    def _in_base(self, ino: int) -> bool:
        base = self._base
        at = bisect_left(base, ino)
        return at < len(base) and base[at] == ino

    def update(self, inodes: Iterable[int]) -> None:
        """Add every one of ``inodes``."""
        base, added, removed = self._base, self._added, self._removed
        if not base and not added and not removed:  # empty (a first sample's 50k): in C
            self._base = array("Q", sorted(set(inodes)))
            return
        top = base[-1] if base else -1
        for ino in inodes:
            if ino > top:
                added.add(ino)  # above every number in the array: the common case
                continue
            removed.discard(ino)
            if not self._in_base(ino):
                added.add(ino)
        self._maybe_rebuild()

    def add(self, ino: int) -> None:
        """Add ``ino``."""
        self.update((ino,))

    def discard(self, ino: int) -> None:
        """Remove ``ino`` if it is a member (a rebuild waits for the next :meth:`update`: the
        resolver updates once a tick, after its discards)."""
        if ino in self._added:
            self._added.discard(ino)
            return
        base = self._base
        if base and ino <= base[-1]:
            self._removed.add(ino)

    def among(self, inodes: Iterable[int]) -> set[int]:
        """The members of ``inodes`` (as ``inodes & set``)."""
        return {ino for ino in inodes if ino in self}

    def _maybe_rebuild(self) -> None:
        added, base = self._added, self._base
        if len(added) > REBUILD_MIN and (not base or min(added) > base[-1]):
            base.extend(sorted(added))  # new sockets above the old: no pass over the array
            self._added = set()
        if len(self._added) + len(self._removed) > max(REBUILD_MIN, len(base) // 4):
            self._rebuild()

    def _rebuild(self) -> None:
        removed = self._removed
        kept = [i for i in self._base if i not in removed] if removed else self._base.tolist()
        # (about 2 ms at 50k numbers)
        if self._added:
            extra = sorted(self._added)
            if kept and extra[0] < kept[-1]:
                kept += extra
                kept.sort()
            else:
                kept += extra
        self._base = array("Q", kept)
        self._added = set()
        self._removed = set()
