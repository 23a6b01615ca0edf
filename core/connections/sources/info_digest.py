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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from core.connections.model import TcpInfo
from core.connections.sources.dump_diff import OrderedDiff
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
    run_format: str
    """One message of a run, as :meth:`run` reads it: its head, then the digest in five
    pieces (sockid, the bytes up to INFO's header, that header, the rest up to the volatile
    fields, the bytes after them)."""
    runs: dict[int, Callable[[bytes, int], tuple[Any, ...]]]
    """Run length → the unpack of that many messages at once (made when first needed)."""

    def run(self, chunk: bytes, off: int) -> tuple[list[bytes], int]:
        """The digests of the messages of this layout that follow each other from ``off``
        (which starts one), read with one unpack, and where the run ends.

        Why: a reply is mostly a run of same-shaped messages (established sockets), and one
        C call for the run costs a fraction of one Python step per message. Each message's
        head and INFO header are checked in bulk; the run stops at the first that differs.
        """
        count = (len(chunk) - off) // self.step
        unpack = self.runs.get(count)
        if unpack is None:
            unpack = self.runs[count] = struct.Struct("=" + self.run_format * count).unpack_from
        fields = unpack(chunk, off)
        heads, infos = fields[0::6], fields[3::6]
        if heads.count(self.head) != count or infos.count(self.info_header) != count:
            count = next(
                i
                for i, (head, info) in enumerate(zip(heads, infos, strict=True))
                if head != self.head or info != self.info_header
            )
        end = 6 * count
        pieces = zip(
            fields[1:end:6],
            fields[2:end:6],
            fields[3:end:6],
            fields[4:end:6],
            fields[5:end:6],
            strict=True,
        )
        return list(map(b"".join, pieces)), off + count * self.step


def _layout(chunk: bytes, off: int, length: int, info_at: int) -> _Layout:
    """The layout of the message at ``off``, whose tcp_info (at least DIGEST_LENGTH long)
    starts ``info_at`` bytes in."""
    before = info_at + VOLATILE[0] - _EXPIRES_AT - 4
    volatile, after = VOLATILE[1] - VOLATILE[0], DIGEST_LENGTH - VOLATILE[1]
    fmt = f"={_SOCKID_AT}x48s4x{before}s{volatile}x{after}s"
    step = (length + 3) & ~3
    to_header = info_at - 4 - _EXPIRES_AT - 4
    rest = step - info_at - DIGEST_LENGTH
    run_format = (
        f"{MSG_TYPE.size}s{_SOCKID_AT - MSG_TYPE.size}x48s4x{to_header}s4s{VOLATILE[0]}s"
        f"{volatile}x{after}s{rest}x"
    )
    return _Layout(
        chunk[off : off + MSG_TYPE.size],
        info_at - 4,
        chunk[off + info_at - 4 : off + info_at],
        step,
        struct.Struct(fmt).unpack_from,
        run_format if rest >= 0 else "",
        {},
    )


@dataclass(slots=True)
class DigestTrail:
    """What a recorder keeps from one sample to the next (opaque to it): the digests in dump
    order and as a set, the InstanceID of each sockid that has one, and the records they were
    taken with. Used once: the next sample takes the digests over."""

    order: list[bytes] | None
    known: set[bytes]
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
    since: Mapping[str, object] | None = None
    """The records the trail was taken with, when ``touched`` holds every InstanceID whose
    record differs from them (``None``: not known). A writer holding those very records
    compares only these instead of every connection."""
    touched: Collection[str] = ()


_Chunk = tuple[bytes, list[bytes], list[int]]
"""A reply, its messages' digests and their offsets."""


def digest_chunks(chunks: Iterable[tuple[int, bytes]]) -> Iterator[_Chunk]:
    """Each reply with the digest of every socket message in it that carries a tcp_info long
    enough to decode (others — TIME_WAIT, request sockets — have none), in dump order.
    ``chunks`` are (dump family, reply) pairs as the netlink source keeps them."""
    head = MSG_TYPE.unpack_from
    join = b"".join
    layouts: dict[int, _Layout] = {}
    """Message length → its layout (when its messages carry a tcp_info to digest)."""
    plain: set[int] = set()
    """Lengths of messages met without one (TIME_WAIT, request sockets)."""
    for family, chunk in chunks:
        want = reply_type(family)
        starts = chunk.startswith
        size = len(chunk)
        off = 0
        fast: _Layout | None = None
        items: list[bytes] = []
        offsets: list[int] = []
        item, at = items.append, offsets.append
        while off + MSG_MIN <= size:
            if (
                fast is not None
                and starts(fast.head, off)
                and starts(fast.info_header, off + fast.info_header_at)
                and off + fast.step <= size
            ):
                if fast.run_format:
                    run, end = fast.run(chunk, off)
                    items.extend(run)
                    offsets.extend(range(off, end, fast.step))
                    off = end
                    continue
                item(join(fast.unpack(chunk, off)))
                at(off)
                off += fast.step
                continue
            length, mtype = head(chunk, off)
            if mtype != want or length < MSG_MIN or off + length > size:
                break
            layout = layouts.get(length)
            if layout is not None and starts(layout.info_header, off + layout.info_header_at):
                if fast is not layout:
                    fast = layout
                    continue  # read by the fast path above
            elif layout is None and length not in plain:
                layout = _layout_of(chunk, off, length)
                if layout is not None:
                    layouts[length] = fast = layout
                    continue
                plain.add(length)
            found = _slow_digest(chunk, off)  # another layout, or a chunk's last, unpadded
            if found is not None:
                item(found)
                at(off)
            off += (length + 3) & ~3
        yield chunk, items, offsets


def _layout_of(chunk: bytes, off: int, length: int) -> _Layout | None:
    """The layout of the message at ``off``, if its tcp_info holds every decoded field."""
    span = tcp_info_span(chunk, off)
    if span is None or span[1] < DIGEST_LENGTH:
        return None
    return _layout(chunk, off, length, span[0] - off)


def _slow_digest(chunk: bytes, off: int) -> bytes | None:
    """The digest of one message, found by walking its attributes."""
    span = tcp_info_span(chunk, off)
    if span is None or span[1] < MIN_LENGTH:
        return None
    info_at, info_len = span[0] - off, span[1]
    if info_len < DIGEST_LENGTH:  # an old kernel's short struct: compared whole
        return b"".join(
            (
                chunk[off + _SOCKID_AT : off + _EXPIRES_AT],
                chunk[off + QUEUES_AT : off + QUEUES_AT + QUEUES.size],
                chunk[off + info_at : off + info_at + info_len],
            )
        )
    return b"".join(_layout(chunk, off, 0, info_at).unpack(chunk, off))


def follow(
    chunks: Iterable[tuple[int, bytes]], last: list[bytes], known: set[bytes]
) -> tuple[list[bytes], dict[bytes, Where], set[bytes]]:
    """This sample's digests in dump order, where each socket whose digest moved (or is new)
    is, by sockid, and the sockids whose digest went (closed, or no tcp_info any more).

    ``last`` is the last sample's digests in dump order and ``known`` the same as a set; the
    set is brought up to date in place. Compared in order, in C (dump_diff.OrderedDiff): the
    kernel's order barely moves, so Python runs only where sockets came, went or changed.
    """
    diff = OrderedDiff(last, known)
    replies: list[_Chunk] = []
    for reply in digest_chunks(chunks):
        replies.append(reply)
        diff.feed(reply[1])
    order, added, gone, clean = diff.finish()
    if not clean:  # a socket listed twice: whole sets
        listed = dict.fromkeys(d for _c, items, _o in replies for d in items)
        order = list(listed)
        added = [d for d in order if d not in known]
        gone = [d for d in known if d not in listed]
    known.difference_update(gone)
    known.update(added)
    moved: dict[bytes, Where] = {}
    r = pos = 0
    for d in added:  # in dump order: one forward scan finds them all
        while r < len(replies):
            chunk, items, offsets = replies[r]
            try:
                i = items.index(d, pos)
            except ValueError:
                r, pos = r + 1, 0
                continue
            moved[d[:48]] = (chunk, offsets[i])
            pos = i + 1
            break
    if len(moved) < len(added):  # not in dump order after all (a whole-set compare): look up
        where = {
            d: (c, at)
            for c, items, offsets in replies
            for d, at in zip(items, offsets, strict=True)
        }
        moved.update((d[:48], where[d]) for d in added)
    went = {d[:48] for d in gone}
    went.difference_update(moved)
    return order, moved, went


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
    last = trail.order if trail is not None else None
    complete = last is None
    if trail is not None and last is not None:
        trail.order = None  # used once: its set is brought up to date in place
        known = trail.known
    else:
        last, known = [], set()
    order, moved_at, went = follow(chunks, last, known)
    trusted = trail is not None and not complete and trail.records is before
    if trail is not None and trusted:
        owners = trail.owners
        gone = [iid for sid in went if (iid := owners.pop(sid, None)) is not None]
        for iid in touched:
            rec = records.get(iid)
            sid = sockid(rec) if rec is not None else None
            if sid is not None and (sid in moved_at or sid in owners):
                owners[sid] = iid
    else:
        owners = {sid: iid for iid, rec in records.items() if (sid := sockid(rec)) is not None}
        gone = [iid for sid in went if (iid := owners.get(sid)) is not None]
        present = {d[:48] for d in order}
        owners = {sid: iid for sid, iid in owners.items() if sid in present}
    moved: dict[str, TcpInfo] = {}
    for sid, (chunk, off) in moved_at.items():
        iid = owners.get(sid)
        raw = tcp_info_raw(chunk, off) if iid is not None else None
        info = decode_tcp_info(raw) if raw is not None else None
        if info is not None:
            assert iid is not None
            moved[iid] = info
    return InfoChanges(
        DigestTrail(order, known, owners, records),
        moved,
        gone,
        complete,
        cast(Mapping[str, object], before) if trusted else None,
        touched if trusted else (),
    )


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
    sockid = chunk[off + _SOCKID_AT : off + _EXPIRES_AT]
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
                out[chunk[off + _SOCKID_AT : off + _EXPIRES_AT]] = layout[2].unpack_from(chunk, off)
            else:
                _values_slow(chunk, off, length, out, layouts)
            off += (length + 3) & ~3
    return out
