"""Which sockets' tcp_info moved since the last sample, found in one pass over the dump.

Why: a recording stores every connection's tcp_info each sample, but only what changed; finding
that by decoding 50k ``struct tcp_info`` per sample cost five times the sample itself. Each
message of the dump's replies gives a *digest*: its bytes from the sockid to the end of the
decoded tcp_info fields, with the expiry timer and the few tcp_info fields that move on an
idle socket (``tcpi_last_data_recv`` and the like, :data:`core.connections.tcpinfo.VOLATILE`;
tcpscope shows none of them) zeroed. A run of like-shaped messages is digested in a few C
calls for the whole run (:meth:`_Layout.run`), not one Python step per message. Two equal digests
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
put INFO at the same place; a run checks each message's length, type and INFO attribute header
in place before it trusts the layout.

:func:`info_digests` is the other use of one unpack per message: every socket's decoded fields
as numbers, which the JSON writer formats in bulk.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from core.connections.model import TcpInfo
from core.connections.sources.dump_diff import KeyRuns, OrderedDiff
from core.connections.sources.inet_diag import (
    MSG_MIN,
    MSG_TYPE,
    QUEUES,
    QUEUES_AT,
    queues_at,
    reply_type,
    tcp_info_span,
)
from core.connections.tcpinfo import (
    DIGEST_FORMAT,
    DIGEST_LENGTH,
    MIN_LENGTH,
    VOLATILE,
    from_values,
    tcp_info_values,
)

Digest = tuple[Any, ...]
"""Its sockid first; equal in two samples of a socket only if its decoded TcpInfo is equal."""
Where = tuple[bytes, int]
"""A message in the dump: (reply chunk, offset)."""

_SOCKID_AT: Final = 20
"""nlmsghdr (16) + idiag_family, state, timer, retrans."""
_EXPIRES_AT: Final = _SOCKID_AT + 48
"""idiag_expires: a running timer's countdown (keepalive), left out of the digest."""


_WORD: Final = 4
"""The masked fields are 32-bit words, at 4-aligned places in a message (netlink aligns
messages and attributes to 4 bytes)."""
assert _EXPIRES_AT % _WORD == 0 and VOLATILE[0] % _WORD == 0 and VOLATILE[1] % _WORD == 0


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to read the messages of one length that carry a tcp_info at one place."""

    step: int
    """From one message to the next (the length, padded)."""
    info_at: int
    """Where the tcp_info starts in a message."""
    checks: tuple[tuple[int, int], ...]
    """(place, byte value) that every message of the layout has: its length and type, and
    INFO's attribute header."""
    runs: dict[int, Callable[[bytearray], tuple[bytes, ...]]]
    """Run length → the unpack of that many digests at once (made when first needed)."""

    def run(self, chunk: bytes, off: int) -> tuple[list[bytes], int]:
        """The digests of the messages of this layout that follow each other from ``off``
        (which starts one), and where the run ends.

        Why: a reply is mostly a run of same-shaped messages (established sockets), and a
        few C calls for the run cost a fraction of one Python step per message. The checks
        read one byte of every message at once (a slice with the message length as its
        step); the run stops at the first message that fails one. Then the run is copied
        once, its masked words zeroed in every message at once, and one unpack cuts out
        every digest.
        """
        step = self.step
        count = (len(chunk) - off) // step
        for at, value in self.checks:
            column = chunk[off + at : off + count * step : step]
            if column.count(value) != count:
                count = next(i for i, b in enumerate(column) if b != value)
        buf = bytearray(memoryview(chunk)[off : off + count * step])
        words = memoryview(buf).cast("I")
        zeros = memoryview(bytes(_WORD * count)).cast("I")
        stride = step // _WORD
        for word in _masked_words(self.info_at):
            words[word::stride] = zeros
        words.release()
        unpack = self.runs.get(count)
        if unpack is None:
            keep = self.info_at + DIGEST_LENGTH - _SOCKID_AT
            one = f"{_SOCKID_AT}x{keep}s{step - _SOCKID_AT - keep}x"
            unpack = self.runs[count] = struct.Struct("=" + one * count).unpack_from
        return list(unpack(buf)), off + count * step


def _masked_words(info_at: int) -> tuple[int, ...]:
    """The 32-bit words of a message left out of its digest: the expiry timer and the
    tcp_info fields that move on an idle socket."""
    first, last = (info_at + VOLATILE[0]) // _WORD, (info_at + VOLATILE[1]) // _WORD
    return (_EXPIRES_AT // _WORD, *range(first, last))


def _layout(chunk: bytes, off: int, length: int, info_at: int) -> _Layout:
    """The layout of the message at ``off`` (``length`` long), whose tcp_info (at least
    DIGEST_LENGTH long) starts ``info_at`` bytes in."""
    step = (length + 3) & ~3
    places = (*range(MSG_TYPE.size), *range(info_at - 4, info_at))
    return _Layout(step, info_at, tuple((at, chunk[off + at]) for at in places), {})


def _digest(chunk: bytes, off: int, info_at: int) -> bytes:
    """The digest of one message: its bytes from the sockid to the end of the decoded
    tcp_info fields, with the masked words zeroed (what :meth:`_Layout.run` gives)."""
    buf = bytearray(chunk[off : off + info_at + DIGEST_LENGTH])
    for word in _masked_words(info_at):
        buf[word * _WORD : (word + 1) * _WORD] = bytes(_WORD)
    return bytes(buf[_SOCKID_AT:])


@dataclass(slots=True)
class DigestTrail:
    """What a recorder keeps from one sample to the next (opaque to it): the digests in dump
    order and as a set, the InstanceID of each sockid that has one, and the records they were
    taken with. Used once: the next sample takes the digests over."""

    order: KeyRuns | None
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
    layouts: dict[int, _Layout] = {}
    """Message length → its layout (when its messages carry a tcp_info to digest)."""
    plain: set[int] = set()
    """Lengths of messages met without one (TIME_WAIT, request sockets)."""
    for family, chunk in chunks:
        want = reply_type(family)
        size = len(chunk)
        off = 0
        items: list[bytes] = []
        offsets: list[int] = []
        item, at = items.append, offsets.append
        while off + MSG_MIN <= size:
            length, mtype = head(chunk, off)
            if mtype != want or length < MSG_MIN or off + length > size:
                break
            layout = layouts.get(length)
            if layout is not None:
                if off + layout.step <= size and all(
                    chunk[off + place] == value for place, value in layout.checks
                ):
                    run, end = layout.run(chunk, off)
                    items.extend(run)
                    offsets.extend(range(off, end, layout.step))
                    off = end
                    continue
            elif length not in plain:
                layout = _layout_of(chunk, off, length)
                if layout is not None:
                    layouts[length] = layout
                    continue  # read as a run above
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
    return _digest(chunk, off, info_at)


def follow(
    chunks: Iterable[tuple[int, bytes]], last: KeyRuns, known: set[bytes]
) -> tuple[KeyRuns, dict[bytes, Where], set[bytes]]:
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
        added = [d for d in listed if d not in known]
        order = KeyRuns.of(list(listed))
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
        last, known = KeyRuns(), set()
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
        span = tcp_info_span(chunk, off) if iid is not None else None
        values = tcp_info_values(chunk, *span, queues_at(chunk, off)) if span else None
        if values is not None:
            assert iid is not None
            moved[iid] = from_values(values)  # one unpack, read in place
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
