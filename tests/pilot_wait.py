"""Waiting in a Pilot test for the app to reach a state.

Why one helper: the app is fed by real threads (a sampler, an ssh reader, a replay), so a
test pumps the app's messages until what it waits for is shown, with a deadline instead of
a count of pauses that a loaded machine can outrun.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot


async def until(
    pilot: Pilot[int], ok: Callable[[], object], timeout_s: float = 30.0, step_s: float = 0.02
) -> None:
    """Pump the app in pauses of ``step_s`` (real time, for the threads feeding it) until
    ``ok()`` is truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not ok():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(step_s)
