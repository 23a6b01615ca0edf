"""A namespace's TCP sockets from ``/proc/PID/net/tcp{,6}``: the fallback without CAP_SYS_ADMIN.

Why: entering another namespace for a sock_diag socket needs CAP_SYS_ADMIN, but procfs
shows any process's namespace tables through ``/proc/PID/net``. The text has fewer facts than
a dump: no socket cookie, no interface, no tcp_info (:data:`MISSING` names them for the
detail pane). Each line becomes a key in the very layout of a sock_diag key
(:data:`core.connections.sources.inet_diag.SOCKET_KEY`), so the netlink source's diff,
owner resolution and records work unchanged.
"""

from __future__ import annotations

import socket
import sys
from typing import Final

MISSING: Final = ("tcp_info", "socket cookie", "interface")
"""What a namespace read from /proc/PID/net/tcp lacks, compared with a sock_diag dump."""
_NO_IF_COOKIE: Final = bytes(12)


def _address(text: str) -> bytes:
    """procfs prints each 32-bit word of the address as a host-order number."""
    raw = bytes.fromhex(text)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return raw.ljust(16, b"\0")


def parse(text: str, family: int) -> list[bytes]:
    """Keys of every socket in one ``/proc/net/tcp`` (``family`` AF_INET) or ``tcp6`` text."""
    keys: list[bytes] = []
    head_family = bytes((family,))
    order = sys.byteorder
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, _, lport = fields[1].partition(":")
        remote, _, rport = fields[2].partition(":")
        try:
            key = b"".join(
                (
                    head_family,
                    bytes((int(fields[3], 16),)),
                    int(lport, 16).to_bytes(2, "big"),
                    int(rport, 16).to_bytes(2, "big"),
                    _address(local),
                    _address(remote),
                    _NO_IF_COOKIE,
                    int(fields[7]).to_bytes(4, order),
                    int(fields[9]).to_bytes(4, order),
                )
            )
        except ValueError:
            continue  # a line this parser does not understand: skipped, never guessed
        keys.append(key)
    return keys


def read_keys(pid: int, proc: str = "/proc") -> list[bytes]:
    """Keys of every TCP socket in ``pid``'s namespace (raises OSError when unreadable)."""
    keys: list[bytes] = []
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            with open(f"{proc}/{pid}/net/{name}", encoding="ascii", errors="replace") as f:
                keys += parse(f.read(), family)
        except FileNotFoundError:
            if name == "tcp":
                raise
    return keys
