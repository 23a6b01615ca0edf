"""Which enum columns hold the same value on every row (they shrink to a note instead).

Why: on Linux OffloadState is InHost on every connection and AppliedSetting is never
reported; two columns of identical cells cost 28 cells of an 80-column table and say nothing
per row. Each candidate column's values are counted, and the counts follow the snapshots'
diffs (the rows added, removed and replaced), so a tick costs O(changes): at 250k rows a
scan of every row took 15-30 ms of the UI thread (in C), and was done every tenth tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from operator import attrgetter
from typing import Final

from core.connections import Snapshot, TcpConnection

ATTRS: Final = {"offload": "offload_state", "applied": "applied_setting"}
"""Candidate column → the record attribute it shows."""


class UniformColumns:
    """Tracks, per candidate column, the one value every row has (or that there is none)."""

    def __init__(self) -> None:
        """Nothing known yet: no column is uniform."""
        self.values: dict[str, int | None] = {}
        """Uniform column key → the value on every row."""
        self._seq: int | None = None
        self._conns: Mapping[str, TcpConnection] = {}
        self._counts: dict[str, Counter[int | None]] = {key: Counter() for key in ATTRS}
        self.full_counts = 0
        """How many times every row was counted (O(N)); a following snapshot needs none."""

    def update(self, snap: Snapshot) -> dict[str, int | None]:
        """Bring the result to ``snap``; returns :attr:`values`."""
        conns = snap.connections
        if conns is self._conns and snap.seq == self._seq:
            return self.values  # the same sample again (with fresh tcp_info): same rows
        follows = self._seq is not None and snap.seq == self._seq + 1 + snap.skipped
        old, self._seq, self._conns = self._conns, snap.seq, conns
        if not follows or not self._follow(snap, old):
            self._count(conns)
        self.values = {}
        for key, counts in self._counts.items():
            if len(counts) == 1:
                self.values[key] = next(iter(counts))
        return self.values

    def _follow(self, snap: Snapshot, old: Mapping[str, TcpConnection]) -> bool:
        """Move the counts by ``snap``'s diff; False when they do not add up to its rows."""
        diff = snap.diff
        replaced = diff.changed | {c.instance_id for c in diff.state_changed}
        before = [old[i] for i in diff.removed | replaced if i in old]
        after = [snap.connections[i] for i in diff.added | replaced if i in snap.connections]
        for key, attr in ATTRS.items():
            counts, get = self._counts[key], attrgetter(attr)
            counts.subtract(map(get, before))
            counts.update(map(get, after))
            for value in [v for v, n in counts.items() if n <= 0]:
                if counts.pop(value) < 0:
                    return False
        return all(counts.total() == len(snap.connections) for counts in self._counts.values())

    def _count(self, conns: Mapping[str, TcpConnection]) -> None:
        """Count every row's values (a first snapshot, a jump, or counts that did not add up)."""
        self.full_counts += 1
        for key, attr in ATTRS.items():
            self._counts[key] = Counter(map(attrgetter(attr), conns.values()))
