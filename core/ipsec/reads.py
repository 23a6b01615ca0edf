"""Each provider's reads in a thread of their own, so a hung provider holds back no other.

Why: providers block (a VICI socket, netlink, a subprocess). Read one after another, a stopped
charon (SIGSTOP, a wedged daemon) held every sample for its VICI timeouts, about 5 s, and the
kernel's figures waited with it — the very figures that show a hung daemon's socket filling.
Here a sample starts every provider's read at once and waits for each until one deadline; a
provider that misses it is "not responding" in that sample, and later samples do not wait for
it again until it is done. A provider never has two reads at once (its session would see
interleaved requests); a read that finishes late is used by the next sample, stamped with the
time it finished, so its rates stay true. A provider that answers every read, only slower than
a sample waits (a busy charon at ``--interval 1``), is not hung: while its read in flight is
within twice its last answer's time, a sample shows its last answer (:attr:`Reading.held`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from core.ipsec.model import ProviderReading
from core.ipsec.providers.base import Provider, make_reading


@dataclass(frozen=True, slots=True)
class Reading:
    """A finished read and the sampler's clock when it finished."""

    reading: ProviderReading
    at: float
    late: bool = False
    """It finished after it was said "not responding"."""
    held: bool = False
    """Not a new read: the last answer again, while the next one is still in its usual time."""


SLOW_GRACE: Final = 2.0
"""A read in flight is "not responding" once it has taken this many times its provider's last
answer: a slow daemon's reads vary, a hung one's never end. (One that answers within a
sample's wait is not responding as soon as a sample has waited for it in vain.)"""
ROUND_S: Final = 0.1
"""How finely "did not answer within … s" states the wait (clock noise is no information)."""


class ProviderReads:
    """One provider's reads: at most one in flight, each in a daemon thread."""

    def __init__(self, provider: Provider, clock: Callable[[], float]) -> None:
        self.provider = provider
        self.name: str = getattr(provider, "name", type(provider).__name__)
        self.instance: str = getattr(provider, "instance", self.name)
        """The InstanceName of a reading made here: the provider's own (``strongswan:PATH``),
        so a socket's readings keep its path whoever made them."""
        self._clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: Reading | None = None
        self._started = 0.0
        self._wait_until = 0.0
        self._closed = False
        self._last: Reading | None = None
        self.overdue = False
        """A read of this provider was said "not responding" (cleared by an answer)."""
        self.took: float | None = None
        """How long its last answer (a read without error) took, in seconds."""

    def due_in(self, base_s: float, interval_s: float) -> float:
        """How long a sample waits for this provider's next read: ``base_s``, or for one whose
        last answer took longer, :data:`SLOW_GRACE` times that, up to the interval. Why: a busy
        daemon that answers every read in 1.2 s was "not responding" every other sample, its
        rates never shown, though the interval had room for it; and its reads vary with the
        host's load (half again left a busy host's slower read "not responding"). A hung one
        still shows within ``base_s``, since it has no answer to lengthen the wait."""
        took = self.took
        if took is None or took <= base_s:
            return base_s
        return min(max(base_s, interval_s), took * SLOW_GRACE)

    def start(self, now: float, wait_s: float) -> None:
        """Start a read unless one is in flight; either way this sample waits for it until
        ``now + wait_s`` (``time.monotonic``)."""
        with self._lock:
            self._wait_until = now + wait_s
            if self._thread is not None or self._closed:
                return
            self._started = now
            self._thread = threading.Thread(
                target=self._read, name=f"tcpscope-ipsec-{self.name}", daemon=True
            )
            self._thread.start()

    def wait(self) -> None:
        """Wait for the read in flight until this sample's wait ends (at once once past)."""
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, self._wait_until - time.monotonic()))

    def take(self, due_s: float) -> Reading:
        """The finished read; while it is not done, the last answer again if this provider's
        answers take longer than ``due_s`` (a sample's wait) and the read is still within its
        usual time (:data:`SLOW_GRACE`), else a "not responding" reading stamped now."""
        with self._lock:
            done = self._result
            if done is not None:
                self._result = self._thread = None
                if done.reading.error is None:
                    self._last = done
                # A late answer is still one: the next read gets the whole deadline again
                # (a short retry wait made a merely slow daemon late, and down, every other
                # sample). An error (a backoff's "retrying in") is no answer.
                self.overdue = done.reading.error is not None and (done.late or self.overdue)
                return done
            waited = self._wait_until - self._started
            last, took = self._last, self.took
            if (
                not self.overdue
                and last is not None
                and took is not None
                and (due_s < took and waited < took * SLOW_GRACE)
            ):
                return Reading(last.reading, last.at, held=True)
            self.overdue = True
        return Reading(self._not_responding(waited), self._clock())

    def close(self) -> None:
        """Close the provider now, or when its read in flight ends (never under a read: a
        closed session would be opened again by the read's retry)."""
        with self._lock:
            self._closed = True
            if self._thread is not None and self._result is None:
                return  # the read closes it when done
        self.provider.close()

    def _read(self) -> None:
        started = time.monotonic()
        try:
            reading = self.provider.read()
        except Exception as err:  # a provider bug must not kill the monitor
            reading = make_reading(
                self.name, self.instance, {}, error=f"{type(err).__name__}: {err}"
            )
        finished = time.monotonic()
        with self._lock:
            self._result = Reading(reading, self._clock(), self.overdue)
            if reading.error is None:
                self.took = finished - started
            closed = self._closed
        if closed:
            with contextlib.suppress(Exception):  # best effort, as IpsecSampler.close
                self.provider.close()

    def _not_responding(self, waited_s: float) -> ProviderReading:
        """Said while a read is overdue: how long it has been waited for (since it began, not
        only this sample's retry wait), and the provider's instance and version as last read
        (its grades depend on the version)."""
        last = self._last.reading if self._last is not None else None
        who = getattr(self.provider, "daemon", self.name)
        waited = round(round(waited_s / ROUND_S) * ROUND_S, 1)
        return make_reading(
            self.name,
            last.stats.instance_name if last is not None else self.instance,
            {},
            version=last.version if last is not None else None,
            error=f"not responding: {who} did not answer within {waited:g} s",
        )
