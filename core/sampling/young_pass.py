"""A large sample's new containers go past the cyclic collector's young generations at once,
in the sampling thread, right after the sample.

Why: at 250k sockets a sample that changes anything makes a new records map (a copy of 262k
entries: the last snapshot's stays as it is, the UI reads it). The collector walks a young
container whole at each young collection, once in generation 0 and once more in generation
1, 10-25 ms a pass (measured with ``gc.callbacks``), on whichever thread allocates next:
mostly the UI's, in the middle of a key's answer. One collection of both young generations
here moves it to the old generation at once: one walk instead of two, at a moment the UI is
not answering a key (the sampling thread gives way first), and the UI's next young
collections find nothing large. Measured with ``bench/probe_stalls.py`` at 250k sockets (60
presses over 20 s, two runs each, busy host): keys p90 56-68 -> 42-43 ms, max 133-265 -> 60-77
ms; UI callbacks over 12 ms of CPU 118-282 -> 67-79.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Final

ABOVE_ROWS: Final = 20_000
"""Below this the young containers are small: the collector's own pace stays."""


def young_pass(rows: int, give_way: Callable[[], None]) -> None:
    """After a sample of ``rows`` records: collect the young generations (see the module)."""
    if rows >= ABOVE_ROWS:
        give_way()  # first: the UI turns the collector off while it answers a key
        if gc.isenabled():
            gc.collect(1)
