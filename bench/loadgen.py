"""Loopback TCP load for benchmarks: N established sockets, TIME_WAIT, churn on command.

Why: source costs depend on socket count, owner processes and churn, so the bench needs a
reproducible population. RLIMIT_NOFILE is 20000 per process here and cannot be raised, so the
load lives in several worker processes (8 by default). Each worker listens on two ports on
127.0.0.1 and two on ::1 and connects to the next worker's listeners, so both ends of every
connection are established and owned by different PIDs. IPv4 clients bind to 16 source
addresses 127.1.<w>.<x> with IP_BIND_ADDRESS_NO_PORT (the port is picked at connect time from
the full 4-tuple, so 28k ephemeral ports are no limit); about 10% of connections use IPv6.

Churn closes connections with RST (SO_LINGER 0: no TIME_WAIT, so the population stays N) and
opens as many new ones. TIME_WAIT entries are made on purpose, by a normal active close.

Manual run: ``python bench/loadgen.py 10000 30`` holds 10k sockets for 30 s.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing as mp
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Final

IP_BIND_ADDRESS_NO_PORT: Final = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
SOURCES_PER_WORKER: Final = 16
IPV6_SHARE: Final = 0.10
BACKLOG: Final = 4096
_RST: Final = struct.pack("ii", 1, 0)
_PR_SET_PDEATHSIG: Final = 1


def _die_with_parent() -> None:
    """A worker is killed when the process that started it ends, however it ends: each worker
    holds its pipes' other ends too (fork), so it never sees their EOF, and a killed ``loadgen``
    left 20k sockets held by orphans."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _listener(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


class _Server(threading.Thread):
    """Accepts on the worker's listeners and closes accepted sockets when the peer does."""

    def __init__(self, listeners: list[socket.socket]) -> None:
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.listeners = listeners
        self.stop = False
        for lst in listeners:
            self.sel.register(lst, selectors.EVENT_READ, None)

    def run(self) -> None:
        while not self.stop:
            for key, _ev in self.sel.select(0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data is None:
                    self._accept(sock)
                else:
                    self._read(sock)

    def _accept(self, lst: socket.socket) -> None:
        while True:
            try:
                conn, _ = lst.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            self.sel.register(conn, selectors.EVENT_READ, True)

    def _read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(sock)
            sock.close()


class _Clients:
    """The worker's client ends, connected to the next worker's listeners."""

    def __init__(self, index: int, targets: list[tuple[str, int]]) -> None:
        self.v4 = [t for t in targets if ":" not in t[0]]
        self.v6 = [t for t in targets if ":" in t[0]]
        self.sources = [f"127.1.{index}.{x}" for x in range(1, SOURCES_PER_WORKER + 1)]
        self.socks: list[socket.socket] = []
        self.rng = random.Random(index)

    def connect_one(self) -> socket.socket:
        if self.rng.random() < IPV6_SHARE:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.connect(self.rng.choice(self.v6))
            return sock
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((self.rng.choice(self.sources), 0))
        sock.connect(self.rng.choice(self.v4))
        return sock

    def open(self, count: int) -> None:
        for _ in range(count):
            self.socks.append(self.connect_one())

    def churn(self, count: int) -> None:
        count = min(count, len(self.socks))
        for _ in range(count):
            i = self.rng.randrange(len(self.socks))
            sock = self.socks[i]
            self.socks[i] = self.socks[-1]
            self.socks.pop()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
            sock.close()
        self.open(count)

    def time_wait(self, count: int) -> None:
        for _ in range(count):
            self.connect_one().close()  # active close: this end ends in TIME_WAIT

    def close_all(self) -> None:
        for sock in self.socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
            sock.close()
        self.socks = []


def _worker(index: int, pipe: Connection) -> None:
    _die_with_parent()
    listeners = [_listener(h) for h in ("127.0.0.1", "127.0.0.1", "::1", "::1")]
    pipe.send([lst.getsockname()[:2] for lst in listeners])
    clients = _Clients(index, pipe.recv())
    server = _Server(listeners)
    server.start()
    while True:
        cmd, arg = pipe.recv()
        try:
            if cmd == "open":
                clients.open(arg)
            elif cmd == "churn":
                clients.churn(arg)
            elif cmd == "tw":
                clients.time_wait(arg)
            elif cmd == "close":
                clients.close_all()
            elif cmd == "quit":
                clients.close_all()
                server.stop = True
                pipe.send(("ok", 0))
                return
            pipe.send(("ok", len(clients.socks)))
        except OSError as err:
            pipe.send(("error", f"worker {index}: {err}"))


class LoadGen:
    """Worker processes holding loopback connections; every method waits for all workers."""

    def __init__(self, workers: int = 8) -> None:
        """Start the workers and wire each one to the next one's listeners."""
        ctx = mp.get_context("fork")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for i in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(i, child), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        ports = [pipe.recv() for pipe in self.pipes]
        for i, pipe in enumerate(self.pipes):
            pipe.send(ports[(i + 1) % workers])
        self.connections = 0
        self.pids = [int(p.pid) for p in self.procs]

    def _all(self, cmd: str, total: int) -> None:
        n = len(self.pipes)
        shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
        for pipe, share in zip(self.pipes, shares, strict=True):
            pipe.send((cmd, share))
        errors = []
        count = 0
        for pipe in self.pipes:
            status, value = pipe.recv()
            if status != "ok":
                errors.append(value)
            else:
                count += value
        if errors:
            raise RuntimeError("; ".join(errors))
        self.connections = count

    def open(self, connections: int) -> None:
        """Open ``connections`` more connections (2 sockets each)."""
        self._all("open", connections)

    def grow_to(self, sockets: int) -> None:
        """Open connections until about ``sockets`` established sockets exist (both ends)."""
        missing = sockets // 2 - self.connections
        if missing > 0:
            self.open(missing)

    def churn(self, connections: int) -> None:
        """Reset ``connections`` connections and open as many new ones."""
        self._all("churn", connections)

    def time_wait(self, count: int) -> None:
        """Leave ``count`` more sockets in TIME_WAIT (they expire after 60 s)."""
        self._all("tw", count)

    def close(self) -> None:
        """Reset every connection and stop the workers."""
        for pipe in self.pipes:
            try:
                pipe.send(("quit", 0))
                pipe.recv()
            except (OSError, EOFError):
                pass
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()

    def __enter__(self) -> LoadGen:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """Hold N sockets for a while (manual experiments)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sockets", type=int, help="established sockets (both ends)")
    parser.add_argument("seconds", type=float, nargs="?", default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    if args.sockets < 2 or args.workers < 1:
        print("loadgen: sockets must be >= 2 and workers >= 1", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # workers closed
    with LoadGen(args.workers) as load:
        start = time.perf_counter()
        load.grow_to(args.sockets)
        load.time_wait(args.sockets // 20)
        print(
            f"{2 * load.connections} sockets in {time.perf_counter() - start:.1f} s; "
            f"workers {load.pids}",
            flush=True,
        )
        time.sleep(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
