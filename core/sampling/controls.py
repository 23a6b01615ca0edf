"""The pause and interval that every feed keeps alike: the live sampler, a replay, a remote agent.

Why one class: the three hold the same two facts and check a new interval the same way; only
what a change sets in motion differs (wake the sampling loop, re-pace playback, tell the agent),
so each feed extends :meth:`FeedControls.set_interval`, :meth:`~FeedControls.pause` and
:meth:`~FeedControls.resume` with that and nothing else. A feed that wraps another (the demo
its Sampler, redaction any feed) has no such state of its own: :class:`PassedControls`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from core.errors import UsageError

if TYPE_CHECKING:
    from core.sampling.feed import Feed

MIN_INTERVAL_S: Final = 0.1
MAX_INTERVAL_S: Final = 60.0


def check_interval(interval_s: float) -> float:
    """``interval_s`` if within 0.1–60 s, else UsageError with one line."""
    if not MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S:
        raise UsageError(
            f"interval must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} s, got {interval_s}"
        )
    return interval_s


class FeedControls:
    """The ``paused`` / ``interval_s`` half of :class:`core.sampling.feed.Feed`."""

    def __init__(self, interval_s: float, *, paused: bool = False) -> None:
        self._interval_s = interval_s
        self._paused = paused

    @property
    def paused(self) -> bool:
        """True while no new sample comes (a replay also pauses at its end)."""
        return self._paused

    @property
    def interval_s(self) -> float:
        """Seconds between samples (a replay's at ×1)."""
        return self._interval_s

    def set_interval(self, interval_s: float) -> None:
        """Change the interval (UsageError outside 0.1–60 s)."""
        self._interval_s = check_interval(interval_s)

    def pause(self) -> None:
        """Hold the current sample."""
        self._paused = True

    def resume(self) -> None:
        """Samples come again."""
        self._paused = False


class PassedControls:
    """The ``paused`` / ``interval_s`` half of a Feed that wraps another: the inner feed's."""

    def __init__(self, inner: Feed) -> None:
        self._inner = inner

    @property
    def paused(self) -> bool:
        """As the wrapped feed."""
        return self._inner.paused

    @property
    def interval_s(self) -> float:
        """As the wrapped feed."""
        return self._inner.interval_s

    def set_interval(self, interval_s: float) -> None:
        """Passed to the wrapped feed."""
        self._inner.set_interval(interval_s)

    def pause(self) -> None:
        """Passed to the wrapped feed."""
        self._inner.pause()

    def resume(self) -> None:
        """Passed to the wrapped feed."""
        self._inner.resume()
