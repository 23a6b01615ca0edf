"""Each dump reply's socket keys (and, for a recorder, its tcp_info digests), read a run of
like-shaped messages at a time.

Why: a reply is mostly a run of messages of one length (established sockets), and one Python
step per message (an unpack and two concatenations for the key) was most of a steady sample's
Python time: 12–18 ms at 50k sockets. For a run, a few C calls do the whole run: its length
and type words (and where tcp_info is, INFO's attribute header) are checked as strided columns,
the run is copied once, the key's three parts are moved together in every message at once
(strided slice assignments), and one unpack cuts out every key. A recorder's digests
(:mod:`core.connections.sources.info_digest`) come from the same copy, before the moves.

A message that does not fit a run (another length, another attribute layout, a reply's odd
last message) is read on its own, as before: the run and the one-by-one reading give the
same keys and digests (tested on real kernel messages).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from core.connections.sources.inet_diag import (
    KEY_SIZE,
    MSG_MIN,
    MSG_TYPE,
    SOCKET_KEY,
    tcp_info_span,
)
from core.connections.sources.info_digest import (
    SOCKID_AT,
    WORD,
    Digests,
    masked_words,
    slow_digest,
)
from core.connections.tcpinfo import DIGEST_LENGTH, VOLATILE

_HEAD_AT: Final = 16
"""idiag_family, idiag_state: the key's first two bytes; moved two places on (over timer and
retrans) so that they lead the sockid."""
_OWNER_WORDS: Final = (80 // WORD, 84 // WORD)
"""idiag_uid, idiag_inode: moved back over expires and rqueue, so that they follow the
sockid."""
_KEY_AT: Final = SOCKID_AT - 2
"""Where a moved message's key starts: family, state, sockid, uid, inode in a row."""
_EXPIRES_WORD: Final = 68 // WORD
PROBE: Final = 16
"""How far on a message is looked at before a run is read (see :meth:`ReplyWalker.walk`)."""
BATCH: Final = 128
"""At most this many messages (of the shortest kind) are read one by one between two looks
for a run: where runs keep failing (sockets of several kinds interleaved), a look costs a
few messages' worth."""
BLOCK: Final = 64
"""Messages cut out by one unpack."""
MIN_RUN: Final = 8
"""A shorter run is read one by one."""
assert (_EXPIRES_WORD + len(_OWNER_WORDS)) * WORD == _KEY_AT + KEY_SIZE
assert SOCKET_KEY.format == "=IH10x2s2x48s12x8s"  # the key these moves give
_ZERO_WORD: Final = bytes(WORD)
_VOLATILE_ZEROS: Final = bytes(VOLATILE[1] - VOLATILE[0])
"""What :meth:`_Shape.digest` puts in place of the masked words (see info_digest.masked_words:
the expiry timer's word, then the run of volatile tcp_info words)."""


@dataclass(slots=True)
class _Shape:
    """The messages of one length, and where the first one met had its tcp_info."""

    step: int
    """From one message to the next (the length, padded)."""
    head: bytes
    """The first 8 bytes every message of a run has: its length, its type and flags."""
    checks: tuple[tuple[int, bytes], ...]
    """(word, its 4 bytes) every message of a run has: the two words of ``head``, and INFO's
    attribute header when ``info_at`` is set."""
    info_at: int | None
    """Where a whole-enough tcp_info starts in the message (``None``: none in the first one
    met; the messages of a run then get their digests one by one)."""
    unpacks: dict[tuple[bool, int], Callable[[bytearray, int], tuple[bytes, ...]]] = field(
        default_factory=dict
    )
    """(digests?, messages) → the unpack of that many keys or digests at once (up to BLOCK)."""

    def cut(self, digests: bool, buf: bytearray, count: int, into: list[bytes]) -> None:
        """The keys (or digests) of the ``count`` messages in ``buf`` onto ``into``: a block of
        BLOCK messages per C call (the unpacks kept stay few and small whatever the runs)."""
        step = self.step
        whole, rest = divmod(count, BLOCK)
        if whole:
            block = self._unpack(digests, BLOCK)
            for at in range(0, whole * BLOCK * step, BLOCK * step):
                into.extend(block(buf, at))
        if rest:
            into.extend(self._unpack(digests, rest)(buf, whole * BLOCK * step))

    def digest(self, chunk: bytes, off: int) -> bytes | None:
        """The digest of the message at ``off`` (of this shape's length), when its tcp_info
        is where the shape's is (None: read it by its attributes, slow_digest): the same
        bytes, cut out by three slices instead of an attribute walk and a word-by-word mask
        (a message read one by one between two runs, ~5 -> ~1 us)."""
        info_at = self.info_at
        if info_at is None:
            return None
        word, header = self.checks[-1]
        if chunk[off + word * WORD : off + word * WORD + WORD] != header:
            return None
        volatile = off + info_at + VOLATILE[0]
        return b"".join((
            chunk[off + SOCKID_AT : off + _EXPIRES_WORD * WORD], _ZERO_WORD,
            chunk[off + (_EXPIRES_WORD + 1) * WORD : volatile], _VOLATILE_ZEROS,
            chunk[volatile + len(_VOLATILE_ZEROS) : off + info_at + DIGEST_LENGTH],
        ))  # fmt: skip

    def _unpack(self, digests: bool, count: int) -> Callable[[bytearray, int], tuple[bytes, ...]]:
        found = self.unpacks.get((digests, count))
        if found is None:
            if digests:
                assert self.info_at is not None
                keep = self.info_at + DIGEST_LENGTH - SOCKID_AT
                one = f"{SOCKID_AT}x{keep}s{self.step - SOCKID_AT - keep}x"
            else:
                one = f"{_KEY_AT}x{KEY_SIZE}s{self.step - _KEY_AT - KEY_SIZE}x"
            found = self.unpacks[(digests, count)] = struct.Struct("=" + one * count).unpack_from
        return found


class ReplyWalker:
    """Reads replies of one dump request type; learns the message shapes as it goes (the
    kernel writes the messages of one socket kind alike, from one reply to the next)."""

    __slots__ = ("_digests", "_shapes")

    def __init__(self, digests: bool) -> None:
        """``digests``: also give every tcp_info's digest (a recorder's dumps)."""
        self._digests = digests
        self._shapes: dict[int, _Shape] = {}

    def walk(self, want: int, chunk: bytes) -> tuple[list[bytes], Digests | None, int]:
        """The keys of the socket messages (type ``want``) at the start of ``chunk``, their
        digests (when asked for), and where those messages end (a reply's last socket
        message may be followed by NLMSG_DONE or an error, which the caller reads)."""
        keys: list[bytes] = []
        items: list[bytes] = []
        offsets: list[int] = []
        shapes = self._shapes
        head = MSG_TYPE.unpack_from
        size = len(chunk)
        off = 0
        batch = 1
        while off + MSG_MIN <= size:
            length, typ = head(chunk, off)
            if typ != want or length < MSG_MIN or off + length > size:
                break
            shape = shapes.get(length)
            if shape is None:
                shape = shapes[length] = self._learn(chunk, off, length)
            step = shape.step
            # A run only pays from MIN_RUN messages on: one look at the header PROBE messages
            # on says whether this may be one (TIME_WAIT sockets, shorter, cut runs short).
            ahead = min(PROBE, (size - off) // step - 1) * step
            if ahead >= MIN_RUN * step and chunk[off + ahead : off + ahead + 8] == shape.head:
                end = self._run(shape, chunk, off, keys, items, offsets)
                if end > off:
                    off = end
                    batch = 1
                    continue
            # No run here: read a few messages one by one, twice as many each time in a row.
            off = self._one_by_one(want, chunk, off, batch, keys, items, offsets)
            batch = min(2 * batch, BATCH)
        return keys, ((items, offsets) if self._digests else None), off

    def _one_by_one(
        self,
        want: int,
        chunk: bytes,
        off: int,
        batch: int,
        keys: list[bytes],
        items: list[bytes],
        offsets: list[int],
    ) -> int:
        """Read the messages that start in the next ``batch`` * MSG_MIN bytes one at a time
        (at least one; the walk looks for a run again after them); returns where it
        stopped."""
        unpack = SOCKET_KEY.unpack_from
        append = keys.append
        size = len(chunk)
        end = min(size - MSG_MIN, off + (batch - 1) * MSG_MIN)
        if not self._digests:
            while off <= end:
                length, typ, head, sockid, owner = unpack(chunk, off)
                if typ != want or length < MSG_MIN or off + length > size:
                    break
                append(head + sockid + owner)
                off += (length + 3) & ~3
            return off
        shapes = self._shapes
        while off <= end:
            length, typ, head, sockid, owner = unpack(chunk, off)
            if typ != want or length < MSG_MIN or off + length > size:
                break
            append(head + sockid + owner)
            shape = shapes.get(length)
            found = shape.digest(chunk, off) if shape is not None else None
            if found is not None or (found := slow_digest(chunk, off)) is not None:
                items.append(found)
                offsets.append(off)
            off += (length + 3) & ~3
        return off

    def _learn(self, chunk: bytes, off: int, length: int) -> _Shape:
        step = (length + 3) & ~3
        checks = [(0, chunk[off : off + 4]), (1, chunk[off + 4 : off + 8])]
        info_at = None
        span = tcp_info_span(chunk, off) if self._digests else None
        if span is not None and span[1] >= DIGEST_LENGTH:
            info_at = span[0] - off
            checks.append((info_at // WORD - 1, chunk[span[0] - 4 : span[0]]))
        return _Shape(step, chunk[off : off + 8], tuple(checks), info_at)

    def _run(
        self,
        shape: _Shape,
        chunk: bytes,
        off: int,
        keys: list[bytes],
        items: list[bytes],
        offsets: list[int],
    ) -> int:
        """Read the run of ``shape``'s messages from ``off``; where it ends (``off``: none)."""
        step = shape.step
        count = (len(chunk) - off) // step
        stride = step // WORD
        words = memoryview(chunk)[off : off + count * step].cast("I")
        for word, value in shape.checks:
            column = words[word : count * stride : stride].tobytes()
            like = value * count
            if column != like:  # the first word that differs ends the run: found in C
                differ = int.from_bytes(column, "big") ^ int.from_bytes(like, "big")
                count = (len(column) * 8 - differ.bit_length()) // (8 * WORD)
                if count < MIN_RUN:
                    return off  # too short to pay: read one by one
        end = off + count * step
        buf = bytearray(words[: count * stride])
        words.release()
        moved = memoryview(buf).cast("I")
        if self._digests:
            if shape.info_at is not None:
                zeros = memoryview(bytes(WORD * count)).cast("I")
                for word in masked_words(shape.info_at):
                    moved[word::stride] = zeros
                shape.cut(True, buf, count, items)
                offsets.extend(range(off, end, step))
                # The expiry timer, zeroed above, is overwritten below: keys never hold it.
            elif step > MSG_MIN:  # attributes, but no tcp_info where the first one had it
                for at in range(off, end, step):
                    found = slow_digest(chunk, at)
                    if found is not None:
                        items.append(found)
                        offsets.append(at)
        buf[_KEY_AT::step] = buf[_HEAD_AT::step]
        buf[_KEY_AT + 1 :: step] = buf[_HEAD_AT + 1 :: step]
        for n, word in enumerate(_OWNER_WORDS):
            moved[_EXPIRES_WORD + n :: stride] = moved[word::stride]
        moved.release()
        shape.cut(False, buf, count, keys)
        return end
