"""Which enum columns hold the same value on every row (they shrink to a note instead).

Why: on Linux OffloadState is InHost on every connection and AppliedSetting is never
reported; two columns of identical cells cost 28 cells of an 80-column table and say nothing
per row. Checking every row each tick would cost O(N) at 50k rows, so between full scans only
the rows the diff names are checked (a uniform column can only stop being uniform through
them); a full scan every :data:`FULL_SCAN_EVERY` snapshots finds a column that became uniform.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import Final

from core.connections import Snapshot, TcpConnection

FULL_SCAN_EVERY: Final = 10
ATTRS: Final = {"offload": "offload_state", "applied": "applied_setting"}
"""Candidate column → the record attribute it shows."""


class UniformColumns:
    """Tracks, per candidate column, the one value every row has (or that there is none)."""

    def __init__(self) -> None:
        """Nothing known yet: no column is uniform."""
        self.values: dict[str, int | None] = {}
        """Uniform column key → the value on every row."""
        self._seq: int | None = None
        self._conns: object = None

    def update(self, snap: Snapshot) -> dict[str, int | None]:
        """Bring the result to ``snap``; returns :attr:`values`."""
        conns = snap.connections
        if conns is self._conns and snap.seq == self._seq:
            return self.values  # the same sample again (with fresh tcp_info): same rows
        follows = self._seq is not None and snap.seq == self._seq + 1 + snap.skipped
        self._seq, self._conns = snap.seq, conns
        if not conns:
            self.values = {}
        elif follows and snap.seq % FULL_SCAN_EVERY:
            ids = snap.diff.added | snap.diff.changed
            ids |= {c.instance_id for c in snap.diff.state_changed}
            touched = [conns[i] for i in ids if i in conns]
            for key in list(self.values):
                attr = ATTRS[key]
                if any(getattr(c, attr) != self.values[key] for c in touched):
                    del self.values[key]
        else:
            self.values = {}
            for key, attr in ATTRS.items():
                mixed, value = _one_value(conns.values(), attr)
                if not mixed:
                    self.values[key] = value
        return self.values


def _one_value(conns: Iterable[TcpConnection], attr: str) -> tuple[bool, int | None]:
    """(True, None) when the rows differ in ``attr``, else (False, the value they share)."""
    # In C: at 250k rows a Python loop took 90 ms of the UI thread, this about a tenth.
    values: set[int | None] = set(map(attrgetter(attr), conns))
    if len(values) != 1:
        return True, None
    return False, values.pop()
