"""Which sockets a dump added and removed, found by walking it in step with the last dump.

Why: the kernel lists sockets in hash-table order, and that order barely moves between two
samples (new sockets are inserted, closed ones removed, the rest stay in place). So instead of
hashing every key into sets (about 10 ms at 50k sockets here), each reply's keys are compared
in C, in order, with the last dump's keys; Python runs only where the two differ, which
follows churn, not the number of sockets.

The result is exact whatever the order does: a key that moved is found again (within
:data:`WINDOW` places, or later through the ``ahead`` and ``skipped`` sets), and a listing that
holds one key twice (the kernel can repeat a socket when its hash chain changes between two
replies) is reported as not clean, so the caller compares whole sets instead.

The order is kept as :class:`KeyRuns`, tuples of keys, not one list: see there.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from itertools import accumulate, chain, compress, count, islice, repeat
from operator import ne
from typing import Final

WINDOW: Final = 64
"""How far ahead in the last dump a key is looked for before it counts as moved."""
RUN_MIN: Final = 64
"""A piece of a run shorter than this joins its neighbours in a new run (else churn would
split the order into ever shorter runs)."""
RUN_MAX: Final = 4096
"""Such a joined run ends at this length."""

Run = tuple[bytes, ...]


class KeyRuns:
    """A dump's keys in order, held as runs (tuples of keys) instead of one list.

    Why: at 250k sockets a list of every key, new each sample, is a container the cyclic
    collector walks whole at each young collection while it is young: 12-35 ms a pass,
    measured, on whichever thread allocated (the UI's included: a key pressed then waited for
    it). A tuple of bytes is untracked once the collector has looked at it, and a stretch of
    the dump equal to the last one's is the same tuple object again: an unchanged dump makes
    no new container, and a changed one only small ones.
    """

    __slots__ = ("_runs", "_starts")

    def __init__(self, runs: Iterable[Run] = ()) -> None:
        """The keys of ``runs`` (non-empty tuples), in order."""
        self._runs: tuple[Run, ...] = tuple(runs)
        self._starts = array("q", accumulate(map(len, self._runs), initial=0))
        """Where each run starts (and, last, the length): an array, not a tracked list."""

    @classmethod
    def of(cls, keys: Sequence[bytes]) -> KeyRuns:
        """``keys`` in runs of :data:`RUN_MAX`."""
        return cls(tuple(keys[i : i + RUN_MAX]) for i in range(0, len(keys), RUN_MAX))

    def __len__(self) -> int:
        """How many keys."""
        return self._starts[-1]

    def __iter__(self) -> Iterator[bytes]:
        """The keys in order."""
        return chain.from_iterable(self._runs)

    def pieces(self, lo: int, hi: int) -> Iterator[Run]:
        """The keys at positions ``lo`` to ``hi`` (exclusive) as slices of the runs: a whole
        run is the run itself (a tuple's full slice is the same object)."""
        hi = min(hi, len(self))
        if lo >= hi:
            return
        runs, starts = self._runs, self._starts
        k = bisect_right(starts, lo) - 1
        while lo < hi:
            start = starts[k]
            run = runs[k]
            yield run[lo - start : hi - start]
            lo = start + len(run)
            k += 1

    def flat(self, lo: int, hi: int) -> Run:
        """The keys at positions ``lo`` to ``hi`` (exclusive) as one tuple."""
        runs, starts = self._runs, self._starts
        k = bisect_right(starts, lo) - 1
        if k >= len(runs):
            return ()
        if hi <= starts[k + 1]:  # within one run (the usual case): one slice
            start = starts[k]
            return runs[k][lo - start : hi - start]
        return tuple(chain.from_iterable(self.pieces(lo, hi)))

    def index(self, key: bytes, lo: int, hi: int) -> int:
        """The first position of ``key`` from ``lo`` to ``hi`` (exclusive); ValueError if none."""
        runs, starts = self._runs, self._starts
        hi = min(hi, len(self))
        k = bisect_right(starts, lo) - 1
        while lo < hi:
            start = starts[k]
            end = min(hi, starts[k + 1])
            try:
                return start + runs[k].index(key, lo - start, end - start)
            except ValueError:
                lo = end
                k += 1
        raise ValueError(key)


class OrderedDiff:
    """Feed one dump's keys reply by reply, in order; then :meth:`finish`.

    ``last`` is the previous dump's keys in dump order, each once; ``known`` answers whether
    a key was in it (the caller's records by key: no set is built here); ``kept``, if given,
    returns the object the caller keeps for a known key, which the order then holds for a
    key that moved (else the dump's copy: a second bytes object for that socket, for good).
    """

    __slots__ = (
        "_added", "_ahead", "_at", "_kept", "_known", "_last", "_loose", "_reply", "_runs",
        "_skipped", "_twice", "added_at",
    )  # fmt: skip

    def __init__(
        self,
        last: KeyRuns | Sequence[bytes],
        known: Container[bytes],
        kept: Callable[[bytes], bytes] | None = None,
        where: bool = False,
    ) -> None:
        self._last = last if isinstance(last, KeyRuns) else KeyRuns.of(last)
        self._known = known
        self._kept = kept
        self._at = 0
        """Position in ``last`` of the next key expected."""
        self._added: list[bytes] = []
        self._skipped: set[bytes] = set()
        """Keys of ``last`` passed over: gone, unless they turn up later (moved back)."""
        self._ahead: set[bytes] = set()
        """Known keys met before their place in ``last`` (moved forward, or listed twice)."""
        self._runs: list[Run] = []
        """This dump's keys in order, in runs; where they equal the last dump's, its runs or
        their slices, so its objects (which the caller's records are keyed by): the dump's own
        copies are then freed, not held twice (measured: 91 bytes per socket)."""
        self._loose: list[bytes] = []
        """Keys placed one by one since the last run (they become a run of their own)."""
        self._twice = False
        self.added_at: list[tuple[int, int]] | None = [] if where else None
        """With ``where``: where each added key was met, (reply, position in its keys), in
        the order of ``added`` (a caller that keeps the replies finds the added sockets'
        messages there)."""
        self._reply = -1

    @property
    def added_so_far(self) -> list[bytes]:
        """The keys found new so far, in order (the list :meth:`finish` returns as ``added``;
        it grows with each :meth:`feed`: read it, never change it)."""
        return self._added

    def feed(self, keys: Sequence[bytes]) -> None:
        """The keys of the next reply, in the order the kernel listed them."""
        last, at, n, loose = self._last, self._at, len(keys), self._loose
        total = len(last)
        self._reply += 1
        reply, where = self._reply, self.added_at
        if not total and not self._known:  # a first dump: everything is new
            if where is not None:
                where += zip(repeat(reply), range(n))
            self._added.extend(keys)
            self._flush()
            if keys:
                self._runs.append(tuple(keys))
            return
        runs, starts, known = last._runs, last._starts, self._known
        k = bisect_right(starts, at) - 1
        i = 0
        while i < n:
            if at >= total:  # the last dump is used up: the rest of this reply is not in order
                for place, key in enumerate(keys[i:], i):
                    if self._unexpected(key, at) is None and where is not None:
                        where.append((reply, place))
                    loose.append(self._as_kept(key))
                break
            while starts[k + 1] <= at:
                k += 1
            run = runs[k]
            lo = at - starts[k]
            hi = min(len(run), lo + n - i)
            piece = run[lo:hi]  # (a whole run is the run itself)
            # The first difference from here to the end of the run or of the reply, in C.
            d = next(compress(count(), map(ne, islice(keys, i, None) if i else keys, piece)), None)
            if d is None:
                self._put(piece)
                i += hi - lo
                at += hi - lo
                continue
            if d:
                self._put(piece[:d])
            i += d
            at += d
            key = keys[i]
            loose.append(self._as_kept(key))
            j = lo + d + 1
            if j < len(run) and run[j] == key and key in known:
                self._pass_over(piece[d : d + 1])  # one socket of the last dump went: the usual
                at += 2
            elif (moved_to := self._unexpected(key, at)) is not None:
                at = moved_to
            elif where is not None:
                where.append((reply, i))
            i += 1
        self._at = at

    def _put(self, piece: Run) -> None:
        loose = self._loose
        if len(piece) >= RUN_MIN:
            if loose:
                self._runs.append(tuple(loose))
                loose.clear()
            self._runs.append(piece)
        else:
            loose += piece
            if len(loose) >= RUN_MAX:
                self._flush()

    def _flush(self) -> None:
        loose = self._loose
        if loose:
            self._runs.append(tuple(loose))
            loose.clear()

    def _as_kept(self, key: bytes) -> bytes:
        """``key`` as the caller keeps it, if it knows it (a key that moved)."""
        kept = self._kept
        return kept(key) if kept is not None and key in self._known else key

    def _unexpected(self, key: bytes, at: int) -> int | None:
        """Place ``key``, which is not the one expected at ``at``; returns the new position
        (``None``: the key is new, the position stays)."""
        if key not in self._known:
            self._added.append(key)
            return None
        if key in self._skipped:
            self._skipped.discard(key)
            return at
        last = self._last
        try:
            found = last.index(key, at + 1, at + 1 + WINDOW)
        except ValueError:
            # Its place comes later, or it was already met (then it stays in ahead).
            if key in self._ahead:
                self._twice = True
            self._ahead.add(key)
            return at
        self._pass_over(last.flat(at, found))
        return found + 1

    def _pass_over(self, keys: Iterable[bytes]) -> None:
        ahead = self._ahead
        for key in keys:
            if key in ahead:
                ahead.discard(key)
            else:
                self._skipped.add(key)

    def finish(self) -> tuple[KeyRuns, list[bytes], list[bytes], bool]:
        """``(order, added, gone, clean)``: this dump's keys in order, the keys not in the last
        dump, the last dump's keys not in this one, and whether no key was listed twice
        (when not clean, ``added`` and ``gone`` are not to be used)."""
        last = self._last
        self._pass_over(chain.from_iterable(last.pieces(self._at, len(last))))
        self._flush()
        added = self._added
        clean = not (self._twice or self._ahead) and len(set(added)) == len(added)
        return KeyRuns(self._runs), added, list(self._skipped), clean
