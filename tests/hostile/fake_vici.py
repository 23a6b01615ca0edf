"""A fake VICI peer on a real UNIX socket, for faults real charon never shows: garbage, a
stall after the first byte, a 4 GiB length field, a packet type that changes every answer.
(Against real charon: tests/ipsec's lab.)"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

BEHAVIOURS = ("garbage", "stall", "stall-mid-message", "huge-length", "random-type")


class FakeVici:
    """Accepts connections on ``path`` and answers every request per ``behaviour``."""

    def __init__(self, behaviour: str) -> None:
        assert behaviour in BEHAVIOURS
        self.behaviour = behaviour
        self.dir = tempfile.mkdtemp(prefix="fake-vici-")
        self.path = str(Path(self.dir) / "charon.vici")
        self.accepted = 0
        self.requests = 0
        """Requests read (a client that sent one and got no answer is blocked on us)."""
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(16)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                if not conn.recv(65536):
                    return
                self.requests += 1
                if self.behaviour == "garbage":
                    conn.sendall(struct.pack("!I", 9) + b"\x01\xff\xfe garbage")
                elif self.behaviour == "stall-mid-message":
                    conn.sendall(struct.pack("!I", 100) + b"\x01\x03")
                elif self.behaviour == "huge-length":
                    conn.sendall(b"\xff\xff\xff\xff\x01")
                elif self.behaviour == "random-type":  # no VICI type is above 8
                    conn.sendall(struct.pack("!IB", 1, 250 - self.requests % 200))
                # "stall": read requests, never answer

    def close(self) -> None:
        self._stop.set()
        _shut(self._server, self._conns, self.path)


@contextlib.contextmanager
def fake_vici(behaviour: str) -> Iterator[FakeVici]:
    """A running :class:`FakeVici`, closed afterwards."""
    peer = FakeVici(behaviour)
    try:
        yield peer
    finally:
        peer.close()


class ScriptedVici:
    """A VICI peer that speaks the protocol and answers each command with a fixed reply
    (``replies``: command → message; others get an empty one), for replies real charon never
    sends: a counter that is negative or no number. Event registrations are confirmed; no
    event is ever sent (``list-sas`` lists no SA), unless ``endless_sa`` is given: then
    ``list-sas`` is answered with that ``list-sa`` event, again and again, every ``gap_s``
    seconds, and never ended (until the client goes). ``slow_next[command] = S``: the next
    answer to that command comes S seconds late (a busy charon); ``slow[command]``: every
    answer after it (a hung one)."""

    def __init__(
        self,
        replies: Mapping[str, Mapping[str, object]],
        endless_sa: Mapping[str, object] | None = None,
        gap_s: float = 0.0,
    ) -> None:
        self.replies: dict[str, Mapping[str, object]] = {"version": {"version": "5.9.8"}, **replies}
        self.endless_sa = endless_sa
        self.gap_s = gap_s
        self.events_sent = 0
        self.slow_next: dict[str, float] = {}
        self.slow: dict[str, float] = {}
        self.dir = tempfile.mkdtemp(prefix="scripted-vici-")
        self.path = str(Path(self.dir) / "charon.vici")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(16)
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            if not chunk:
                raise ConnectionError("client gone")
            data += chunk
        return data

    def _answer(self, conn: socket.socket) -> None:
        from vici.protocol import Message, Packet

        with contextlib.suppress(OSError):
            while True:
                (length,) = struct.unpack("!I", self._read(conn, 4))
                packet = self._read(conn, length)
                kind, size = packet[0], packet[1]
                name = packet[2 : 2 + size].decode()
                if kind == Packet.CMD_REQUEST and name == "list-sas" and self.endless_sa:
                    self._stream(conn, self.endless_sa)
                if kind == Packet.CMD_REQUEST:
                    time.sleep(self.slow_next.pop(name, self.slow.get(name, 0.0)))
                    reply = bytes([Packet.CMD_RESPONSE])
                    reply += Message.serialize(self.replies.get(name, {}))
                else:  # EVENT_REGISTER / EVENT_UNREGISTER
                    reply = bytes([Packet.EVENT_CONFIRM])
                conn.sendall(struct.pack("!I", len(reply)) + reply)

    def _stream(self, conn: socket.socket, sa: Mapping[str, object]) -> None:
        """``list-sa`` events that never end: returns (raising OSError) once the client is
        gone."""
        from vici.protocol import Message, Packet

        name = b"list-sa"
        event = bytes([Packet.EVENT, len(name)]) + name + Message.serialize(sa)
        packet = struct.pack("!I", len(event)) + event
        while True:
            conn.sendall(packet)
            self.events_sent += 1
            if self.gap_s:
                time.sleep(self.gap_s)

    def close(self) -> None:
        _shut(self._server, self._conns, self.path)


@contextlib.contextmanager
def scripted_vici(
    replies: Mapping[str, Mapping[str, object]],
    endless_sa: Mapping[str, object] | None = None,
    gap_s: float = 0.0,
) -> Iterator[ScriptedVici]:
    """A running :class:`ScriptedVici`, closed afterwards."""
    peer = ScriptedVici(replies, endless_sa, gap_s)
    try:
        yield peer
    finally:
        peer.close()


def _shut(server: socket.socket, conns: list[socket.socket], path: str) -> None:
    """Close a peer's listening socket and its connections, and remove its socket file and
    the folder made for it."""
    for conn in [server, *conns]:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.rmdir(os.path.dirname(path))
