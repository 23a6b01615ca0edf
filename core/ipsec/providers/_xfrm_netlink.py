"""Minimal NETLINK_XFRM client (stdlib socket/struct): SA dump, SPD/SAD info, SA event counts.

Why hand-rolled: the kernel facts we need (larval states, SA/policy counts, NEWSA/UPDSA events)
are a few fixed structs, and iproute2's text output is not an API. Every XFRM netlink operation,
even a GET dump, needs CAP_NET_ADMIN; EPERM is raised as :class:`PermissionError` for the caller
to turn into a "not reported" reason. AF_NETLINK is only touched when a function is called, so
the module imports on any OS.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from core.netlink import NLA_HDR, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDR

NETLINK_XFRM: Final = 6
XFRM_MSG_NEWSA: Final = 0x10
XFRM_MSG_GETSA: Final = 0x12
XFRM_MSG_UPDSA: Final = 0x1A
XFRM_MSG_NEWSADINFO: Final = 0x22
XFRM_MSG_GETSADINFO: Final = 0x23
XFRM_MSG_NEWSPDINFO: Final = 0x24
XFRM_MSG_GETSPDINFO: Final = 0x25
XFRMGRP_SA: Final = 0x4
"""Legacy bitmask of multicast group XFRMNLGRP_SA (3)."""

_USERSA_INFO_LEN: Final = 224
"""sizeof(struct xfrm_usersa_info) on Linux (64-bit alignment of the lifetime u64s)."""
_ALG_ATTRS: Final = frozenset({1, 2, 3, 18, 20})
"""XFRMA_ALG_AUTH, _CRYPT, _COMP, _AEAD, _AUTH_TRUNC."""
_XFRMA_SA_DIR: Final = 33
_XFRMA_SAD_CNT: Final = 1
_XFRMA_SPD_INFO: Final = 1


@dataclass(frozen=True, slots=True)
class SaEntry:
    """The fields of one SAD entry that the counters need."""

    daddr: str
    spi: int
    proto: int
    family: int
    has_alg: bool
    direction: int | None
    """XFRMA_SA_DIR (1 in, 2 out) when the kernel and the daemon set it (kernel ≥ 6.10)."""

    @property
    def larval(self) -> bool:
        """No algorithm: an acquire larval (spi 0) or a GETSPI larval (spi set)."""
        return not self.has_alg


@dataclass(slots=True)
class SaEventCounter:
    """Counts NEWSA/UPDSA notifications on XFRMNLGRP_SA since it was opened (no thread).

    The multicast socket buffers events between reads; :meth:`drain` counts them. If the
    buffer overflowed (ENOBUFS) the counts are lower bounds and ``lost`` says how often.
    """

    sock: socket.socket | None = None
    new_sa: int = 0
    upd_sa: int = 0
    lost: int = 0
    _closed: bool = field(default=False)

    def open(self) -> None:
        """Join the SA group. Raises PermissionError without CAP_NET_ADMIN."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((0, XFRMGRP_SA))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def drain(self) -> None:
        """Count every notification queued since the last call."""
        if self.sock is None:
            return
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as err:
                if err.errno == errno.ENOBUFS:
                    self.lost += 1
                    continue
                raise
            for msg_type, _payload in _messages(data):
                if msg_type == XFRM_MSG_NEWSA:
                    self.new_sa += 1
                elif msg_type == XFRM_MSG_UPDSA:
                    self.upd_sa += 1

    def close(self) -> None:
        """Leave the group."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + NLMSG_HDR.size <= len(data):
        length, msg_type, _flags, _seq, _pid = NLMSG_HDR.unpack_from(data, offset)
        if length < NLMSG_HDR.size:
            return
        yield msg_type, data[offset + NLMSG_HDR.size : offset + length]
        offset += (length + 3) & ~3


def _attrs(payload: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    offset = start
    while offset + NLA_HDR.size <= len(payload):
        length, kind = NLA_HDR.unpack_from(payload, offset)
        if length < NLA_HDR.size:
            return
        yield kind & 0x3FFF, payload[offset + NLA_HDR.size : offset + length]
        offset += (length + 3) & ~3


def _request(msg_type: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
    """Send one request and collect the replies until DONE (dump) or the single answer."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    try:
        sock.settimeout(2.0)
        sock.bind((0, 0))
        seq = int.from_bytes(os.urandom(4), "little") or 1
        sock.send(
            NLMSG_HDR.pack(NLMSG_HDR.size + len(body), msg_type, NLM_F_REQUEST | flags, seq, 0)
            + body
        )
        out: list[tuple[int, bytes]] = []
        while True:
            data = sock.recv(1 << 20)
            for kind, payload in _messages(data):
                if kind == NLMSG_DONE:
                    return out
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", payload, 0)
                    if code == 0:
                        return out
                    raise OSError(-code, os.strerror(-code))
                out.append((kind, payload))
            if not flags & NLM_F_DUMP and out:
                return out
    finally:
        sock.close()


def _address(raw: bytes, family: int) -> str:
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[:16])
    return socket.inet_ntop(socket.AF_INET, raw[:4])


def dump_sas() -> list[SaEntry]:
    """All SAD entries of this network namespace (XFRM_MSG_GETSA dump)."""
    entries: list[SaEntry] = []
    for kind, payload in _request(XFRM_MSG_GETSA, NLM_F_DUMP, b""):
        if kind != XFRM_MSG_NEWSA or len(payload) < _USERSA_INFO_LEN:
            continue
        (spi,) = struct.unpack_from("!I", payload, 72)
        proto = payload[76]
        (family,) = struct.unpack_from("=H", payload, 212)
        has_alg = False
        direction: int | None = None
        for attr, value in _attrs(payload, _USERSA_INFO_LEN):
            if attr in _ALG_ATTRS:
                has_alg = True
            elif attr == _XFRMA_SA_DIR and value:
                direction = value[0]
        entries.append(
            SaEntry(_address(payload[56:72], family), spi, proto, family, has_alg, direction)
        )
    return entries


def spd_info() -> dict[str, int]:
    """Policy counts per direction (XFRM_MSG_GETSPDINFO), as ``ip -s xfrm policy count``."""
    names = ("in", "out", "fwd", "sock_in", "sock_out", "sock_fwd")
    for kind, payload in _request(XFRM_MSG_GETSPDINFO, 0, struct.pack("=I", 0)):
        if kind != XFRM_MSG_NEWSPDINFO:
            continue
        for attr, value in _attrs(payload, 4):
            if attr == _XFRMA_SPD_INFO and len(value) >= 24:
                return dict(zip(names, struct.unpack_from("=6I", value), strict=True))
    return {}
