"""Real loopback sockets for integration tests: listeners, connected pairs, TIME_WAIT, a child.

Why a module: several tests (and the bench) need the same kernel states; building them by hand
each time hides what a test is about. Everything binds to loopback with port 0 and is closed by
the caller (use :class:`SocketBag` as a context manager).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


@dataclass
class SocketBag:
    """Owns sockets and child processes; closes/kills them all on exit."""

    sockets: list[socket.socket] = field(default_factory=list)
    children: list[subprocess.Popen[str]] = field(default_factory=list)
    forked: list[int] = field(default_factory=list)
    """PIDs our children fork()ed (not ours to wait for): killed on exit."""

    def __enter__(self) -> SocketBag:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sock in self.sockets:
            sock.close()
        for child in self.children:
            child.kill()
            child.wait(timeout=10)
        for pid in self.forked:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def keep(self, sock: socket.socket) -> socket.socket:
        """Register ``sock`` for closing."""
        self.sockets.append(sock)
        return sock

    def listener(self, host: str = "127.0.0.1", *, v6only: bool = True) -> socket.socket:
        """A listening socket on ``host``, ephemeral port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = self.keep(socket.socket(family, socket.SOCK_STREAM))
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        sock.bind((host, 0))
        sock.listen(16)
        return sock

    def pair(
        self, listener: socket.socket, connect_host: str | None = None
    ) -> tuple[socket.socket, socket.socket]:
        """An established connection to ``listener``: (client, accepted)."""
        host, port = listener.getsockname()[:2]
        target = connect_host or host
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        client = self.keep(socket.socket(family, socket.SOCK_STREAM))
        if family == socket.AF_INET6:
            client.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        client.connect((target, port))
        accepted, _ = listener.accept()
        return client, self.keep(accepted)

    def time_wait(self, listener: socket.socket) -> tuple[int, int]:
        """Leave one connection in TIME_WAIT; returns its (client port, server port).

        The client closes first (active close), so the client's end enters TIME_WAIT once the
        server's FIN arrives.
        """
        client, accepted = self.pair(listener)
        ports = (client.getsockname()[1], listener.getsockname()[1])
        client.close()
        assert accepted.recv(1) == b""
        accepted.close()
        return ports

    def reset_but_held(self, listener: socket.socket, port: int = 0) -> socket.socket:
        """A client whose connection the server reset, still held: State Closed, listed.

        Bound to an explicit port (``port`` or a free one), as the kernel keeps a reset
        socket in its bind table, where the dump finds it, only when its port was chosen
        (SOCK_BINDPORT_LOCK). SO_REUSEADDR lets a new connection take the same 4-tuple.
        """
        if not port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        client = self.keep(socket.socket())
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind(("127.0.0.1", port))
        client.connect(listener.getsockname())
        accepted, _ = listener.accept()
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        accepted.close()  # an abortive close: a reset, no TIME_WAIT on either side
        client.settimeout(5)
        with contextlib.suppress(ConnectionResetError):
            client.recv(1)  # the reset has arrived
        return client

    def child_listener(
        self, host: str = "127.0.0.1", *, ignore_term: bool = False
    ) -> tuple[subprocess.Popen[str], int]:
        """A child Python process listening on ``host``; returns (process, port).

        ``ignore_term``: the child ignores SIGTERM (only SIGKILL ends it).
        """
        ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else ""
        code = (
            f"import signal,socket,sys\n{ignore}"
            f"s=socket.socket(); s.bind(({host!r},0)); s.listen()\n"
            "print(s.getsockname()[1], flush=True)\n"
            "sys.stdin.read()\n"
        )
        return self._spawn(code)

    def _spawn(self, code: str) -> tuple[subprocess.Popen[str], int]:
        """A child Python running ``code``, which prints its listener's port first."""
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.children.append(child)
        assert child.stdout is not None
        return child, int(child.stdout.readline())

    def forked_close_wait(self, host: str = "127.0.0.1") -> tuple[subprocess.Popen[str], int, int]:
        """A child that ignores SIGTERM, listens, holds one CloseWait connection, then fork()s:
        its fork holds the same two sockets. Returns (the child, the fork's PID, the port).

        Why: ending either process closes none of the sockets (the other still holds them).
        """
        code = (
            "import os,signal,socket,sys\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"s=socket.socket(); s.bind(({host!r},0)); s.listen()\n"
            "print(s.getsockname()[1], flush=True)\n"
            "c,_=s.accept(); assert c.recv(1)==b''\n"  # the peer closed: c is in CloseWait
            "pid=os.fork()\n"
            "if pid: print(pid, flush=True)\n"
            "sys.stdin.read()\n"
        )
        child, port = self._spawn(code)
        assert child.stdout is not None
        with socket.create_connection((host, port), timeout=10):
            pass  # closed at once: the accepted end waits in CloseWait
        fork = int(child.stdout.readline())
        self.forked.append(fork)
        return child, fork, port


def fill(sender: socket.socket) -> int:
    """Send until the kernel refuses more (EAGAIN): the peer reads nothing. Bytes sent."""
    sender.setblocking(False)
    sent = 0
    while True:
        try:
            sent += sender.send(b"x" * 65536)
        except BlockingIOError:
            return sent


def proc_net_timer(local_port: int, remote_port: int) -> int | None:
    """The kernel's ``timer_active`` for an IPv4 socket in /proc/net/tcp (``get_tcp4_sock``:
    1 retransmit, 2 keepalive, 4 zero-window probe), or None when it is not listed. Read
    apart from inet_diag, so a test checks tcpscope against another of the kernel's views."""
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16), int(remote.split(":")[1], 16)) == (
                local_port,
                remote_port,
            ):
                return int(fields[5].split(":")[0], 16)
    return None


def wait_for(probe: Callable[[], T | None], timeout_s: float = 10.0) -> T:
    """Poll ``probe`` until it returns something; kernel state changes are asynchronous."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = probe()
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


SYSTEM_PYTHON = "/usr/bin/python3"
"""An interpreter user nobody can run (the test runner's may live under /root)."""
WITHOUT_PTRACE = ("setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace")
"""Prefix: run a command as root minus CAP_SYS_PTRACE (a default container's root)."""


@contextlib.contextmanager
def listener_held_by_nobody() -> Iterator[int]:
    """A loopback listener held by a process of user nobody; yields its port. Its fd table
    is another user's: root reads it only with CAP_SYS_PTRACE (see :data:`WITHOUT_PTRACE`)."""
    holder = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SYSTEM_PYTHON,
         "-c", "import socket, sys; s = socket.create_server(('127.0.0.1', 0));"
         " print(s.getsockname()[1], flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/",
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        port = holder.stdout.readline().strip()
        assert port.isdigit(), port
        yield int(port)
    finally:
        holder.kill()
        holder.wait(timeout=10)
