"""A VICI transport that cannot be wedged or blown up by the peer at the other end.

Why: the ``vici`` package's transport clears the socket timeout after the first byte of a
message (so a daemon that sends a byte and stalls blocks the reader forever) and allocates
whatever the 32-bit length field asks for (up to 4 GiB). tcpscope runs as root and reads a
socket that anyone able to replace it controls, so every read here has a deadline and a
message longer than charon itself ever sends is a protocol error.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from typing import Final

MAX_MESSAGE_BYTES: Final = 512 * 1024
"""charon's own limit: ``VICI_MESSAGE_SIZE_MAX (512 * 1024)`` in strongSwan's
``src/libcharon/plugins/vici/vici_socket.h``; charon discards anything larger it would send,
so a longer length field can only come from something that is not charon."""


class ViciProtocolError(Exception):
    """The peer broke the VICI framing (too long, stalled mid-message, closed mid-message).

    Deliberately not an OSError/TimeoutError: ``vici.Session.listen`` treats a
    ``socket.timeout`` as "no event yet", which must not hide a message cut in half.
    """


class ReplyTooLarge(Exception):
    """A reply streamed as many messages (``list-sas``) went past tcpscope's limit on its
    count, its bytes or its time: each message within the limits, the whole without end."""


class BoundedTransport:
    """Drop-in for ``vici.protocol.Transport`` with a deadline on every read and a size cap."""

    HEADER_LENGTH = 4

    def __init__(self, sock: socket.socket, timeout_s: float) -> None:
        self.socket = sock
        self.timeout_s = timeout_s
        self.received = 0
        """Bytes received so far: what bounds a reply of many messages as a whole."""

    def send(self, packet: bytes) -> None:
        """Send one length-prefixed packet (within the timeout)."""
        if len(packet) > MAX_MESSAGE_BYTES:
            raise ViciProtocolError(f"request of {len(packet)} bytes exceeds the VICI limit")
        self.socket.settimeout(self.timeout_s)
        self.socket.sendall(struct.pack("!I", len(packet)) + packet)

    def receive(self, timeout: object = None) -> bytes:
        """One message; ``timeout`` bounds the wait for its first byte (``socket.timeout`` when
        nothing came, as the vici package expects), ``timeout_s`` the rest of it."""
        # vici passes its own "default" sentinel or a number of seconds
        first_wait = float(timeout) if isinstance(timeout, int | float) else self.timeout_s
        header = self._read(self.HEADER_LENGTH, first_wait, started=False)
        (length,) = struct.unpack("!I", header)
        if length > MAX_MESSAGE_BYTES:
            raise ViciProtocolError(
                f"message of {length} bytes exceeds the VICI limit of {MAX_MESSAGE_BYTES}"
            )
        self.received += self.HEADER_LENGTH + length
        return self._read(length, self.timeout_s, started=True)

    def _read(self, count: int, wait_s: float, *, started: bool) -> bytes:
        chunks: list[bytes] = []
        got = 0
        deadline = time.monotonic() + wait_s
        while got < count:
            left = deadline - time.monotonic()
            if left <= 0:
                if not started and got == 0:
                    raise TimeoutError("no message")
                raise ViciProtocolError("the daemon stopped in the middle of a message")
            self.socket.settimeout(left)
            try:
                buf = self.socket.recv(min(count - got, 65536))
            except TimeoutError:
                if not started and got == 0:
                    raise
                raise ViciProtocolError("the daemon stopped in the middle of a message") from None
            if not buf:
                if not started and got == 0:
                    raise ConnectionResetError("the daemon closed the connection")
                raise ViciProtocolError("the daemon closed the connection mid-message")
            chunks.append(buf)
            got += len(buf)
            if not started:
                # the rest of the message gets the full per-message timeout from its first byte
                started = True
                deadline = time.monotonic() + self.timeout_s
        return b"".join(chunks)

    def close(self) -> None:
        """Shut the socket down (the peer may already be gone)."""
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
