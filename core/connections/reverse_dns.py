"""Reverse DNS for the addresses on screen: asynchronous, cached, off unless asked for.

Why its own threads: ``gethostbyaddr`` can take seconds per address (a resolver timing out),
and the table must never wait for it. :meth:`ReverseDns.name` answers from the cache at once
and queues a lookup otherwise; when one finishes, ``on_resolved`` is called (from the lookup
thread) so the UI can redraw. Failures are cached too (as "no name"), so an address is looked
up once per run. Unspecified addresses (``0.0.0.0``, ``::``) are never looked up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

WORKERS: Final = 4
MAX_CACHED: Final = 10000
UNSPECIFIED: Final = frozenset({"0.0.0.0", "::", ""})

Resolver = Callable[[str], str]


def _gethostbyaddr(address: str) -> str:
    return socket.gethostbyaddr(address)[0]


class ReverseDns:
    """Address → host name, resolved in the background."""

    def __init__(
        self,
        on_resolved: Callable[[], None] | None = None,
        resolve: Resolver = _gethostbyaddr,
        workers: int = WORKERS,
    ) -> None:
        """``resolve`` does one blocking lookup (the system resolver unless a test injects)."""
        self._on_resolved = on_resolved
        self._resolve = resolve
        self._cache: dict[str, str | None] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="tcpscope-rdns")
        self._closed = False

    def name(self, address: str) -> str | None:
        """The cached name of ``address``; None (and a lookup queued) when not known yet."""
        if address in UNSPECIFIED:
            return None
        with self._lock:
            if address in self._cache:
                return self._cache[address]
            if address in self._pending or self._closed:
                return None
            self._pending.add(address)
        self._pool.submit(self._lookup, address)
        return None

    @property
    def pending(self) -> int:
        """Lookups queued or running."""
        with self._lock:
            return len(self._pending)

    def _lookup(self, address: str) -> None:
        try:
            found: str | None = self._resolve(address)
        except (OSError, UnicodeError, ValueError):
            found = None
        if found == address:
            found = None
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[address] = found
            self._pending.discard(address)
            closed = self._closed
        if not closed and self._on_resolved is not None:
            self._on_resolved()

    def close(self) -> None:
        """Stop: queued lookups are dropped, running ones finish unheard."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
