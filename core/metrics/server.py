"""Running the exporter: the HTTP endpoint on its own threads, the feed driving the collector.

Why prometheus_client's own server: it already negotiates the Prometheus text format and
OpenMetrics from the Accept header, gzips when asked and filters by ``name[]``. It serves on
daemon threads, so the asyncio loop here only consumes the feed and stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

from core.metrics.collector import SnapshotCollector
from core.metrics.listen import ListenAddress
from core.sampling.feed import Feed


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


def open_endpoint(address: ListenAddress, registry: CollectorRegistry) -> Endpoint:
    """Bind and start serving ``registry``.

    Raises:
        OSError: the address cannot be bound (in use, not local, unknown host, no permission).
    """
    server, thread = start_http_server(address.port, address.host, registry)
    return Endpoint(server, thread)


async def feed_collector(feed: Feed, collector: SnapshotCollector, stop: asyncio.Event) -> None:
    """Turn every snapshot of ``feed`` into families until ``stop`` is set; close the feed.

    A failure of the collector (a bug) ends the run with its exception, after the feed closed.
    """

    async def consume() -> None:
        async for snap in feed.stream():
            await asyncio.to_thread(collector.update, snap)

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


async def serve_until_signal(feed: Feed, collector: SnapshotCollector) -> None:
    """:func:`feed_collector` until SIGINT or SIGTERM (the service's way to stop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await feed_collector(feed, collector, stop)
