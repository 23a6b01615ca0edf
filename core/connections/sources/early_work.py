"""A steady dump's per-socket work, done while the kernel fills the next reply.

Why: a steady sample at 50k sockets waits on the kernel for most of its dump (the reader
thread's ``recv`` is the longer part of each reply's turn), then worked on its ~500 new and
~500 gone sockets after the dump's end, in series: ~12 ms of the sample's wall time. Two
parts of that depend on a reply's keys alone, so they are done as soon as the diff names a
key new or gone:

* a new socket's record without its owner and CreationTime
  (:func:`core.connections.records.start_connection`); after the dump only the owner and the
  time are filled in. A key started here may still turn out to be an old socket in a new
  State (the caller's match with the gone records): its start is then not used.
* the fd that held a gone socket is read (:meth:`PidResolver.peek
  <core.connections.sources.pid_resolver.PidResolver.peek>`): the process's next socket
  usually lands on it, and the owner lookup after the dump takes what it finds there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


class EarlyWork:
    """Starts the records of the keys a dump's diff adds and peeks at the fds of the keys it
    passes over, as it goes."""

    __slots__ = ("_added", "_passed", "_peek", "_peeked", "_start", "_started", "started")

    def __init__(
        self,
        added: Sequence[bytes],
        start: Callable[[bytes], object],
        passed: Sequence[bytes],
        peek: Callable[[Sequence[bytes]], None],
    ) -> None:
        """``added``, ``passed``: the diff's lists of added and passed-over keys, which grow
        as it is fed (read, never changed here); ``start``: a key's started record;
        ``peek``: reads where gone keys' sockets were held."""
        self._added = added
        self._start = start
        self._started = 0
        self._passed = passed
        self._peek = peek
        self._peeked = 0
        self.started: dict[bytes, object] = {}
        """Key → its started record (for :func:`core.connections.records.finish_connection`)."""

    def after(self, feed: Callable[[list[bytes]], None]) -> Callable[[list[bytes]], None]:
        """``feed`` (the diff's), then the work for every key it added or passed over."""

        def fed(keys: list[bytes]) -> None:
            feed(keys)
            self.catch_up()

        return fed

    def catch_up(self) -> None:
        """Do the work for the keys added or passed over since the last call."""
        added, done = self._added, self._started
        if len(added) > done:
            start, started = self._start, self.started
            for key in added[done:]:
                started[key] = start(key)
            self._started = len(added)
        passed, done = self._passed, self._peeked
        if len(passed) > done:
            self._peek(passed[done:])
            self._peeked = len(passed)
