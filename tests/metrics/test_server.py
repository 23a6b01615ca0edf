"""The exporter's HTTP endpoint under load from outside: bursts of scrapes.

Why against the real exporter: what a scraper meets is the kernel's listen queue and the HTTP
child's threads, which only the running command has as it is configured.
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

import psutil
import pytest

from tests.metrics.exporter import Exporter, exporter

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux listen queue")

BURST = 100
"""Concurrent scrapes in a burst (a reviewer saw stalls from 30 to 100)."""
GET = b"GET /metrics HTTP/1.0\r\n\r\n"


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
