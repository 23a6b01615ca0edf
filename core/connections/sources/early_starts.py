"""A steady dump's new sockets' records, started while the kernel fills the next reply.

Why: a steady sample at 50k sockets waits on the kernel for most of its dump (the reader
thread's ``recv`` is the longer part of each reply's turn), then built its ~500 new sockets'
records after the dump's end, in series: ~7 ms of the sample's wall time. A record without
its owner and CreationTime (:func:`core.connections.records.start_connection`) depends on
the socket's key alone, so it is started as soon as the dump names a key as new; after the
dump only the owner and the time are filled in.

A key started here may still turn out to be an old socket in a new State (the caller's match
with the gone records, after the dump): its start is then not used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


class EarlyStarts:
    """Starts, key by key, the records of the keys a dump's diff adds as it goes."""

    __slots__ = ("_added", "_done", "_start", "started")

    def __init__(self, added: Sequence[bytes], start: Callable[[bytes], object]) -> None:
        """``added``: the diff's list of added keys, which grows as it is fed (read, never
        changed here); ``start``: a key's started record."""
        self._added = added
        self._start = start
        self._done = 0
        self.started: dict[bytes, object] = {}
        """Key → its started record (for :func:`core.connections.records.finish_connection`)."""

    def after(self, feed: Callable[[list[bytes]], None]) -> Callable[[list[bytes]], None]:
        """``feed`` (the diff's), then the start of every key it added."""

        def fed(keys: list[bytes]) -> None:
            feed(keys)
            self.catch_up()

        return fed

    def catch_up(self) -> None:
        """Start the keys added since the last call."""
        added, done = self._added, self._done
        if len(added) > done:
            start, started = self._start, self.started
            for key in added[done:]:
                started[key] = start(key)
            self._done = len(added)
