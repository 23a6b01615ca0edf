"""When a dump walks the kernel's bind table for bound, inactive sockets; the keys of the last
walk put back into the dumps that skip it.

Why: Linux lists TCP sockets that are bound but neither listening nor connected (State Bound;
``TCP_BOUND_INACTIVE`` in the request) only by walking its whole bind hash table, and every
listening, accepted and connected socket is in that table too. At 50k sockets the walk is a
fifth of the dump's kernel time (about 20 of 100 ms of CPU here, for no socket found on a
typical host; ``ss -tan`` of iproute2 6.1 never asks for it). So while a dump lists many
sockets the walk runs at most once every :data:`REFRESH_S`; in between, the bound sockets of
the last walk are put back where the kernel lists them (after the listeners, before the
connected sockets), so each dump's order, and the diff against the last one, stay as if it
had walked.

A recording's dumps (every socket's tcp_info) skip the walk the same way: the kernel sends a
bound socket without its tcp_info (no ``INET_DIAG_INFO``; checked by the tests on the real
kernel), so putting its key back is all there is to put back.

What a user sees: below :data:`WALK_ALWAYS_BELOW` sockets, and in every first sample, nothing
changes. Above it, a bound socket that listens or connects shows its new State in the next
sample as before (its cookie is matched against the new sockets); a socket that becomes bound
or closes while bound shows up to :data:`REFRESH_S` late.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Final

from core.connections.sources.inet_diag import KEY_SIZE, TCP_ALL_STATES

BOUND_INACTIVE: Final = 13
"""``TCP_BOUND_INACTIVE`` (Linux 6.8+): the state bit that asks for the bind-table walk. The
sockets it finds are reported in state ``TCP_CLOSE``: with no remote port (Bound), or with
their peer's (State Closed: a connection reset or aborted whose process holds the socket)."""
WITHOUT_WALK: Final = TCP_ALL_STATES & ~(1 << BOUND_INACTIVE)
REFRESH_S: Final = 5.0
"""Longest time between two walks while they are skipped (the ghost rows' time to live)."""
WALK_ALWAYS_BELOW: Final = 10_000
"""Sockets in the last dump under which every dump walks (the walk then costs < 4 ms)."""

_LISTEN: Final = 10
_CLOSE: Final = 7
_COOKIE: Final = slice(42, 50)


def _head_end(keys: list[bytes]) -> int:
    """Where the listeners and the bound sockets at the start of a dump end in ``keys``."""
    for at, key in enumerate(keys):
        code = key[1]
        if code != _LISTEN and code != _CLOSE:
            return at
    return len(keys)


class BoundWalk:
    """Decides, per sample, whether its dumps walk the bind table, and splices the last
    walk's bound sockets into those that do not."""

    __slots__ = ("_below", "_clock", "_found", "_kept", "_suffixes", "_walked_at", "walking")

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        walk_always_below: int = WALK_ALWAYS_BELOW,
    ) -> None:
        self._clock = clock
        self._below = walk_always_below
        self._kept: dict[Hashable, list[bytes]] = {}
        """A dump's stream (its family, and namespace) → the bound sockets' keys its last walk
        found."""
        self._suffixes: dict[Hashable, bytes] = {}
        """A stream → what its reader appends to each of its keys (another namespace's
        inode), for :meth:`claimed`."""
        self._found: dict[Hashable, list[bytes]] = {}
        """What the walk under way found (kept once its dumps all succeeded)."""
        self._walked_at: float | None = None
        self.walking = True
        """Whether this sample's dumps walk the bind table (for bench: its floor)."""

    def plan(self, first: bool, listed: int) -> int:
        """The states this sample's dumps ask for, after ``listed`` sockets last time."""
        at = self._walked_at
        self.walking = (
            first or listed < self._below or at is None or not 0 <= self._clock() - at < REFRESH_S
        )
        self._found = {}
        return self.states

    @property
    def states(self) -> int:
        """The states the dumps of the sample planned last ask for."""
        return TCP_ALL_STATES if self.walking else WITHOUT_WALK

    def splice(
        self, stream: Hashable, replies: Iterable[list[bytes]], suffix: bytes = b""
    ) -> Iterator[list[bytes]]:
        """Each reply's keys of one dump (``stream``: its family, and namespace); a walking
        dump's bound keys are noted, the others get the last walk's put back after their
        listeners. ``suffix``: what the caller appends to each key afterwards."""
        self._suffixes[stream] = suffix
        head = True
        if self.walking:
            found = self._found[stream] = []  # a second dump of the sample starts over
            for keys in replies:
                if head:
                    end = _head_end(keys)
                    found += [k for k in keys[:end] if k[1] == _CLOSE]
                    head = end == len(keys)
                yield keys
            return
        kept = self._kept.get(stream, [])
        for keys in replies:
            if head and kept:
                end = _head_end(keys)
                if end < len(keys):
                    keys = keys[:end] + kept + keys[end:]
                    head = False
            yield keys
        if head and kept:
            yield kept  # a dump of listeners only: the bound sockets come last

    def done(self) -> None:
        """The sample's dumps all succeeded: a walk's findings stand from now."""
        if self.walking:
            self._kept.update(self._found)  # a namespace replayed this time keeps its own
            self._walked_at = self._clock()
        self._found = {}

    def claimed(self, added: Iterable[bytes]) -> list[bytes]:
        """Kept bound keys whose socket is among ``added`` in another State (it listened or
        connected since the walk: same cookie); they are dropped from the kept ones.

        Only for a sample that did not walk; the caller treats the keys returned as gone."""
        if self.walking or not self._kept:
            return []
        cookies = {key[_COOKIE] + key[KEY_SIZE:] for key in added}
        out: list[bytes] = []
        for stream, kept in self._kept.items():
            # Another namespace's keys get its suffix after the splice: the records' keys
            # (and ``added``) carry it, the kept ones do not.
            suffix = self._suffixes.get(stream, b"")
            taken = [k for k in kept if k[_COOKIE] + suffix in cookies]
            if taken:
                out += [k + suffix for k in taken]
                self._kept[stream] = [k for k in kept if k not in taken]
        return out
