"""How the cyclic garbage collector is set in the app and in ``record``, so that its passes stay
rare and short.

Why: at 250k rows a full (generation 2) collection walks every container not frozen — each
sample's 250k-entry maps and lists, the table's orders — and took 60-110 ms every 5-10 s
(measured with ``bench/probe_stalls.py``), on whichever thread allocated: a key pressed then
waited for it. The records are acyclic and long-lived; the rest of the app makes little
cyclic garbage. ``tcpscope record`` at 50k: a full pass (70 ms) every 7-10 samples, walking
the same records, before it paced its collector the same way.

What it does, from :data:`FREEZE_ABOVE_ROWS` rows: before a snapshot is taken in (shown, or
written to a recording), what exists
is frozen whenever the table has doubled (building the table's index allocates a tuple per
row, and the collections that triggers walked every record: measured at 250k, 2.9 s of a
9.2 s first update, 1.1 s with the records frozen first). From :data:`RARE_FULL_ABOVE_ROWS`
rows a full collection waits for :data:`FULL_EVERY` young ones instead of CPython's 10: a pass
costs about the same whatever garbage it finds, so ten times fewer passes is ten times fewer
keys that meet one.

Why not freeze after every snapshot (tried: no full pass was left to meet): what a freeze
keeps from the collector is every cycle alive then that dies later, and Textual makes and
drops DOM nodes, with their styles and caches, all the time: at a freeze a second, 12-15k
objects a 20 s run were never freed (measured at 20k rows), a leak in a monitor that runs
for days.
"""

from __future__ import annotations

import gc
from typing import Final

FREEZE_ABOVE_ROWS: Final = 1000
"""Below this the records are few; nothing is frozen."""
RARE_FULL_ABOVE_ROWS: Final = 20_000
"""Below this a full collection takes a few milliseconds: CPython's thresholds stay."""
FULL_EVERY: Final = 100
"""Young (generation 1) collections between two full ones, on large tables."""


class GcPacer:
    """Freezes the records as the table grows and spaces out full collections on large
    tables (see the module docstring)."""

    def __init__(self) -> None:
        """Nothing frozen yet; CPython's thresholds as they are."""
        self._frozen_rows = 0
        self._default = gc.get_threshold()

    def before(self, rows: int) -> None:
        """A snapshot of ``rows`` is about to be taken in."""
        if rows >= FREEZE_ABOVE_ROWS and rows > 2 * self._frozen_rows:
            gc.freeze()
            self._frozen_rows = rows
        young, middle, full = self._default
        gc.set_threshold(young, middle, FULL_EVERY if rows >= RARE_FULL_ABOVE_ROWS else full)
