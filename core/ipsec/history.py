"""Ring-buffer history of IPsec counter series for sparklines.

Why its own module: the sampler owns the arithmetic (rates, resets), this owns memory. Each
series is a ``deque(maxlen=N)``; ``None`` marks a gap (counter not reported, first sample, or a
reset) so a sparkline never draws a fake drop or spike across a daemon restart.
"""

from __future__ import annotations

from collections import deque
from math import ceil


class History:
    """Named series of floats (or None gaps), each holding the last ``capacity`` samples."""

    def __init__(self, interval_s: float, history_s: float) -> None:
        if interval_s <= 0 or history_s <= 0:
            raise ValueError("interval_s and history_s must be positive")
        self.capacity = max(1, ceil(history_s / interval_s))
        """Samples kept per series (history_s / interval_s)."""
        self._series: dict[tuple[str, str], deque[float | None]] = {}

    def append(self, provider: str, name: str, value: float | None) -> None:
        """Add the newest point of a series."""
        series = self._series.get((provider, name))
        if series is None:
            series = self._series[(provider, name)] = deque(maxlen=self.capacity)
        series.append(value)

    def get(self, provider: str, name: str) -> tuple[float | None, ...]:
        """The series oldest first (empty if never sampled)."""
        series = self._series.get((provider, name))
        return tuple(series) if series is not None else ()

    def clear(self) -> None:
        """Forget everything."""
        self._series.clear()
