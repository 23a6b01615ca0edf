"""A key's answer gets the interpreter to itself, from the key's arrival until its frame is
written: the sampling thread waits (``core.sampling.give_way``) and the cyclic collector
does not run.

Why, measured from outside at 250k sockets (``bench/probe_keys_tmux.py``, tmux): the claim
used to end at the first refresh after the key arrived, 0.4 ms later, before the widget had
even seen the key, so the key's 3-30 ms of UI work shared the interpreter with the sampling
thread. And young collections that ran in the middle of a key's frame took 5-30 ms each:
they walk whatever is young, such as the containers a sample half-way through is filling.
Deferred to after the frame, one collection does the same walk. A frame composed is not yet
on screen: Textual's output thread writes it, and needs the interpreter too (2-13 ms late
when everything was let go at once), hence :data:`WRITE_GRACE_S`. (Holding the table's order
building back too while a key was answered made some runs' keys wait for the next sample:
tried, measured, taken out.)
"""

from __future__ import annotations

import asyncio
import gc
from typing import Final

from core.sampling import CLAIM_S, YieldsToUi

WRITE_GRACE_S: Final = 0.004
"""How long the claim outlasts the key's frame: Textual's output thread writes it meanwhile."""


class KeyClaim:
    """Held from a key's arrival to its frame (or :data:`CLAIM_S` at most); UI thread only."""

    def __init__(self, feed: YieldsToUi | None) -> None:
        """Nothing held; ``feed``: the sampler to hold back (None: a feed that does not
        sample in this process)."""
        self._feed = feed
        self._unhandled = 0
        """Keys arrived and not yet handled."""
        self._handled = False
        """A key was handled since the last frame: the next frame answers it."""
        self._collector_off = False
        """The collector was on, and is off while the claim holds."""
        self._ending: asyncio.TimerHandle | None = None

    def arrived(self) -> None:
        """A key arrived (before it is handled)."""
        if self._feed is not None:
            self._feed.ui_busy()
        if gc.isenabled():
            gc.disable()
            self._collector_off = True
        self._unhandled += 1
        self._end_in(CLAIM_S)  # a key that draws nothing: the claim lapses

    def handled(self) -> None:
        """A key's bindings ran (or a widget kept it): its frame is the next one."""
        self._unhandled = max(0, self._unhandled - 1)
        self._handled = True

    def drawn(self) -> None:
        """A frame was composed: if it answers every key that arrived, let go once written."""
        if self._handled and not self._unhandled:
            self._handled = False
            self._end_in(WRITE_GRACE_S)

    def end(self) -> None:
        """Let go now: the collector runs again, sampling goes on."""
        if self._ending is not None:
            self._ending.cancel()
            self._ending = None
        self._unhandled = 0
        self._handled = False
        if self._collector_off:
            self._collector_off = False
            gc.enable()
        if self._feed is not None:
            self._feed.ui_done()

    def _end_in(self, seconds: float) -> None:
        if self._ending is not None:
            self._ending.cancel()
        self._ending = asyncio.get_running_loop().call_later(seconds, self.end)
