"""What each socket's decoded tcp_info would be, as one unpacked tuple per socket, in bulk.

Why: a recording stores every connection's tcp_info each sample, but only what changed; finding
that by decoding 50k ``struct tcp_info`` per sample cost five times the sample itself. One
``struct`` unpack per message of the dump's replies (the fields :class:`TcpInfo` holds and the
message's queue sizes, nothing else) gives a value that is equal exactly when the decoded
:class:`core.connections.model.TcpInfo` would be equal, so only the sockets whose value moved
are decoded. Volatile fields tcpscope does not show (``tcpi_last_data_recv`` and the like) are
left out on purpose: they change every sample on an idle socket.

The attribute walk that finds INET_DIAG_INFO in a message (inet_diag.tcp_info_span) runs once
per message layout: the kernel lists attributes in a fixed order, so messages of the same length
put INFO at the same place, which is checked (its attribute header) before it is trusted.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from core.connections.sources.inet_diag import (
    MSG_MIN,
    MSG_TYPE,
    QUEUES,
    QUEUES_AT,
    reply_type,
    tcp_info_span,
)
from core.connections.tcpinfo import DIGEST_FORMAT, DIGEST_LENGTH, MIN_LENGTH

Digest = tuple[object, ...]
"""Equal for two samples of a socket exactly when its decoded TcpInfo is equal."""


def _whole(info_at: int) -> struct.Struct:
    """One unpack for a message whose INFO payload starts ``info_at`` bytes in: its queues,
    then the digest fields."""
    gap = info_at - QUEUES_AT - QUEUES.size
    return struct.Struct(f"={QUEUES_AT}x{QUEUES.format[1:]}{gap}x{DIGEST_FORMAT[1:]}")


def _slow(
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
    layout = (info_at - 4, chunk[off + info_at - 4 : off + info_at], _whole(info_at))
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
                _slow(chunk, off, length, out, layouts)
            off += (length + 3) & ~3
    return out
