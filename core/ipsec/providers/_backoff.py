"""When to try a misbehaving daemon again: at doubling waits, so it is not hammered.

Why: a daemon that accepts the connection and then stalls costs a full read timeout per try;
retried every sample, it would keep a worker thread busy for nothing. A daemon that is simply
not running (no socket) costs nothing to retry and is not backed off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

FIRST_WAIT_S: Final = 1.0
MAX_WAIT_S: Final = 30.0


class Backoff:
    """Doubling waits from :data:`FIRST_WAIT_S` to :data:`MAX_WAIT_S`, reset by a success."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start ready."""
        self._clock = clock
        self._wait = 0.0
        self._until = 0.0

    def ready(self) -> bool:
        """True when the next try is due."""
        return self._clock() >= self._until

    def left_s(self) -> float:
        """Seconds until the next try (0 when due)."""
        return max(0.0, self._until - self._clock())

    def failed(self) -> float:
        """Record a failure; returns the wait before the next try."""
        self._wait = FIRST_WAIT_S if not self._wait else min(MAX_WAIT_S, self._wait * 2)
        self._until = self._clock() + self._wait
        return self._wait

    def succeeded(self) -> None:
        """Record a success: the next failure waits the first wait again."""
        self._wait = 0.0
        self._until = 0.0
