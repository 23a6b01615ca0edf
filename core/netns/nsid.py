"""Netns ids (``RTM_GETNSID``): the one tie between a process and an nsfs file that needs no
privilege.

Why: without ptrace access to a process (another user's), its ``/proc/PID/ns/net`` cannot be
read, so its namespace's nsfs inode is unknown, while ``/run/netns/NAME`` is open to anyone
(nsfs files are 0444). rtnetlink answers "which id does *my* namespace give the namespace of
PID n / of this fd" to any user; two equal ids are the same namespace. An id exists only once
assigned (a veth peer, ``ip netns set NAME auto``); unassigned (-1) tells nothing, except
that the namespace differs from every one that has an id.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Final

from core.netlink import NLA_HDR, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_HDR

RTM_GETNSID: Final = 90
NETNSA_NSID: Final = 1
NETNSA_PID: Final = 2
NETNSA_FD: Final = 3
NOT_ASSIGNED: Final = -1
"""The kernel's answer for a namespace mine gave no id (NETNSA_NSID_NOT_ASSIGNED)."""
_RTGENMSG: Final = struct.pack("=B3x", socket.AF_UNSPEC)


class NsidAsker:
    """One rtnetlink socket asking for netns ids; every failure is None, never an error."""

    def __init__(self) -> None:
        """Open nothing yet: most hosts never need to ask."""
        self._sock: socket.socket | None = None
        self._seq = 0

    def _ask(self, attr: int, value: int) -> int | None:
        try:
            if self._sock is None:
                self._sock = socket.socket(
                    socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0
                )
                self._sock.settimeout(1.0)
            self._seq += 1
            body = _RTGENMSG + NLA_HDR.pack(8, attr) + struct.pack("=I", value)
            head = NLMSG_HDR.pack(
                NLMSG_HDR.size + len(body), RTM_GETNSID, NLM_F_REQUEST, self._seq, 0
            )
            self._sock.send(head + body)
            while True:
                data = self._sock.recv(8192)
                _len, kind, _flags, seq, _pid = NLMSG_HDR.unpack_from(data)
                if seq == self._seq:
                    break
        except OSError:
            return None
        if kind == NLMSG_ERROR:
            return None
        offset = NLMSG_HDR.size + len(_RTGENMSG)
        while offset + NLA_HDR.size <= len(data):
            size, kind = NLA_HDR.unpack_from(data, offset)
            if size < NLA_HDR.size:
                break
            if kind == NETNSA_NSID and size >= 8:
                return int(struct.unpack_from("=i", data, offset + NLA_HDR.size)[0])
            offset += (size + 3) & ~3
        return None

    def of_pid(self, pid: int) -> int | None:
        """The id of ``pid``'s namespace (:data:`NOT_ASSIGNED`: none; None: no answer)."""
        return self._ask(NETNSA_PID, pid)

    def of_path(self, path: str) -> int | None:
        """The id of the namespace of the nsfs file ``path`` (as :meth:`of_pid`)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return self._ask(NETNSA_FD, fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
