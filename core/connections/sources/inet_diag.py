"""Raw NETLINK_SOCK_DIAG dump of TCP sockets, with the stdlib only.

Why: the kernel's sock_diag dump is the cheapest way to list every TCP socket (about 1.4 µs
per socket here); pyroute2's generic decoder is 66× slower and psutil/``ss -p`` rescan every
fd. This module sends one ``inet_diag_req_v2`` per address family and hands back the raw reply
chunks plus the offsets of the ``inet_diag_msg`` headers in them, so the caller pays Python
work only for what it needs. It decodes nothing per tick beyond that (tcp_info stays raw; see
:mod:`core.connections.tcpinfo`) and never builds records (see
:mod:`core.connections.sources.netlink`).

Linux only; ``AF_NETLINK`` is touched only when a dumper is created.
"""

from __future__ import annotations

import errno
import os
import queue
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from core.connections.tcpinfo import with_queues
from core.errors import AccessDenied, MonitorError, SourceUnavailable
from core.netlink import (
    NLA_HDR,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDR,
)

NETLINK_SOCK_DIAG: Final = 4
TCPDIAG_GETSOCK: Final = 18
"""The original (compat) inet_diag request: its dump walks the TCP hash tables once for both
families (``sdiag_family`` AF_UNSPEC in ``inet_diag_dump_compat``), where the v2 request
needs one walk per family. The walk itself costs about 20 ms at 50k sockets here."""
SOCK_DIAG_BY_FAMILY: Final = 20
SOCK_DESTROY: Final = 21
SO_NETNS_COOKIE: Final = getattr(socket, "SO_NETNS_COOKIE", 71)
"""Close the socket an exact request names (the kernel's ``tcp_abort``; ``ss -K``)."""
INET_DIAG_INFO: Final = 2
TCP_ALL_STATES: Final = 0xFFFFFFFF
"""Every TCP state bit, TIME_WAIT and NEW_SYN_RECV included."""

REQ_V2: Final = struct.Struct("=BBBxI48x")
"""inet_diag_req_v2: family, protocol, ext, pad, states, then a zeroed inet_diag_sockid."""
REQ_V2_EXACT: Final = struct.Struct("=BBBxI48s")
"""inet_diag_req_v2 naming one socket: its inet_diag_sockid as a dump reported it."""
REQ_COMPAT: Final = struct.Struct("=xxxB48xII")
"""inet_diag_req: family (AF_UNSPEC: both), src/dst len, ext, zeroed sockid, states, dbs."""
MSG_TYPE: Final = struct.Struct("=IH")
"""nlmsg_len, nlmsg_type: enough to walk a reply."""
SOCKET_KEY: Final = struct.Struct("=IH10x2s2x48s12x8s")
"""One unpack per socket message: nlmsg_len, nlmsg_type, then the message's stable part as
three slices, concatenated into the socket's key.

Offsets (from the nlmsghdr): family 16, state 17 | timer 18, retrans 19 (skipped) | sockid
20..68: sport, dport, src, dst, interface, cookie | expires, rqueue, wqueue 68..80 (skipped)
| uid 80, inode 84. The skipped fields move on idle sockets (timers, queues) while nothing
tcpscope shows changes, so they stay out of the key.
"""
KEY_SIZE: Final = 58
"""A socket key's length (family, state, sockid, uid, inode); a key may go on (core.netns
appends a namespace's inode)."""
_KEY_SOCKID: Final = slice(2, 50)


def sockid_of(source_key: bytes) -> bytes | None:
    """The inet_diag sockid in a netlink record's ``source_key`` (its socket's key, which the
    record keeps instead of a copy of the sockid: one bytes object per socket, not two), or
    None for another source's record."""
    return source_key[_KEY_SOCKID] if len(source_key) >= KEY_SIZE else None


MSG_FULL: Final = struct.Struct("=16xBBBB2s2s16s16sIQIIIII")
"""The whole inet_diag_msg, for the slow path (tests, probes)."""
_LENGTH: Final = struct.Struct("=I")
MSG_MIN: Final = 88
QUEUES: Final = struct.Struct("=II")
"""``idiag_rqueue``, ``idiag_wqueue`` (ss's Recv-Q, Send-Q)."""
_QUEUES_AT: Final = 16 + 4 + 48 + 4
"""Their offset in a message: nlmsghdr, family/state/timer/retrans, sockid, expires."""
QUEUES_AT: Final = _QUEUES_AT
"""nlmsghdr (16) + inet_diag_msg (72): every socket message is at least this long."""
RECV_BUFFER: Final = 65536
"""Per recv: the kernel fills at most 32 KiB per dump skb; a small buffer avoids a fresh
1 MiB mmap per call."""
RCVBUF: Final = 1 << 20
TIMEOUT_S: Final = 10.0
"""A dump never pauses this long; a reader blocked longer gives up with an error."""
_DONE_SIZE: Final = 20


SocketFactory = Callable[[], socket.socket]
"""Opens a ready NETLINK_SOCK_DIAG socket (raising MonitorError); see InetDiagDumper."""


def open_sock_diag() -> socket.socket:
    """A NETLINK_SOCK_DIAG socket in the calling thread's network namespace, ready to dump.

    Raises:
        SourceUnavailable: no netlink / sock_diag on this system.
        AccessDenied: the OS refused the socket (seccomp, LSM).
    """
    af_netlink = getattr(socket, "AF_NETLINK", None)
    if af_netlink is None:
        raise SourceUnavailable("netlink: AF_NETLINK does not exist on this platform")
    try:
        sock = socket.socket(af_netlink, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.settimeout(TIMEOUT_S)
    except OSError as err:
        raise _translate(err, "opening the sock_diag socket") from err
    return sock


@dataclass(frozen=True, slots=True)
class DiagSocket:
    """One socket from a dump, fully decoded (slow path: tests, probes, tools)."""

    family: int
    state: int
    """Linux ``tcp_states.h`` number."""
    src: bytes
    """4 bytes (AF_INET) or 16 bytes (AF_INET6), network order."""
    sport: int
    dst: bytes
    dport: int
    uid: int
    inode: int
    """0 for sockets without a file (TIME_WAIT, NEW_SYN_RECV, orphans)."""
    cookie: int
    tcp_info: bytes | None
    """Raw ``struct tcp_info`` (INET_DIAG_INFO) or ``None`` when the kernel sent none."""


def tcp_info_raw(chunk: bytes, off: int) -> bytes | None:
    """The INET_DIAG_INFO payload of the message at ``off`` in ``chunk``, if any, carrying the
    message's queue sizes (:class:`core.connections.tcpinfo.QueuedTcpInfo`).

    Walks the message's attributes; done lazily, only for sockets someone looks at.
    """
    span = tcp_info_span(chunk, off)
    if span is None:
        return None
    pos, size = span
    return with_queues(chunk[pos : pos + size], *QUEUES.unpack_from(chunk, off + _QUEUES_AT))


def tcp_info_span(chunk: bytes, off: int) -> tuple[int, int] | None:
    """Where the INET_DIAG_INFO payload of the message at ``off`` is: (position, size)."""
    end = off + _LENGTH.unpack_from(chunk, off)[0]
    pos = off + MSG_MIN
    unpack = NLA_HDR.unpack_from
    while pos + 4 <= end:
        rta_len, rta_type = unpack(chunk, pos)
        if rta_len < 4:
            return None
        if rta_type == INET_DIAG_INFO:
            return pos + 4, rta_len - 4
        pos += (rta_len + 3) & ~3
    return None


def queues_at(chunk: bytes, off: int) -> tuple[int, int]:
    """``idiag_rqueue``, ``idiag_wqueue`` of the message at ``off``."""
    found: tuple[int, int] = QUEUES.unpack_from(chunk, off + _QUEUES_AT)
    return found


def decode(chunk: bytes, off: int) -> DiagSocket:
    """Decode the message at ``off`` completely."""
    (
        fam,
        state,
        _timer,
        _retrans,
        sport,
        dport,
        src,
        dst,
        _if,
        cookie,
        _exp,
        _rq,
        _wq,
        uid,
        inode,
    ) = MSG_FULL.unpack_from(chunk, off)
    alen = 4 if fam == socket.AF_INET else 16
    return DiagSocket(
        family=fam,
        state=state,
        src=src[:alen],
        sport=int.from_bytes(sport, "big"),
        dst=dst[:alen],
        dport=int.from_bytes(dport, "big"),
        uid=uid,
        inode=inode,
        cookie=cookie,
        tcp_info=tcp_info_raw(chunk, off),
    )


def _go_on() -> None:
    """No pause before a read (no sampler asked for one)."""


class InetDiagDumper:
    """A persistent NETLINK_SOCK_DIAG socket that dumps TCP sockets of one family at a time."""

    def __init__(
        self, *, tcp_info: bool = True, socket_factory: SocketFactory | None = None
    ) -> None:
        """Open the netlink socket; ``tcp_info`` asks the kernel for INET_DIAG_INFO too.

        Dumps of ``socket.AF_UNSPEC`` use the compat request (both families in one walk);
        their messages have type :data:`TCPDIAG_GETSOCK` instead of SOCK_DIAG_BY_FAMILY.
        ``socket_factory`` opens the socket (default :func:`open_sock_diag`): a socket lists
        the sockets of the network namespace it was created in, so core.netns passes one
        that creates it inside another namespace (also when the socket is reopened).

        Raises:
            SourceUnavailable: no netlink / sock_diag on this system.
            AccessDenied: the OS refused the socket (seccomp, LSM).
        """
        self._factory = socket_factory or open_sock_diag
        self._sock = self._factory()
        self._seq = 0
        self._tcp_info = tcp_info
        self._done = True
        self._reader: threading.Thread | None = None

    def close(self) -> None:
        """Close the netlink socket."""
        self._sock.close()

    def netns_cookie(self) -> int | None:
        """The cookie of the network namespace the socket lists (``SO_NETNS_COOKIE``, Linux
        5.14+; None before): an identity the kernel never gives another namespace, unlike its
        inode number."""
        try:
            raw = self._sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8)
        except OSError:  # ENOPROTOOPT: an older kernel
            return None
        return int.from_bytes(raw, sys.byteorder) if len(raw) == 8 else None

    def chunks(
        self, family: int, states: int = TCP_ALL_STATES, before_read: Callable[[], None] = _go_on
    ) -> Iterator[bytes]:
        """Send one dump request for ``family`` and yield the raw reply chunks.

        The caller walks each chunk's messages and must call :meth:`finish` at the first
        message that is not a socket (``nlmsg_type != SOCK_DIAG_BY_FAMILY``) or at a tail too
        short to be one. Walking once, in the caller's loop, keeps the per-socket cost to one
        unpack.

        A reader thread, started at once, does the ``recv`` calls: the kernel fills the next
        reply (in ``recv``, without the GIL) while the caller's Python walks the previous one,
        on the other core; each reply is handed over as it comes (8 at a time saved ~4 ms of
        CPU a dump at 50k sockets, but a steady sample took 10-20 ms longer: the caller then
        held the interpreter lock through 8 replies while the reader waited for it to ask the
        kernel for the next one). Two dumpers can run their dumps at the same time. The
        reader calls ``before_read`` before each ``recv`` (the sampler's give-way: while the
        UI answers a key, the kernel's walk waits too, and leaves the key the cores of a busy
        host).

        Raises:
            SourceUnavailable, AccessDenied, MonitorError: one-line reasons.
        """
        if self._reader is not None:
            # The previous dump was abandoned (an error on the caller's side): its reader
            # drains it to NLMSG_DONE; never let two readers share the socket.
            self._reader.join(TIMEOUT_S)
            if self._reader.is_alive():
                self._reopen()
        self._seq += 1
        seq = self._seq
        self._done = False
        ext = 1 << (INET_DIAG_INFO - 1) if self._tcp_info else 0
        if family == socket.AF_UNSPEC:
            body = REQ_COMPAT.pack(ext, states, 0)
        else:
            body = REQ_V2.pack(family, socket.IPPROTO_TCP, ext, states)
        hdr = NLMSG_HDR.pack(
            NLMSG_HDR.size + len(body), reply_type(family), NLM_F_REQUEST | NLM_F_DUMP, seq, 0
        )
        replies: queue.SimpleQueue[bytes | OSError | None] = queue.SimpleQueue()
        reader = threading.Thread(
            target=_read_dump,
            args=(self._sock, hdr + body, seq, replies, before_read),
            name="tcpscope-sock-diag",
            daemon=True,
        )
        reader.start()
        self._reader = reader
        return self._drain(replies)

    def _drain(self, replies: queue.SimpleQueue[bytes | OSError | None]) -> Iterator[bytes]:
        while True:
            item = replies.get()
            if item is None:
                self._reader = None
                break
            if isinstance(item, OSError):
                raise self._fail(_translate(item, "reading the dump"))
            yield item
        if not self._done:
            raise self._fail(MonitorError("netlink: the dump ended without NLMSG_DONE"))

    def finish(self, chunk: bytes, off: int) -> None:
        """Handle the non-socket message at ``off``: NLMSG_DONE ends the dump, else raise."""
        if off + NLMSG_HDR.size > len(chunk):
            raise self._fail(MonitorError("netlink: truncated reply"))
        length, mtype, _flags, mseq, _pid = NLMSG_HDR.unpack_from(chunk, off)
        if mtype == NLMSG_DONE and mseq == self._seq:
            self._done = True
            return
        if mtype == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", chunk, off + NLMSG_HDR.size)
            if code == 0:  # an ACK, not an error
                self._done = True
                return
            err = OSError(-code, os.strerror(-code))
            raise self._fail(_translate(err, "the kernel refused the dump"))
        # Not ours (e.g. the tail of an aborted dump) or malformed.
        raise self._fail(
            MonitorError(f"netlink: unexpected reply message (type {mtype}, length {length})")
        )

    def _fail(self, err: MonitorError) -> MonitorError:
        # Whatever is left of this dump would be misread by the next one: start afresh.
        self._done = True
        self._reopen()
        return err

    def _reopen(self) -> None:
        self._sock.close()
        self._sock = self._factory()

    def dump(self, family: int, states: int = TCP_ALL_STATES) -> list[tuple[bytes, int]]:
        """The whole dump of ``family`` as ``(chunk, end)`` pairs (slow path: probes, tests).

        ``end`` is where socket messages stop in ``chunk``; walk them with :func:`offsets`.
        """
        out: list[tuple[bytes, int]] = []
        for chunk in self.chunks(family, states):
            off = sockets_end(chunk, family)
            if off:
                out.append((chunk, off))
            if off < len(chunk):
                self.finish(chunk, off)
        return out

    def sockets(self, family: int) -> Iterator[DiagSocket]:
        """Every socket of ``family``, decoded (slow path)."""
        for chunk, end in self.dump(family):
            for off in offsets(chunk, end):
                yield decode(chunk, off)

    def tcp_info_of(self, family: int, sockid: bytes) -> bytes | None:
        """The raw tcp_info of one socket, asked for by its ``inet_diag_sockid`` (48 bytes).

        Why: a periodic dump without tcp_info is a fifth cheaper for the kernel, and a UI
        needs tcp_info only for the connection someone is looking at. The kernel finds the
        socket by its tuple and checks the cookie (``inet_diag_find_one_icsk``), so a socket
        that closed meanwhile, or a new one on the same tuple, gives ``None``.

        Not for use while a dump of this dumper is being read.
        """
        reply = self._ask_one(
            SOCK_DIAG_BY_FAMILY, family, sockid, "asking for one socket's tcp_info"
        )
        if reply is None or len(reply) < MSG_MIN:
            return None
        if NLMSG_HDR.unpack_from(reply)[1] != SOCK_DIAG_BY_FAMILY:
            return None  # NLMSG_ERROR: ENOENT (closed) or the cookie no longer matches
        return tcp_info_raw(reply, 0)

    def one(self, family: int, sockid: bytes) -> DiagSocket | None:
        """One socket as the kernel has it now, asked for by its ``inet_diag_sockid``; None
        when it has no such socket (closed, its connection ended, or a newer socket on the
        tuple: the kernel checks the cookie, as for :meth:`tcp_info_of`).

        Why: what a confirmation says of a socket must be true when it is asked, not when the
        last sample was taken (paused, or seconds old on a busy host).

        Not for use while a dump of this dumper is being read.
        """
        reply = self._ask_one(SOCK_DIAG_BY_FAMILY, family, sockid, "asking for one socket")
        if reply is None or len(reply) < MSG_MIN:
            return None
        if NLMSG_HDR.unpack_from(reply)[1] != SOCK_DIAG_BY_FAMILY:
            return None  # NLMSG_ERROR: ENOENT
        return decode(reply, 0)

    def destroy(self, family: int, sockid: bytes) -> int:
        """Close one socket as ``ss -K`` does (SOCK_DESTROY); 0 or the kernel's errno.

        The kernel finds the socket by its ``inet_diag_sockid`` and checks the cookie, so only
        that socket is closed, never a newer one on the same tuple (ENOENT instead). Refusals
        are returned, not raised: EPERM (no CAP_NET_ADMIN), EOPNOTSUPP (a kernel built without
        CONFIG_INET_DIAG_DESTROY), ENOENT (no such TCP socket any more). See
        :mod:`core.connections.actions` for what they mean to a user.

        Not for use while a dump of this dumper is being read.
        """
        reply = self._ask_one(SOCK_DESTROY, family, sockid, "closing a socket", ack=True)
        if reply is None or len(reply) < NLMSG_HDR.size + 4:
            return errno.EPROTO
        if NLMSG_HDR.unpack_from(reply)[1] != NLMSG_ERROR:
            return errno.EPROTO
        code: int = struct.unpack_from("=i", reply, NLMSG_HDR.size)[0]
        return -code

    def _ask_one(
        self, mtype: int, family: int, sockid: bytes, doing: str, *, ack: bool = False
    ) -> bytes | None:
        """Send one exact request naming ``sockid``; the reply with our sequence number.

        ``None`` when the kernel's answer is too short to read. OS errors reopen the socket
        and raise as MonitorError.
        """
        self._seq += 1
        ext = 1 << (INET_DIAG_INFO - 1) if mtype == SOCK_DIAG_BY_FAMILY else 0
        body = REQ_V2_EXACT.pack(family, socket.IPPROTO_TCP, ext, TCP_ALL_STATES, sockid)
        flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
        hdr = NLMSG_HDR.pack(NLMSG_HDR.size + len(body), mtype, flags, self._seq, 0)
        try:
            self._sock.send(hdr + body)
            while True:
                reply = self._sock.recv(RECV_BUFFER)
                if len(reply) < NLMSG_HDR.size:
                    return None
                if NLMSG_HDR.unpack_from(reply)[3] == self._seq:
                    return reply
        except OSError as err:
            self._reopen()
            raise _translate(err, doing) from err


def sockid_at(chunk: bytes, off: int) -> bytes:
    """The ``inet_diag_sockid`` (48 bytes, cookie included) of the message at ``off``."""
    return chunk[off + 20 : off + 68]


def reply_type(family: int) -> int:
    """The nlmsg_type of the socket messages a dump of ``family`` answers with."""
    return TCPDIAG_GETSOCK if family == socket.AF_UNSPEC else SOCK_DIAG_BY_FAMILY


def _read_dump(
    sock: socket.socket,
    request: bytes,
    seq: int,
    out: queue.SimpleQueue[bytes | OSError | None],
    before_read: Callable[[], None] = _go_on,
) -> None:
    """Reader thread: send ``request``, queue every reply chunk, then ``None``."""
    try:
        sock.send(request)
        while True:
            before_read()
            chunk = sock.recv(RECV_BUFFER)
            out.put(chunk)
            if _ends_dump(chunk, seq):
                break
    except OSError as err:
        out.put(err)
    out.put(None)


def _ends_dump(chunk: bytes, seq: int) -> bool:
    """Whether ``chunk`` is the dump's last: it ends in our NLMSG_DONE or is an error.

    The kernel appends NLMSG_DONE (20 bytes) to the last reply. The caller's walk checks the
    claim: it must reach that DONE through :meth:`InetDiagDumper.finish`.
    """
    size = len(chunk)
    if size < NLMSG_HDR.size:
        return True
    if NLMSG_HDR.unpack_from(chunk)[1] == NLMSG_ERROR:
        return True
    if size < _DONE_SIZE:
        return False
    length, mtype, _flags, mseq, _pid = NLMSG_HDR.unpack_from(chunk, size - _DONE_SIZE)
    return bool(mtype == NLMSG_DONE and length == _DONE_SIZE and mseq == seq)


def sockets_end(chunk: bytes, family: int) -> int:
    """Where the socket messages of a ``family`` dump's reply ``chunk`` stop (slow path)."""
    want = reply_type(family)
    off = 0
    while off + MSG_MIN <= len(chunk):
        length, mtype = MSG_TYPE.unpack_from(chunk, off)
        if mtype != want or length < MSG_MIN:
            break
        off += (length + 3) & ~3
    return off


def offsets(chunk: bytes, end: int) -> Iterator[int]:
    """Offsets of the socket messages in ``chunk[:end]``."""
    off = 0
    unpack = NLMSG_HDR.unpack_from
    while off < end:
        yield off
        off += (unpack(chunk, off)[0] + 3) & ~3


def _translate(err: OSError, doing: str) -> MonitorError:
    """One-line tcpscope error for an OS error from sock_diag."""
    if err.errno in (errno.EPERM, errno.EACCES):
        return AccessDenied(f"netlink sock_diag: permission denied while {doing}")
    if err.errno in (errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT, errno.ENOENT, errno.EINVAL):
        return SourceUnavailable(
            f"netlink sock_diag unavailable ({os.strerror(err.errno)}) while {doing}"
        )
    return MonitorError(f"netlink sock_diag failed while {doing}: {err.strerror or err}")
