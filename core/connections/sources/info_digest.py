"""Which sockets' tcp_info moved since the last sample, found in one pass over the dump.

Why: a recording stores every connection's tcp_info each sample, but only what changed; finding
that by decoding 50k ``struct tcp_info`` per sample cost five times the sample itself. Each
message of the dump's replies gives a *digest*: its bytes from the sockid to the end of the
decoded tcp_info fields, with the expiry timer and the few tcp_info fields that move on an
idle socket (``tcpi_last_data_recv`` and the like, :data:`core.connections.tcpinfo.VOLATILE`;
tcpscope shows none of them) zeroed. The source's walk of each reply takes them, a run of
like-shaped messages in a few C calls (:mod:`core.connections.sources.reply_walk`), from the
same copy that gives the sockets' keys. Two equal digests
mean two equal decoded :class:`core.connections.model.TcpInfo`; a digest may also move with
fields tcpscope does not show, which costs a decode and nothing else. Bytes, not numbers: a
slice is one object, a number one per field.

Digests are kept by sockid (it holds the socket cookie, unique across families and
namespaces), compared with the last sample's as the walk goes, and only the sockets whose
digest moved are decoded, straight from where the walk found them. Which InstanceID a sockid
belongs to is kept across samples too (:class:`DigestTrail`), updated from the records the
source touched, so a quiet sample makes no pass over its connections.

:func:`info_digests` is the other use of one unpack per message: every socket's decoded fields
as numbers, which the JSON writer formats in bulk.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import call, itemgetter
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

SOCKID_AT: Final = 20
"""nlmsghdr (16) + idiag_family, state, timer, retrans."""
_EXPIRES_AT: Final = SOCKID_AT + 48
"""idiag_expires: a running timer's countdown (keepalive), left out of the digest."""
_INODE_AT: Final = _EXPIRES_AT + 16
"""idiag_inode, after expires, rqueue, wqueue and uid."""


WORD: Final = 4
"""The masked fields are 32-bit words, at 4-aligned places in a message (netlink aligns
messages and attributes to 4 bytes)."""
assert _EXPIRES_AT % WORD == 0 and VOLATILE[0] % WORD == 0 and VOLATILE[1] % WORD == 0


def masked_words(info_at: int) -> tuple[int, ...]:
    """The 32-bit words of a message left out of its digest: the expiry timer and the
    tcp_info fields that move on an idle socket."""
    first, last = (info_at + VOLATILE[0]) // WORD, (info_at + VOLATILE[1]) // WORD
    return (_EXPIRES_AT // WORD, *range(first, last))


def _digest(chunk: bytes, off: int, info_at: int) -> bytes:
    """The digest of one message: its bytes from the sockid to the end of the decoded
    tcp_info fields, with the masked words zeroed (what a run of
    :class:`core.connections.sources.reply_walk.ReplyWalker` gives)."""
    buf = bytearray(chunk[off : off + info_at + DIGEST_LENGTH])
    for word in masked_words(info_at):
        buf[word * WORD : (word + 1) * WORD] = bytes(WORD)
    return bytes(buf[SOCKID_AT:])


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


Digests = tuple[list[bytes], list[int]]
"""A reply's digests in dump order, and the offsets of their messages
(:class:`core.connections.sources.reply_walk.ReplyWalker` takes them as it reads the reply)."""
KeptReply = tuple[int, bytes, Digests | None]
"""A reply as the netlink source keeps it: its dump family, its bytes, its digests (``None``
when its walk took none)."""


def slow_digest(chunk: bytes, off: int) -> bytes | None:
    """The digest of one message, found by walking its attributes."""
    span = tcp_info_span(chunk, off)
    if span is None or span[1] < MIN_LENGTH:
        return None
    info_at, info_len = span[0] - off, span[1]
    if info_len < DIGEST_LENGTH:  # an old kernel's short struct: compared whole
        return b"".join(
            (
                chunk[off + SOCKID_AT : off + _EXPIRES_AT],
                chunk[off + QUEUES_AT : off + QUEUES_AT + QUEUES.size],
                chunk[off + info_at : off + info_at + info_len],
            )
        )
    return _digest(chunk, off, info_at)


def follow(
    chunks: Iterable[KeptReply], last: KeyRuns, known: set[bytes]
) -> tuple[KeyRuns, dict[bytes, Where], set[bytes]]:
    """This sample's digests in dump order, where each socket whose digest moved (or is new)
    is, by sockid, and the sockids whose digest went (closed, or no tcp_info any more).

    ``last`` is the last sample's digests in dump order and ``known`` the same as a set; the
    set is brought up to date in place. Compared in order, in C (dump_diff.OrderedDiff): the
    kernel's order barely moves, so Python runs only where sockets came, went or changed.
    """
    diff = OrderedDiff(last, known, where=True)
    replies: list[tuple[bytes, list[bytes], list[int]]] = []
    for _family, chunk, digests in chunks:
        if digests is None:
            raise ValueError("a reply kept without its digests (a walker that took none)")
        replies.append((chunk, *digests))
        diff.feed(digests[0])
    order, added, gone, clean = diff.finish()
    moved: dict[bytes, Where] = {}
    if clean:  # each new digest where the diff met it
        assert diff.added_at is not None
        for d, (r, i) in zip(added, diff.added_at, strict=True):
            moved[d[:48]] = (replies[r][0], replies[r][2][i])
    else:  # a socket listed twice: whole sets, and a look-up
        listed = dict.fromkeys(d for _c, items, _o in replies for d in items)
        added = [d for d in listed if d not in known]
        order = KeyRuns.of(list(listed))
        gone = [d for d in known if d not in listed]
        where = {
            d: (c, at)
            for c, items, offsets in replies
            for d, at in zip(items, offsets, strict=True)
        }
        moved.update((d[:48], where[d]) for d in added)
    known.difference_update(gone)
    known.update(added)
    went = {d[:48] for d in gone}
    went.difference_update(moved)
    return order, moved, went


def info_changes(
    chunks: Iterable[KeptReply],
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


def _whole_digest(info_at: int, start: int = 0) -> struct.Struct:
    """One unpack for a message whose INFO payload starts ``info_at`` bytes in: its queues,
    then the digest fields; read from ``start`` bytes in (a digest starts at the sockid)."""
    gap = info_at - QUEUES_AT - QUEUES.size
    return struct.Struct(f"={QUEUES_AT - start}x{QUEUES.format[1:]}{gap}x{DIGEST_FORMAT[1:]}")


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
    sockid = chunk[off + SOCKID_AT : off + _EXPIRES_AT]
    if info_len < DIGEST_LENGTH:  # an old kernel's short struct: its bytes are the digest
        recv_q, send_q = QUEUES.unpack_from(chunk, off + QUEUES_AT)
        out[sockid] = (recv_q, send_q, chunk[off + info_at : off + info_at + info_len])
        return
    layout = (info_at - 4, chunk[off + info_at - 4 : off + info_at], _whole_digest(info_at))
    layouts[length] = layout
    out[sockid] = layout[2].unpack_from(chunk, off)


def info_digests(chunks: Iterable[KeptReply]) -> dict[bytes, Digest]:
    """inet_diag_sockid → :data:`Digest` for every socket message carrying a tcp_info long
    enough to decode (others — TIME_WAIT, request sockets — are absent, as in LazyTcpInfo).
    ``chunks`` are the replies as the netlink source keeps them. The sockid
    alone is a key: it holds the socket cookie, unique across families and namespaces.

    A reply whose walk took digests is read from them, in C (one unpack per digest, chosen by
    its length: a digest holds the queues and every decoded field); the others one message at
    a time."""
    out: dict[bytes, Digest] = {}
    head = MSG_TYPE.unpack_from
    layouts: dict[int, tuple[int, bytes, struct.Struct]] = {}
    """Message length → (INFO header offset, that header's bytes, the unpack)."""
    for family, chunk, digests in chunks:
        if digests is not None:
            items = digests[0]
            values = _values(items, set(map(len, items)))
            out.update(zip(map(_SOCKID, items), values, strict=True))
            continue
        want = reply_type(family)
        size = len(chunk)
        off = 0
        while off + MSG_MIN <= size:
            length, mtype = head(chunk, off)
            if mtype != want or length < MSG_MIN:
                break
            layout = layouts.get(length)
            if layout is not None and chunk[off + layout[0] : off + layout[0] + 4] == layout[1]:
                out[chunk[off + SOCKID_AT : off + _EXPIRES_AT]] = layout[2].unpack_from(chunk, off)
            else:
                _values_slow(chunk, off, length, out, layouts)
            off += (length + 3) & ~3
    return out


def inode_digests(chunks: Iterable[KeptReply]) -> dict[int, Digest] | None:
    """:func:`info_digests` keyed by the sockets' inodes instead, when that says the same: a
    record's inode is an int it holds (its sockid would be a slice of its key to hash), so
    the JSON writer finds each row's digest in a third of the time.

    None (use :func:`info_digests`) when a reply was kept without its digests, a digest is
    an old kernel's short one (no inode in it), or inodes do not tell the sockets apart: a
    socket with a tcp_info but no inode (an orphan, closing) or one inode twice (a socket
    listed twice, or two sockets once 32-bit inode numbers wrapped)."""
    out: dict[int, Digest] = {}
    count = 0
    for _family, _chunk, digests in chunks:
        if digests is None:
            return None
        items = digests[0]
        lengths = set(map(len, items))
        if lengths and min(lengths) < _SHORT_BELOW:
            return None
        inodes = _inodes(items, lengths)
        if 0 in inodes:
            return None
        out.update(zip(inodes, _values(items, lengths), strict=True))
        count += len(items)
    return out if len(out) == count else None


_SOCKID: Final = itemgetter(slice(0, _EXPIRES_AT - SOCKID_AT))
"""A digest's sockid (its first bytes)."""
_INODE: Final = itemgetter(slice(_INODE_AT - SOCKID_AT, _INODE_AT - SOCKID_AT + 4))
"""A whole digest's ``idiag_inode`` (native order)."""
_SHORT_BELOW: Final = _EXPIRES_AT - SOCKID_AT + QUEUES.size + DIGEST_LENGTH
"""Digests shorter than this are an old kernel's short struct (see :func:`slow_digest`)."""
_FROM_DIGEST: Final[dict[int, Callable[[bytes], Digest]]] = {}
"""Digest length → what reads its :data:`Digest` (made once per length met)."""


def _values(items: list[bytes], lengths: set[int]) -> Iterator[Digest]:
    """Each digest's :data:`Digest`, in order: one unpack each, chosen by its length (the
    ``lengths`` among ``items``), in C."""
    for length in lengths.difference(_FROM_DIGEST):
        _FROM_DIGEST[length] = _digest_values(length)
    if len(lengths) == 1:  # (a reply's digests are mostly of one length)
        return map(_FROM_DIGEST[next(iter(lengths))], items)
    return map(call, map(_FROM_DIGEST.__getitem__, map(len, items)), items)


_INODE_WORD: Final = (_INODE_AT - SOCKID_AT) // WORD
assert (_INODE_AT - SOCKID_AT) % WORD == 0


def _inodes(items: list[bytes], lengths: set[int]) -> list[int]:
    """Each whole digest's ``idiag_inode``: digests of one length (a multiple of the word)
    joined and read as a column of native words, in C; else one slice each."""
    if len(lengths) == 1 and (length := next(iter(lengths))) % WORD == 0:
        words = memoryview(b"".join(items)).cast("I")
        return words[_INODE_WORD :: length // WORD].tolist()
    return list(map(int.from_bytes, map(_INODE, items), repeat(sys.byteorder)))


def _digest_values(length: int) -> Callable[[bytes], Digest]:
    """The :data:`Digest` of a digest ``length`` bytes long, as :func:`_values_slow` reads it
    from the message (the digest's masked words are none of its fields)."""
    if length < _SHORT_BELOW:
        queues = _EXPIRES_AT - SOCKID_AT  # the sockid, then the queues, then the raw struct
        return lambda item: (*QUEUES.unpack_from(item, queues), item[queues + QUEUES.size :])
    info_at = length - DIGEST_LENGTH + SOCKID_AT
    return _whole_digest(info_at, SOCKID_AT).unpack
