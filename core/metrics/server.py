"""Running the exporter: a threaded HTTP server for the WSGI app, the feed driving updates.

Why threads for HTTP and asyncio for the feed: the sampler is asyncio (as in the app), while
scrapes must be answered even when an update is busy in a worker thread; the standard library's
WSGI server on daemon threads does that with no extra dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from core.connections.snapshot import Snapshot
from core.metrics.listen import ListenAddress
from core.sampling.feed import Feed


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request; daemon threads, so a hung client never blocks the exit."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (a scrape every few seconds would flood the journal)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


@dataclass
class Endpoint:
    """A running HTTP endpoint."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def address(self) -> ListenAddress:
        """Where it actually listens (the real port when 0 was asked for)."""
        host, port = self.server.server_address[:2]
        return ListenAddress(str(host), int(port))

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def open_endpoint(address: ListenAddress, app: Any) -> Endpoint:
    """Bind ``address`` and serve the WSGI ``app`` on daemon threads.

    Raises:
        OSError: the address cannot be bound (in use, not local, unknown host, no permission).
    """
    family = socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0][0]

    class Server(_ThreadingServer):
        address_family = family

    server = make_server(address.host, address.port, app, Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="tcpscope-http", daemon=True)
    thread.start()
    return Endpoint(server, thread)


async def feed_updates(feed: Feed, update: Callable[[Snapshot], None], stop: asyncio.Event) -> None:
    """Call ``update`` (in a worker thread) with every snapshot of ``feed`` until ``stop``;
    then close the feed. An exception of ``update`` (a bug) ends the run after the close."""

    async def consume() -> None:
        async for snap in feed.stream():
            await asyncio.to_thread(update, snap)

    consumer = asyncio.create_task(consume(), name="tcpscope-metrics")
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([consumer, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (consumer, waiter):
            task.cancel()
        await asyncio.gather(consumer, waiter, return_exceptions=True)
        await feed.aclose()
    if not consumer.cancelled() and consumer.exception() is not None:
        raise consumer.exception()  # type: ignore[misc]


async def serve_until_signal(feed: Feed, update: Callable[[Snapshot], None]) -> None:
    """:func:`feed_updates` until SIGINT or SIGTERM (the service's way to stop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await feed_updates(feed, update, stop)
