"""Named peer processes holding real loopback connections, and a listener that drains them.

Why named processes: the exporter labels connections by process name, so a test needs
processes whose names it controls. Each peer is the system Python started through a symlink
called ``name``; the kernel takes a process's name (comm) from the path it was started by.
A peer obeys one command a line on stdin (``open N``, ``listen``, ``send I BYTES``, ``unname``:
prctl PR_SET_NAME "", a process without a name) and answers ``ok`` with its sockets' local ports.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from tests.metrics.exporter import readline

_PEER = """
import ctypes, socket, sys
port = int(sys.argv[1])
socks = []
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "open":
        socks += [socket.create_connection(("127.0.0.1", port)) for _ in range(int(args[0]))]
    elif cmd == "listen":
        socks.append(socket.create_server(("127.0.0.1", 0)))
    elif cmd == "send":
        socks[int(args[0])].sendall(b"x" * int(args[1]))
    elif cmd == "unname":
        assert ctypes.CDLL(None).prctl(15, b"", 0, 0, 0) == 0  # PR_SET_NAME
    print("ok", *(s.getsockname()[1] for s in socks), flush=True)
"""


def _drain(sock: socket.socket) -> bool:
    """Read what is there; False once the peer closed or reset the connection."""
    try:
        return bool(sock.recv(1 << 16))
    except OSError:
        return False


class Listener:
    """A loopback listener that accepts and reads everything on a thread (so peers never
    block on a full window); :meth:`accepted` maps a peer's local port to our end."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port: int = self.sock.getsockname()[1]
        self._ends: dict[int, socket.socket] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with selectors.DefaultSelector() as sel:  # epoll: fds above 1024 are fine
            sel.register(self.sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in sel.select(0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self.sock:
                        end, (_, port) = self.sock.accept()
                        with self._lock:
                            self._ends[port] = end
                        sel.register(end, selectors.EVENT_READ)
                    elif not _drain(sock):
                        sel.unregister(sock)

    def accepted(self, peer_port: int, timeout_s: float = 10.0) -> socket.socket:
        """Our end of the connection whose peer uses ``peer_port`` (the accepting thread may
        not have got to it yet: a connect completes before the accept)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                end = self._ends.get(peer_port)
            if end is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert end is not None, f"no connection from port {peer_port} accepted"
        return end

    def close(self) -> None:
        """Stop the thread and close every socket."""
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            for end in self._ends.values():
                end.close()
        self.sock.close()


class Peer:
    """One named process connected to a :class:`Listener`."""

    def __init__(self, directory: Path, name: str, port: int) -> None:
        exe = directory / name
        exe.symlink_to(os.path.realpath(sys.executable))
        self.name = name
        self.proc = subprocess.Popen(
            [str(exe), "-c", _PEER, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, command: str) -> list[int]:
        """Run one command; the local ports of all the peer's connections."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        reply = readline(self.proc.stdout, 60).split()
        assert reply[:1] == ["ok"], f"peer {self.name}: {command!r} -> {reply!r}"
        return [int(p) for p in reply[1:]]

    def __enter__(self) -> Peer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.proc.kill()
        self.proc.communicate(timeout=10)  # reaps it and closes the pipes
