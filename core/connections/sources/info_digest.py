"""Which sockets' tcp_info moved since the last sample, found in one pass over the dump.

Why: a recording stores every connection's tcp_info each sample, but only what changed; finding
that by decoding 50k ``struct tcp_info`` per sample cost five times the sample itself. One
``struct`` unpack per message of the dump's replies gives a *digest*: the message's sockid, and
its bytes from the queue sizes to the end of the decoded tcp_info fields, less the expiry timer
and the few tcp_info fields that move on an idle socket (``tcpi_last_data_recv`` and the like,
:data:`core.connections.tcpinfo.VOLATILE`; tcpscope shows none of them). Two equal digests
mean two equal decoded :class:`core.connections.model.TcpInfo`; a digest may also move with
fields tcpscope does not show, which costs a decode and nothing else. Bytes, not numbers: a
slice is one object, a number one per field.

Digests are kept by sockid (it holds the socket cookie, unique across families and
namespaces), compared with the last sample's as the walk goes, and only the sockets whose
digest moved are decoded, straight from where the walk found them. Which InstanceID a sockid
belongs to is kept across samples too (:class:`DigestTrail`), updated from the records the
source touched, so a quiet sample makes no pass over its connections.

The attribute walk that finds INET_DIAG_INFO in a message (inet_diag.tcp_info_span) runs once
per message layout: the kernel lists attributes in a fixed order, so messages of the same length
put INFO at the same place; the fast path checks each message's length, type and INFO attribute
header in place before it trusts the layout.

:func:`info_digests` is the other use of one unpack per message: every socket's decoded fields
as numbers, which the JSON writer formats in bulk.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from core.connections.model import TcpInfo
from core.connections.sources.inet_diag import (
    MSG_MIN,
    MSG_TYPE,
    QUEUES,
    QUEUES_AT,
    reply_type,
    tcp_info_raw,
    tcp_info_span,
)
from core.connections.tcpinfo import (
    DIGEST_FORMAT,
    DIGEST_LENGTH,
    MIN_LENGTH,
    VOLATILE,
    decode_tcp_info,
)

Digest = tuple[Any, ...]
"""Its sockid first; equal in two samples of a socket only if its decoded TcpInfo is equal."""
Where = tuple[bytes, int]
"""A message in the dump: (reply chunk, offset)."""

_SOCKID_AT: Final = 20
"""nlmsghdr (16) + idiag_family, state, timer, retrans."""
_EXPIRES_AT: Final = _SOCKID_AT + 48
"""idiag_expires: a running timer's countdown (keepalive), left out of the digest."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to read the messages of one length that carry a tcp_info at one place."""

    head: bytes
    """nlmsg_len and nlmsg_type, as such a message starts."""
    info_header_at: int
    info_header: bytes
    """INFO's attribute header (length, type), and where it is."""
    step: int
    """From one message to the next."""
    unpack: Callable[[bytes, int], tuple[Any, ...]]
    """(sockid, bytes up to the volatile fields, bytes after them)."""


def _layout(chunk: bytes, off: int, length: int, info_at: int) -> _Layout:
    """The layout of the message at ``off``, whose tcp_info (at least DIGEST_LENGTH long)
    starts ``info_at`` bytes in."""
    before = info_at + VOLATILE[0] - _EXPIRES_AT - 4
    fmt = f"={_SOCKID_AT}x48s4x{before}s{VOLATILE[1] - VOLATILE[0]}x{DIGEST_LENGTH - VOLATILE[1]}s"
    return _Layout(
        chunk[off : off + MSG_TYPE.size],
        info_at - 4,
        chunk[off + info_at - 4 : off + info_at],
        (length + 3) & ~3,
        struct.Struct(fmt).unpack_from,
    )


@dataclass(slots=True)
class DigestTrail:
    """What a recorder keeps from one sample to the next (opaque to it): each socket's digest
    by sockid, the InstanceID of each sockid that has one, and the records they were taken
    with. Used once: the next sample takes the digests over."""

    digests: dict[bytes, Digest] | None
    owners: dict[bytes, str]
    records: object
    """The source's records mapping of that sample (compared by identity only)."""


@dataclass(frozen=True, slots=True)
class InfoChanges:
    """The tcp_info that moved in a sample, by InstanceID."""

    trail: DigestTrail
    """Give it back with the next sample."""
    moved: dict[str, TcpInfo]
    """Decoded, for every socket whose digest is new or differs from the trail's."""
    gone: list[str]
    """Connections whose tcp_info left the dump (closed, or now without one: TIME_WAIT)."""
    complete: bool
    """``moved`` holds every socket's tcp_info (no trail was given); ``gone`` is then empty."""


def follow(
    chunks: Iterable[tuple[int, bytes]], last: dict[bytes, Digest]
) -> tuple[dict[bytes, Digest], dict[bytes, Where], dict[bytes, Digest]]:
    """Digest every socket message carrying a tcp_info long enough to decode (others —
    TIME_WAIT, request sockets — have none) and compare with ``last``.

    ``chunks`` are (dump family, reply) pairs as the netlink source keeps them. Returns this
    sample's digests, where each socket whose digest moved (or is new) is, and ``last``
    emptied of every socket still there: what is left in it went. ``last`` is consumed.
    """
    out: dict[bytes, Digest] = {}
    moved: dict[bytes, Where] = {}
    take = last.pop
    head = MSG_TYPE.unpack_from
    layouts: dict[int, _Layout] = {}
    """Message length → its layout (when its messages carry a tcp_info to digest)."""
    for family, chunk in chunks:
        want = reply_type(family)
        starts = chunk.startswith
        size = len(chunk)
        off = 0
        fast: _Layout | None = None
        while off + MSG_MIN <= size:
            if (
                fast is not None
                and starts(fast.head, off)
                and starts(fast.info_header, off + fast.info_header_at)
                and off + fast.step <= size
            ):
                d = fast.unpack(chunk, off)
                sockid = d[0]
                out[sockid] = d
                if take(sockid, None) != d:
                    moved[sockid] = (chunk, off)
                off += fast.step
                continue
            length, mtype = head(chunk, off)
            if mtype != want or length < MSG_MIN or off + length > size:
                break
            layout = layouts.get(length)
            if layout is None:
                layout = _learn(chunk, off, length, out, moved, take)
                if layout is not None:
                    layouts[length] = fast = layout
            elif starts(layout.info_header, off + layout.info_header_at):
                if fast is not layout:
                    fast = layout
                    continue  # read by the fast path above
                _learn(chunk, off, length, out, moved, take)  # a chunk's last, unpadded
            else:
                _learn(chunk, off, length, out, moved, take)
            off += (length + 3) & ~3
    return out, moved, last


def _learn(
    chunk: bytes,
    off: int,
    length: int,
    out: dict[bytes, Digest],
    moved: dict[bytes, Where],
    take: Callable[[bytes, None], Digest | None],
) -> _Layout | None:
    """Digest one message by walking its attributes; its layout, when it can be reused."""
    span = tcp_info_span(chunk, off)
    if span is None or span[1] < MIN_LENGTH:
        return None
    info_at, info_len = span[0] - off, span[1]
    layout = None
    if info_len < DIGEST_LENGTH:  # an old kernel's short struct: compared whole
        d: Digest = (
            chunk[off + _SOCKID_AT : off + _EXPIRES_AT],
            chunk[off + QUEUES_AT : off + QUEUES_AT + QUEUES.size],
            chunk[off + info_at : off + info_at + info_len],
        )
    else:
        layout = _layout(chunk, off, length, info_at)
        d = layout.unpack(chunk, off)
    sockid = d[0]
    out[sockid] = d
    if take(sockid, None) != d:
        moved[sockid] = (chunk, off)
    return layout


def info_changes(
    chunks: Iterable[tuple[int, bytes]],
    records: Mapping[str, object],
    touched: Collection[str],
    before: object,
    trail: DigestTrail | None,
    sockid: Callable[[object], bytes | None],
) -> InfoChanges:
    """What moved since ``trail`` (``None``: everything is new).

    ``records`` are this sample's connections by InstanceID, ``touched`` the InstanceIDs the
    source added, replaced or dropped since its records mapping ``before``, and ``sockid``
    reads a record's sockid. The sockid → InstanceID map follows ``touched`` when the trail
    was taken with ``before``; otherwise it is built again from every record.
    """
    last = trail.digests if trail is not None else None
    complete = last is None
    if trail is not None:
        trail.digests = None  # used once: follow() empties it
    digests, moved_at, went = follow(chunks, last if last is not None else {})
    if trail is not None and not complete and trail.records is before:
        owners = trail.owners
        gone = [iid for sid in went if (iid := owners.pop(sid, None)) is not None]
        for iid in touched:
            rec = records.get(iid)
            sid = sockid(rec) if rec is not None else None
            if sid is not None and sid in digests:
                owners[sid] = iid
    else:
        owners = {sid: iid for iid, rec in records.items() if (sid := sockid(rec)) is not None}
        gone = [iid for sid in went if (iid := owners.get(sid)) is not None]
        owners = {sid: iid for sid, iid in owners.items() if sid in digests}
    moved: dict[str, TcpInfo] = {}
    for sid, (chunk, off) in moved_at.items():
        iid = owners.get(sid)
        raw = tcp_info_raw(chunk, off) if iid is not None else None
        info = decode_tcp_info(raw) if raw is not None else None
        if info is not None:
            assert iid is not None
            moved[iid] = info
    return InfoChanges(DigestTrail(digests, owners, records), moved, gone, complete)


# --- every socket's decoded fields in bulk (the JSON writer) ---------------------------


def _whole_digest(info_at: int) -> struct.Struct:
    """One unpack for a message whose INFO payload starts ``info_at`` bytes in: its queues,
    then the digest fields."""
    gap = info_at - QUEUES_AT - QUEUES.size
    return struct.Struct(f"={QUEUES_AT}x{QUEUES.format[1:]}{gap}x{DIGEST_FORMAT[1:]}")


def _values_slow(
    chunk: bytes,
    off: int,
    length: int,
    out: dict[bytes, Digest],
    layouts: dict[int, tuple[int, bytes, struct.Struct]],
) -> None:
    """Find the message's INFO by walking its attributes; learn the layout for its length."""
    span = tcp_info_span(chunk, off)
    if span is None or span[1] < MIN_LENGTH:
        return
    info_at, info_len = span[0] - off, span[1]
    sockid = chunk[off + 20 : off + 68]
    if info_len < DIGEST_LENGTH:  # an old kernel's short struct: its bytes are the digest
        recv_q, send_q = QUEUES.unpack_from(chunk, off + QUEUES_AT)
        out[sockid] = (recv_q, send_q, chunk[off + info_at : off + info_at + info_len])
        return
    layout = (info_at - 4, chunk[off + info_at - 4 : off + info_at], _whole_digest(info_at))
    layouts[length] = layout
    out[sockid] = layout[2].unpack_from(chunk, off)


def info_digests(chunks: Iterable[tuple[int, bytes]]) -> dict[bytes, Digest]:
    """inet_diag_sockid → :data:`Digest` for every socket message carrying a tcp_info long
    enough to decode (others — TIME_WAIT, request sockets — are absent, as in LazyTcpInfo).
    ``chunks`` are (dump family, reply) pairs as the netlink source keeps them. The sockid
    alone is a key: it holds the socket cookie, unique across families and namespaces."""
    out: dict[bytes, Digest] = {}
    head = MSG_TYPE.unpack_from
    layouts: dict[int, tuple[int, bytes, struct.Struct]] = {}
    """Message length → (INFO header offset, that header's bytes, the unpack)."""
    for family, chunk in chunks:
        want = reply_type(family)
        size = len(chunk)
        off = 0
        while off + MSG_MIN <= size:
            length, mtype = head(chunk, off)
            if mtype != want or length < MSG_MIN:
                break
            layout = layouts.get(length)
            if layout is not None and chunk[off + layout[0] : off + layout[0] + 4] == layout[1]:
                out[chunk[off + 20 : off + 68]] = layout[2].unpack_from(chunk, off)
            else:
                _values_slow(chunk, off, length, out, layouts)
            off += (length + 3) & ~3
    return out
