"""Running the exporter: HTTP in a child process, the feed driving updates in this one.

Why a child process for HTTP: at 50k sockets the sampler and the update threads run Python for
most of every second, and threads of one process take turns on one interpreter lock; a scrape
served by a thread of this process would wait its turn many times over. The child forked at
start holds only the listening socket and the newest families with their encodings (made
here, sent over a pipe after each update, a few kB), so a scrape waits for nobody. The child
ends when the pipe closes: when this process stops, however it stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import multiprocessing as mp
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from socketserver import ThreadingMixIn
from typing import Any, Final, Protocol, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.core import Metric

from core.connections.snapshot import Snapshot
from core.errors import OutputFailed
from core.ipsec.model import IpsecView
from core.metrics.exposition import Exposition, encode
from core.metrics.listen import ListenAddress
from core.sampling.feed import Feed, StreamsIpsec

T = TypeVar("T")


class Updates(Protocol):
    """What the feed loop hands its samples to (blocking calls, made in worker threads)."""

    def snapshot(self, snap: Snapshot) -> None:
        """A new connection sample."""
        ...

    def ipsec(self, view: IpsecView) -> None:
        """A new IPsec view, sampled on its own clock."""
        ...


LISTEN_BACKLOG: Final = socket.SOMAXCONN
"""Connections the kernel queues before the server accepts them (it caps the figure at
``net.core.somaxconn``: 4096 since Linux 5.4, 128 before).

Why not socketserver's default of 5: scrapes from several Prometheus servers, or a burst of
them, arrive together; beyond the queue the kernel drops their SYNs (ListenOverflows), and each
such scrape stalls for the client's SYN retry, 1 s and more. The queue costs nothing until used.
"""


HANDLER_TIMEOUT_S: Final = 10.0
"""How long a connection may keep its handler waiting on one read or write.

Why: a handler thread waits for its client's request, and a client that connects and sends
nothing held one forever (300 idle connections: 300 threads and fds in the HTTP child).
Prometheus sends its request as soon as it connects and reads the answer at once; 10 s is its
default scrape_timeout, beyond which it has given up anyway.
"""
HEADER_TIMEOUT_S: Final = 10.0
"""How long a connection has, in all, to send its request line and headers (Go's
``ReadHeaderTimeout``).

Why a total as well: :data:`HANDLER_TIMEOUT_S` starts again with every byte, so a client
sending one header line every 5 s (slowloris) kept its handler forever, and 256 of them took
every slot of :data:`MAX_HANDLERS`: no scrape was answered. Prometheus sends its whole request
at once.
"""
MAX_HANDLERS: Final = 256
"""Connections served at once; the server closes any beyond, unread.

Why: each costs a thread and an fd, and with ``--listen 0.0.0.0`` anyone who can reach the
port could hold connections open. A scrape is answered in milliseconds, so even a burst of
scrapes from many servers stays far below this; only connections left quiet reach it.
"""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request, at most :data:`MAX_HANDLERS` (or ``max_handlers``) at once;
    daemon threads, so a hung client never blocks the exit."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    max_handlers = MAX_HANDLERS

    def server_activate(self) -> None:
        """Listen, and make the count of free handler slots."""
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_handlers)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start the request's thread, or close the connection when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started: nobody else would give the slot back
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve in this thread; give the slot back however the request ends."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out, reset or went away is no fault of the exporter: say
        nothing (socketserver prints a traceback to stderr, i.e. the service's journal)."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _HeaderDeadline(io.RawIOBase):
    """The connection's reads, each bounded by what is left of a deadline until :meth:`end`."""

    def __init__(self, sock: socket.socket, deadline: float, idle_s: float | None) -> None:
        """``deadline``: time.monotonic() by which the headers must be in."""
        super().__init__()
        self._sock = sock
        self._deadline: float | None = deadline
        self._idle_s = idle_s

    def readable(self) -> bool:
        """A reader."""
        return True

    def readinto(self, buffer: Any) -> int:
        """One recv, waiting no longer than the deadline leaves (TimeoutError past it)."""
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request headers not complete in time")
            self._sock.settimeout(left if self._idle_s is None else min(left, self._idle_s))
        return self._sock.recv_into(buffer)

    def end(self) -> None:
        """The headers are in: from now on only the per-read timeout applies."""
        self._deadline = None
        self._sock.settimeout(self._idle_s)


class _QuietHandler(WSGIRequestHandler):
    """Closes a connection whose request line and headers are not in within
    :attr:`header_timeout`; no access log on stderr (a scrape every few seconds would flood
    the journal)."""

    timeout = HANDLER_TIMEOUT_S
    header_timeout = HEADER_TIMEOUT_S

    def setup(self) -> None:
        """Read the request through :class:`_HeaderDeadline`, the clock started now."""
        super().setup()
        self._reader = _HeaderDeadline(
            self.connection, time.monotonic() + self.header_timeout, self.timeout
        )
        self.rfile = io.BufferedReader(self._reader)

    def parse_request(self) -> bool:
        """Parse the request line and headers; then lift the deadline (a body, if any, and
        the answer have the per-read timeout)."""
        parsed = super().parse_request()
        self._reader.end()
        return parsed

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


def bind(
    address: ListenAddress,
    *,
    timeout_s: float = HANDLER_TIMEOUT_S,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    max_handlers: int = MAX_HANDLERS,
) -> WSGIServer:
    """A threaded WSGI server bound to ``address`` (its app is set by whoever serves), that
    drops a connection idle for ``timeout_s`` or whose request line and headers are not in
    after ``header_timeout_s``, and serves at most ``max_handlers`` at once.

    Raises:
        OSError: the address cannot be bound (in use, not local, unknown host, no permission).
    """
    family = socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0][0]

    class Server(_ThreadingServer):
        address_family = family

    Server.max_handlers = max_handlers

    class Handler(_QuietHandler):
        timeout = timeout_s
        header_timeout = header_timeout_s

    return make_server(address.host, address.port, _no_sample_yet, Server, handler_class=Handler)


NO_SAMPLE_YET: Final = b"no sample yet\n"
"""The body of /metrics before the first sample (status 503)."""


def _no_sample_yet(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """503 until the first sample's families arrive.

    Why not 200 with no series: Prometheus took the target as up with every series absent
    (a first sample takes seconds on a busy host), so ``absent(...)`` alerts fired at each
    restart; a failed scrape makes ``up`` 0 until there are figures.
    """
    start_response(
        "503 Service Unavailable",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(NO_SAMPLE_YET))),
        ],
    )
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [NO_SAMPLE_YET]


def serve(server: WSGIServer, exposition: Exposition | None = None) -> threading.Thread:
    """Serve ``exposition`` on ``server`` from a daemon thread of this process (None: 503 "no
    sample yet" until ``server.set_app`` gives it one)."""
    server.set_app(exposition if exposition is not None else _no_sample_yet)
    thread = threading.Thread(target=server.serve_forever, name="tcpscope-http", daemon=True)
    thread.start()
    return thread


def _child(server: WSGIServer, families: Connection, parents_end: Connection) -> None:
    """The HTTP process: serve 503 until the first families come through the pipe, then the
    newest families, until EOF."""
    parents_end.close()  # else the pipe never reports EOF: this process would hold it open
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops, the pipe closes
    serve(server)
    exposition = Exposition()
    with contextlib.suppress(EOFError, OSError):
        exposition.replace(*families.recv())
        server.set_app(exposition)  # one reference swap: a scrape sees either app, whole
        while True:
            exposition.replace(*families.recv())
    # The pipe closed: the exporter is stopping. Not server.shutdown(), which waits for
    # serve_forever's next poll (up to 0.5 s of every stop, the parent waiting to reap this
    # process): the exit ends the daemon serving threads and closes the socket.


def _how_it_ended(code: int) -> str:
    """``was killed by signal 9 (SIGKILL)`` for a negative exit status (multiprocessing's
    way to say a signal ended it), else ``ended (exit status N)``.

    Why: "exit status -9: Broken pipe" told the operator neither the signal nor who sent it
    (the pipe broke because the process was gone)."""
    if code >= 0:
        return f"ended (exit status {code})"
    try:
        name = f" ({signal.Signals(-code).name})"
    except ValueError:
        name = ""
    return f"was killed by signal {-code}{name}"


class ServingProcess:
    """The HTTP endpoint in a forked child; :meth:`publish` hands it new families."""

    def __init__(self, server: WSGIServer) -> None:
        """Fork the child serving ``server`` (bound already); this process keeps no copy of
        the listening socket. Fork before any thread starts (the child runs none of them)."""
        host, port = server.server_address[:2]
        self.address = ListenAddress(str(host), int(port))
        reader, self._writer = mp.get_context("fork").Pipe(duplex=False)
        self._sending = threading.Lock()  # connection samples and IPsec views both publish
        self._process = mp.get_context("fork").Process(
            target=_child, args=(server, reader, self._writer), name="tcpscope-http", daemon=True
        )
        self._process.start()
        reader.close()
        server.server_close()

    def publish(self, families: tuple[Metric, ...]) -> None:
        """Serve ``families`` from now on: encoded here, then sent (a few kB) through the pipe.

        Raises:
            OutputFailed: the HTTP process is gone (killed from outside): nothing can be served.
        """
        message = (families, encode(families))
        try:
            with self._sending:
                self._writer.send(message)
        except OSError as exc:
            self._process.join(timeout=1)  # the pipe closes as it dies: let it be reaped
            raise OutputFailed(
                f"the metrics HTTP process {_how_it_ended(self._process.exitcode)}"
                if self._process.exitcode
                else f"the metrics HTTP process ended: {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        """Close the pipe (the child stops serving and exits) and reap the child. A publish
        still sending (a stop abandons its thread) ends first, or is given up after a second:
        the child then reads a cut message as the end, and serves nothing of it."""
        sending = self._sending.acquire(timeout=1)
        try:
            self._writer.close()
        finally:
            if sending:
                self._sending.release()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)


async def feed_updates(feed: Feed, updates: Updates, stop: asyncio.Event) -> None:
    """Hand every snapshot of ``feed`` (and every IPsec view, when the feed streams them on
    their own clock) to ``updates`` in worker threads until ``stop``; then close the feed.
    An exception of an update (a bug) ends the run after the close."""

    async def snapshots() -> None:
        async for snap in feed.stream():
            await asyncio.to_thread(updates.snapshot, snap)

    async def ipsec_views(streaming: StreamsIpsec) -> None:
        async for view in streaming.ipsec_stream():
            await asyncio.to_thread(updates.ipsec, view)

    consumers = [asyncio.create_task(snapshots(), name="tcpscope-metrics")]
    if isinstance(feed, StreamsIpsec):
        consumers.append(asyncio.create_task(ipsec_views(feed), name="tcpscope-metrics-ipsec"))
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*consumers, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*consumers, waiter):
            task.cancel()
        await asyncio.gather(*consumers, waiter, return_exceptions=True)
        await feed.aclose()
    for task in consumers:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


class DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """Runs each call in a daemon thread of its own; shutting down waits for none of them.
    (A ThreadPoolExecutor only because asyncio's default executor must be one: its pool of
    threads, which the interpreter's exit joins, is never used.)

    Why: the exporter's loop hands the sampler's source calls (and the updates) to its default
    executor, and ``asyncio.run`` ends by waiting for that executor's threads, as the
    interpreter's exit does for a thread pool's: SIGTERM during a sample waited for the sample
    (5.5 s under load). Its result is not wanted any more, and a set of families is published
    whole or not at all (one pipe message), so nothing half-done is ever served. A few calls a
    sample: a thread each costs microseconds.
    """

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        """Start ``fn(*args, **kwargs)`` in a new daemon thread."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)

        threading.Thread(target=run, name="tcpscope-metrics-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Wait for nothing: a call still running is abandoned with its thread."""


async def serve_until_signal(feed: Feed, updates: Updates) -> None:
    """:func:`feed_updates` until SIGINT or SIGTERM (the service's way to stop), its blocking
    calls in :class:`DaemonThreads`, so the stop waits for no sample in progress."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_default_executor(DaemonThreads())
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await feed_updates(feed, updates, stop)
