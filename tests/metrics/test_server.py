"""The exporter's HTTP endpoint under load from outside: bursts of scrapes, idle connections,
more connections than it serves at once.

Why against the real exporter: what a scraper meets is the kernel's listen queue and the HTTP
child's threads, which only the running command has as it is configured.
"""

from __future__ import annotations

import contextlib
import selectors
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil
import pytest

from core.metrics.exposition import Exposition
from core.metrics.listen import ListenAddress
from core.metrics.server import HANDLER_TIMEOUT_S, HEADER_TIMEOUT_S, MAX_HANDLERS, bind, serve
from tests.metrics.exporter import Exporter, exporter

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux listen queue")

BURST = 100
"""Concurrent scrapes in a burst (a reviewer saw stalls from 30 to 100)."""
GET = b"GET /metrics HTTP/1.0\r\n\r\n"
IDLE = 50
"""Connections that send nothing (a reviewer's 300 held 300 threads of the HTTP child)."""
SLOW = 300
"""Connections that send their headers a line at a time (a reviewer's slowloris)."""


def _address(running: Exporter) -> tuple[str, int]:
    host, port = running.url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    return host, int(port)


def _connect_nowait(address: tuple[str, int]) -> socket.socket:
    """A socket whose connect is under way (the kernel answers it, not the server's code)."""
    sock = socket.socket()
    sock.setblocking(False)
    sock.connect_ex(address)
    return sock


def _connected(socks: list[socket.socket], timeout_s: float) -> int:
    """How many of ``socks`` finish their handshake within ``timeout_s``. A listener whose
    accept queue is full drops the SYN, so those connects stay pending (the client retries
    after 1 s, 3 s, …, and a scrape stalls that long)."""
    done = 0
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_WRITE)
        while done < len(socks) and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                sel.unregister(ready)
                assert ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                done += 1
    return done


def _status(sock: socket.socket) -> str:
    """The status code of a GET on an open connection."""
    sock.setblocking(True)
    sock.settimeout(20)
    sock.sendall(GET)
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    return reply.split(b"\r\n", 1)[0].decode().split()[1]


def test_a_burst_of_scrapes_waits_in_the_listen_queue() -> None:
    # With the HTTP child stopped, nothing accepts: every connection of the burst must fit in
    # the listen queue. socketserver's default backlog of 5 held 6; the rest stalled.
    with exporter("--interval", "60", global_args=("--demo", "--no-ipsec")) as running:
        running.wait_sampled()
        (child,) = psutil.Process(running.proc.pid).children()
        socks: list[socket.socket] = []
        child.suspend()
        try:
            socks = [_connect_nowait(_address(running)) for _ in range(BURST)]
            connected = _connected(socks, timeout_s=2.0)
        finally:
            child.resume()
        try:
            assert connected == BURST
            assert [_status(sock) for sock in socks] == ["200"] * BURST
        finally:
            for sock in socks:
                sock.close()


def _until(done: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _closed_by_peer(sock: socket.socket, timeout_s: float) -> bool:
    """True once the other end closes (EOF or reset); False if it is still open after
    ``timeout_s``."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_idle_connections_are_closed_and_give_their_threads_back() -> None:
    with exporter("--interval", "60", global_args=("--demo", "--no-ipsec")) as running:
        running.wait_sampled()
        (child,) = psutil.Process(running.proc.pid).children()
        threads = child.num_threads()
        idle = [socket.create_connection(_address(running)) for _ in range(IDLE)]
        try:
            assert _until(lambda: child.num_threads() >= threads + IDLE, 10), "not accepted"
            started = time.monotonic()
            assert all(_closed_by_peer(sock, HANDLER_TIMEOUT_S + 10) for sock in idle)
            assert time.monotonic() - started < HANDLER_TIMEOUT_S + 5
            assert _until(lambda: child.num_threads() == threads, 5), child.num_threads()
        finally:
            for sock in idle:
                sock.close()
        assert running.scrape()[1]  # still serving
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(timeout=30) == 0
        _, err = running.proc.communicate(timeout=10)
    assert err == ""  # a timed-out client is no error worth a traceback in the journal


@contextmanager
def _serving(timeout_s: float, max_handlers: int) -> Iterator[tuple[str, int]]:
    """bind() and serve() as the HTTP child does, in this process, with these limits."""
    server = bind(ListenAddress("127.0.0.1", 0), timeout_s=timeout_s, max_handlers=max_handlers)
    thread = serve(server, Exposition())
    try:
        host, port = server.server_address[:2]
        yield str(host), int(port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_connections_beyond_the_handler_cap_are_closed_at_once() -> None:
    # The cap bounds what a peer can pile up (threads, fds) with connections that stay
    # quiet until the timeout; the timeout is long here, so a close can only be the cap's.
    with _serving(timeout_s=60, max_handlers=4) as address:
        threads = threading.active_count()
        held = [socket.create_connection(address) for _ in range(4)]
        try:
            assert _until(lambda: threading.active_count() == threads + 4, 10)
            with socket.create_connection(address) as extra:
                started = time.monotonic()
                assert _closed_by_peer(extra, 10)
                assert time.monotonic() - started < 5
        finally:
            for sock in held:
                sock.close()
        assert _until(lambda: threading.active_count() == threads, 10)
        # The slots are free again: a scrape is answered.
        url = f"http://{address[0]}:{address[1]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.status == 200


def _trickle(socks: list[socket.socket], stop: threading.Event, every_s: float) -> None:
    """One more header line on every socket still open, every ``every_s`` (slowloris)."""
    line = 0
    while not stop.wait(every_s):
        line += 1
        for sock in socks:
            with contextlib.suppress(OSError):  # closed by the server: what the test waits for
                sock.send(f"X-Slow-{line}: x\r\n".encode())


def _all_closed_by_peer(socks: list[socket.socket], timeout_s: float) -> int:
    """How many of ``socks`` are still open after ``timeout_s`` (0 when the server closed all)."""
    open_ = set(socks)
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_READ)
        while open_ and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    eof = ready.recv(1) == b""
                except ConnectionResetError:
                    eof = True
                if eof:
                    sel.unregister(ready)
                    open_.discard(ready)
    return len(open_)


def test_headers_sent_a_line_at_a_time_get_a_total_deadline() -> None:
    # Each line restarted the 10 s per-read timeout: 300 connections sending a header line
    # every second held the 256 handler slots forever, and no scrape was answered.
    assert SLOW > MAX_HANDLERS
    with exporter("--interval", "60", global_args=("--demo", "--no-ipsec")) as running:
        running.wait_sampled()
        socks = [socket.create_connection(_address(running)) for _ in range(SLOW)]
        stop = threading.Event()
        trickler = threading.Thread(target=_trickle, args=(socks, stop, 1.0), daemon=True)
        try:
            for sock in socks:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            trickler.start()
            started = time.monotonic()
            still_open = _all_closed_by_peer(socks, HEADER_TIMEOUT_S + 5)
            assert still_open == 0, f"{still_open} trickling connections still held"
            assert time.monotonic() - started < HEADER_TIMEOUT_S + 5
            assert running.scrape()[1]  # the slots are free again
        finally:
            stop.set()
            trickler.join(timeout=5)
            for sock in socks:
                sock.close()
