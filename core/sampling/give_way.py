"""The sampling thread stands back while the UI answers a key.

Why: at 250k sockets a sample runs Python for about 170 ms of each second (reading the dump's
replies, comparing them with the last dump), in a thread that shares the interpreter lock
with the UI and, on a busy host, two cores with everything else. A key pressed meanwhile got
half of the interpreter at best: measured from outside in tmux, a Down whose handling and
repaint took 20 ms of the UI thread's CPU reached the screen 60-140 ms after the press. Here
the UI claims the interpreter when a key arrives and lets go once the screen shows the answer;
between two replies of its dump the sampling thread waits while the claim holds (the kernel
keeps filling the next replies meanwhile, on the reader thread, without the lock). A claim
lapses by itself after :data:`CLAIM_S`, so a UI that never lets go cannot stop sampling.

UI-free: the UI only calls :meth:`GiveWay.claim` and :meth:`GiveWay.release`.
"""

from __future__ import annotations

import threading
import time
from typing import Final

CLAIM_S: Final = 0.25
"""The longest a claim holds the sampling thread back (a key's answer normally takes less)."""


class GiveWay:
    """A claim the UI thread makes and the sampling thread honours (thread-safe)."""

    __slots__ = ("_free", "_until")

    def __init__(self) -> None:
        """Unclaimed."""
        self._free = threading.Event()
        self._free.set()
        self._until = 0.0

    def claim(self, seconds: float = CLAIM_S) -> None:
        """Hold the sampling thread back for at most ``seconds`` from now."""
        self._until = time.monotonic() + seconds
        self._free.clear()

    def release(self) -> None:
        """Let the sampling thread go on now."""
        self._free.set()

    @property
    def claimed(self) -> bool:
        """True while a claim holds (released or lapsed: False)."""
        return not self._free.is_set() and time.monotonic() < self._until

    def __call__(self) -> None:
        """Called by the sampling thread between two steps: wait while the UI holds a claim,
        at most :data:`CLAIM_S` per call (claims renewed by a held key cannot starve it)."""
        free = self._free
        if free.is_set():
            return
        latest = time.monotonic() + CLAIM_S
        while not free.is_set():
            left = min(self._until, latest) - time.monotonic()
            if left <= 0:
                return
            free.wait(left)
