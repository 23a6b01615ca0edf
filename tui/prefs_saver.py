"""Preferences written in a thread of their own, the newest only, never on the UI thread.

Why: a saved preference (``s`` saves the sort order) is written atomically, with an
``fsync``; on a busy disk the sync waits for the file system's journal. Measured from outside
at 250k rows: an ``s`` whose handler took 98 ms of wall time for 4 ms of CPU, the UI thread
asleep in the write, so the screen waited for the disk. Here the write goes to a thread and
the key is answered at once; presses faster than the disk only write the last state.

A file that could not be read at start (``unreadable``) is never saved over: the first save
reports that once, later ones are dropped silently. Any other problem is reported once until a
save succeeds: a refusal (another user's folder) stays true all run and is not worth a toast
per key press.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tui.prefs import Prefs, not_saving, save


class PrefsSaver:
    """Saves :class:`Prefs` to ``path`` in a background thread (one at a time, latest wins);
    ``on_problem`` gets the one-line problem of a failed save, from that thread."""

    def __init__(
        self, path: Path, on_problem: Callable[[str], None], unreadable: str | None = None
    ) -> None:
        """Nothing is written until :meth:`save`; nothing at all when ``unreadable`` says
        why the file at ``path`` could not be read."""
        self._path = path
        self._on_problem = on_problem
        self._unreadable = unreadable
        self._told = False
        self._last_problem: str | None = None
        self._lock = threading.Lock()
        self._next: Prefs | None = None
        self._writing = False
        self._idle = threading.Event()
        self._idle.set()

    def save(self, prefs: Prefs) -> None:
        """Write ``prefs`` soon (a save not yet begun is replaced by this one)."""
        with self._lock:
            self._next = prefs
            if self._writing:
                return
            self._writing = True
            self._idle.clear()
        threading.Thread(target=self._run, name="tcpscope-prefs", daemon=True).start()

    def wait(self, timeout_s: float) -> bool:
        """Wait until every save asked for is written (or failed); False on timeout."""
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        try:
            while (prefs := self._take()) is not None:
                problem = self._write(prefs)
                if problem and problem != self._last_problem:  # said once until a save works
                    self._on_problem(problem)
                self._last_problem = problem
        except BaseException:
            with self._lock:  # the next save starts a thread again
                self._writing = False
                self._idle.set()
            raise

    def _write(self, prefs: Prefs) -> str | None:
        """Save ``prefs``, or the refusal to save over an unreadable file (only the first time)."""
        if self._unreadable is None:
            return save(prefs, self._path)
        if self._told:
            return None
        self._told = True
        return not_saving(self._path, self._unreadable)

    def _take(self) -> Prefs | None:
        """The save to write next; None (and idle) when there is none."""
        with self._lock:
            prefs, self._next = self._next, None
            if prefs is None:
                self._writing = False
                self._idle.set()
            return prefs
