"""``tcpscope connections --json``, streamed: rows filled into templates, a chunk at a time.

Why it is shaped like this: at 50k connections the output is 240 MB (4.7 KB a row, indented),
and the one-shot must finish within half the time of ``ss -tanp``. Rows of one kind (same
provenance, owner status and constant properties, see
:func:`core.connections.report.rows.row_kind`) differ in 16 values only: the identity,
endpoints, State, owner, times, holders, tcp_info and namespace. So:

- the first row of each kind is encoded the reference way
  (:class:`core.connections.report.json_docs.JsonRows`) with markers in place of those values,
  and cut at the markers into a ``bytes %`` template; every kind gets the same slots in the
  same order;
- a *narrow* template is cut per kind and owner, State, family, uid and namespace as well
  (a few dozen at 50k sockets): it keeps those as text, and a row fills 9 slots instead of
  16. Rows past :data:`NARROW_TEMPLATES` of them (thousands of owners) take the *wide* ones;
- per chunk, each slot's values are made as one column by C-level calls (attrgetter, ``map``
  over caches keyed by PID, time or namespace, one orjson call escaping every string of the
  chunk), and each row is one ``%`` of its template;
- tcp_info is read for every socket at once from the dump's digests (one ``struct`` unpack per
  socket, core.connections.sources.info_digest) and formatted into text in bulk, as if every
  figure were measured; the few rows with one that is not (a listener's, an rtt or mss of 0:
  core.connections.unmeasured) are found by two C-level passes and redone the reference way.

A chunk the fast path cannot take (more than :data:`MAX_TEMPLATES` kinds, a kind whose
template has other slots, a value orjson refuses such as a lone surrogate, a source without
inodes) is encoded the reference way, so the bytes never depend on the path.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import IO, Any, Final, cast

import orjson

from core.connections.model import TcpConnection, TcpInfo, TcpState
from core.connections.namespaces import namespace_doc
from core.connections.property_rules import PROPERTIES, open_at_reconnect
from core.connections.report.json_docs import (
    EXTRA_KEY,
    JsonRows,
    alone,
    encode_docs,
    encode_one,
    indented,
    tcp_info_doc,
)
from core.connections.report.rows import (
    MAX_TEMPLATES,
    ROW_SLOTS,
    SHAPE_FIELDS,
    cached_column,
    row_kinds,
)
from core.connections.report.two_writers import write_chunks
from core.connections.snapshot import Snapshot
from core.connections.tcpinfo import DIGEST_SIZE, FROM_DIGEST, LazyTcpInfo
from core.connections.unmeasured import maybe_unmeasured

_ROW: Final = attrgetter(
    "instance_id", "local_address", "remote_address", "local_port", "remote_port",
    "creation_time", "inode", "state_changed_at",
)  # fmt: skip
"""What a narrow template's slots are made of, in one C call per row."""
_STATE: Final = attrgetter("state")
_OWNER_ROW_FIELDS: Final = ("state", "owning_process", "family", "uid", "holders", "netns")
_OWNER_ROW: Final = attrgetter(*_OWNER_ROW_FIELDS)
"""What a wide template's slots are made of besides :data:`_ROW`'s."""
_NARROW_KIND: Final = attrgetter(*SHAPE_FIELDS, "creation_time.__class__", *_OWNER_ROW_FIELDS)
"""A row's kind for the narrow templates (its creation time's class: None or not), one C
call."""
_STRINGS: Final = ("instance_id", "local_address", "remote_address")
"""Slots inside quotes: their text is escaped by orjson, for the whole chunk at once."""
_INTS: Final = ("local_port", "remote_port", "state", "family", "inode", "uid")
"""Slots filled with ``%d``."""
_TEXTS: Final = (
    "owning_process", "creation_time", "process", "state_changed_at", "holders", "tcp_info",
    "namespace",
)  # fmt: skip
"""Slots filled with a whole JSON value (``null`` included), cached per distinct value."""
_EXTRA_SLOTS: Final = ("family", "inode", "uid", "state_changed_at", "process", "holders",
                       "tcp_info", "namespace")  # fmt: skip
_WMI_SLOTS: Final = {spec.wmi_name: spec.attr for spec in PROPERTIES if spec.attr in ROW_SLOTS}
_WIDE: Final = frozenset((*_STRINGS, *_INTS, *_TEXTS))
"""Every slot: a template per kind of row (:func:`core.connections.report.rows.row_kind`)."""
_NARROW: Final = frozenset(("instance_id", "local_address", "remote_address", "local_port",
                            "remote_port", "inode", "creation_time", "state_changed_at",
                            "tcp_info"))  # fmt: skip
"""The slots of a template per kind and owner, State, family, uid and namespace."""
NARROW_TEMPLATES = 512
"""Narrow templates at most (3.7 KB and ~60 µs to make each); a chunk with rows past them
takes the wide ones."""
_MARK: Final = "\ue000{}\ue000"
"""A marker string (private-use characters: never in a real value) for one slot."""
_NULL: Final = b"null"
_WHOLE: Final = frozenset((DIGEST_SIZE,))
"""The digest length of a whole tcp_info struct (a shorter kernel's digest is decoded)."""
SPLIT_ROWS = sys.maxsize
"""Rows from which two processes would encode (core.connections.report.two_writers): never,
by default. At 50k rows the second process touched every row's objects, whose pages were
then copied (26k more page faults, 0.1-0.3 s more CPU) and left the reader of the pipe
less of the two cores; one process writing each chunk as it encodes it was as fast or
faster, measured through a pipe and to /dev/null."""
CHUNK_ROWS: Final = 256
"""Rows per chunk after the first: about 1.2 MB of text, which stays in the CPU's caches
between its encoding and its write (larger chunks measured slower)."""


def _template(doc: dict[str, object], cut: frozenset[str]) -> tuple[bytes, tuple[str, ...]]:
    """One row's document encoded with the slots ``cut`` cut out, after a comma: (``%``
    template, slot names in the order they fill it)."""
    marked = dict(doc)
    for wmi, attr in _WMI_SLOTS.items():
        if attr in cut:
            marked[wmi] = _MARK.format(attr)
    extra = dict(marked[EXTRA_KEY])  # type: ignore[call-overload]
    for name in _EXTRA_SLOTS:
        if name in extra and name in cut:
            extra[name] = _MARK.format(name)
    marked[EXTRA_KEY] = extra
    text = encode_one(marked).replace(b"%", b"%%")
    found: list[tuple[int, str]] = []
    for name in (*_STRINGS, *_INTS, *_TEXTS):
        if name not in cut:
            continue
        quoted = orjson.dumps(_MARK.format(name))
        if name in _STRINGS:
            quoted = quoted[1:-1]  # the quotes stay in the template
        at = text.find(quoted)
        if at >= 0:
            found.append((at, name))
            text = text.replace(quoted, b"%d" if name in _INTS else b"%b")
    found.sort()
    return b"," + text, tuple(name for _at, name in found)


class _Templates:
    """The templates of one way of cutting rows (:data:`_WIDE` or :data:`_NARROW`), one per
    kind of row met, made from the first row of each kind; every template has the same
    slots, in the same order.

    A template is kept in three: the constant text before its first slot (the null WMI
    properties), the ``%`` template from there to its last slot, and the constant text after
    (most of a narrow one: the reasons, the namespace). A row is written as the first and
    last objects themselves and the middle filled in (the kernel gathers the three in the
    chunk's one ``writev``): a fifth of the output is made per row, the rest is copied from
    a few hot objects."""

    def __init__(self, cut: frozenset[str], most: int, docs: JsonRows) -> None:
        self._cut = cut
        self._most = most
        self._docs = docs
        self._numbers: dict[tuple[object, ...], int] = {}
        """Kind → its template's number: a row's kind is hashed once, its three pieces are
        then picked by that number (a lookup per piece hashed the kind's tuple three times)."""
        self._leads: list[bytes] = []
        self._heads: list[bytes] = []
        self._tails: list[bytes] = []
        self._irregular: set[tuple[object, ...]] = set()
        self.slots: tuple[str, ...] | None = None

    def of(
        self, batch: list[TcpConnection], kinds: list[tuple[object, ...]]
    ) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
        """The lead, head and tail of each of ``batch``'s templates (``kinds``: each one's
        kind); None when a kind is past :attr:`_most` kinds or its text has other slots."""
        numbers = list(map(self._numbers.get, kinds))
        if None in numbers and not self._add(batch, kinds, numbers):
            return None
        found = cast(list[int], numbers)
        return (
            list(map(self._leads.__getitem__, found)),
            list(map(self._heads.__getitem__, found)),
            list(map(self._tails.__getitem__, found)),
        )

    def _add(
        self, batch: list[TcpConnection], kinds: list[tuple[object, ...]], found: list[int | None]
    ) -> bool:
        """Make the templates of the kinds ``found`` has no number for (in place)."""
        numbers = self._numbers
        for i, number in enumerate(found):
            if number is not None:
                continue
            kind = kinds[i]
            if kind in numbers:  # met earlier in this batch
                found[i] = numbers[kind]
                continue
            if kind in self._irregular or len(numbers) >= self._most:
                return False
            text, slots = _template(self._docs.doc(batch[i]), self._cut)
            if self.slots is None:
                self.slots = slots
            if slots != self.slots:
                self._irregular.add(kind)
                return False
            lead, head, tail = _split(text)
            found[i] = numbers[kind] = len(self._heads)
            self._leads.append(lead)
            self._heads.append(head)
            self._tails.append(tail)
        return True


_SLOT_OR_PERCENT: Final = re.compile(rb"%[%bd]")


def _split(template: bytes) -> tuple[bytes, bytes, bytes]:
    """``template`` cut before its first slot and after its last: the constant text before,
    the ``%`` template between, the constant text after (both as plain text)."""
    slots = [found.span() for found in _SLOT_OR_PERCENT.finditer(template) if found[0] != b"%%"]
    start, end = (slots[0][0], slots[-1][1]) if slots else (0, 0)
    return (
        template[:start].replace(b"%%", b"%"),
        template[start:end],
        template[end:].replace(b"%%", b"%"),
    )


class _TcpInfoTexts:
    """The ``tcp_info`` value of each row, from the dump's digests (see the module docstring)."""

    def __init__(self, infos: Mapping[str, TcpInfo]) -> None:
        self._infos = infos
        marks = [_MARK.format(i) for i in range(len(TcpInfo.__dataclass_fields__))]
        measured = tcp_info_doc(TcpInfo(*marks), None)  # type: ignore[arg-type]
        text = indented(measured).replace(b"%", b"%%")
        for mark in marks:
            text = text.replace(orjson.dumps(mark), b"%d")
        self._text = text
        self._digests = infos.digest_reader() if isinstance(infos, LazyTcpInfo) else None

    def column(self, batch: Sequence[TcpConnection], iids: Sequence[str]) -> list[bytes]:
        """The text of each of ``batch`` (InstanceIDs ``iids``; ``null`` without tcp_info)."""
        found = self._measured(batch, iids)
        if found is None:
            info_of = self._infos.get
            return [
                _NULL if (info := info_of(iid)) is None else indented(tcp_info_doc(info, state))
                for iid, state in zip(iids, map(_STATE, batch), strict=True)
            ]
        texts, redo = found
        states = list(map(_STATE, batch))
        if TcpState.LISTEN in states:  # a few rows: their unmeasured fields null, with why
            redo = [*redo, *(i for i, state in enumerate(states) if state is TcpState.LISTEN)]
        if redo:
            info_of = self._infos.get
            for i in redo:
                if texts[i] is not _NULL:
                    texts[i] = indented(tcp_info_doc(info_of(iids[i]), states[i]))
        return texts

    def _measured(
        self, batch: Sequence[TcpConnection], iids: Sequence[str]
    ) -> tuple[list[bytes], list[int]] | None:
        """Each row's text from the digests as if every field were a measurement, and the
        rows whose rtt or mss is 0 (see :func:`maybe_unmeasured`); None without digests."""
        if self._digests is None:
            return None
        digests = self._digests(batch)
        present = list(filter(None, digests))  # (a digest is a non-empty tuple)
        if not set(map(len, present)) <= _WHOLE:
            return None
        values = list(map(FROM_DIGEST, present))
        texts = list(map(self._text.__mod__, values))
        zeros = maybe_unmeasured(values)
        if len(texts) == len(digests):
            return texts, zeros
        rows = [i for i, d in enumerate(digests) if d is not None]
        found = iter(texts)  # rows without tcp_info (TIME_WAIT) are null
        return [_NULL if d is None else next(found) for d in digests], [rows[i] for i in zeros]


class _Filler:
    """Encodes chunks of one snapshot's rows (see the module docstring)."""

    def __init__(self, snap: Snapshot) -> None:
        self._snap = snap
        self._docs = JsonRows(snap)
        self._plain_docs = JsonRows(snap, fragments=False)
        template_docs = JsonRows(snap, tcp_info=False)  # its slot holds a marker
        self._narrow = _Templates(_NARROW, NARROW_TEMPLATES, template_docs)
        self._wide = _Templates(_WIDE, MAX_TEMPLATES, template_docs)
        self._pids: dict[int | None, bytes] = {None: _NULL}
        self._processes: dict[int | None, bytes] = {None: _NULL}
        self._times: dict[datetime | None, bytes] = {None: _NULL}
        self._holders: dict[tuple[tuple[int, ...], int | None], bytes] = {}
        self._namespaces: dict[int | None, bytes] = {}
        self._tcp_info = _TcpInfoTexts(snap.tcp_info)

    def encode(self, batch: list[TcpConnection], *, lead: bytes = b",") -> list[bytes]:
        """``batch`` as array elements, ``\n  {...}`` joined by commas, after ``lead``: the
        pieces of that text, in order (each row's starts after its comma)."""
        try:
            rows = self._fill(batch)
        except orjson.JSONEncodeError:
            rows = None
        if rows is None:
            # The reference way: "[\n  {...},\n  {...}\n]" without its brackets.
            return [lead + encode_docs(batch, self._docs, self._plain_docs)[1:-2]]
        if rows and lead != b",":
            rows[0] = lead + rows[0][1:]
        return rows

    def _fill(self, batch: list[TcpConnection]) -> list[bytes] | None:
        iid, la, ra, lport, rport, created, inode, changed = zip(*map(_ROW, batch), strict=True)
        if None in inode or self._reopened(batch, created):
            return None
        # A narrow template holds its rows' owner, State, family, uid and namespace as text:
        # 7 of the 16 slots fewer to fill per row, while the kinds stay few.
        cut = self._narrow
        templates = cut.of(batch, list(map(_NARROW_KIND, batch)))
        owners: tuple[Sequence[object], ...] = ()
        if templates is None:
            cut = self._wide
            owners = tuple(zip(*map(_OWNER_ROW, batch), strict=True))
            state, pid, family, uid, held, netns = owners
            if None in uid:
                return None
            templates = cut.of(batch, row_kinds(batch, pid, held, created))  # type: ignore[arg-type]
            if templates is None:
                return None
        leads, heads, tails = templates
        n = len(batch)
        strings = orjson.dumps([*iid, *la, *ra])[2:-2].split(b'","')
        if len(strings) != 3 * n:
            return None
        columns: dict[str, Sequence[Any]] = {
            "instance_id": strings[:n],
            "local_address": strings[n : 2 * n],
            "remote_address": strings[2 * n :],
            "local_port": lport,
            "remote_port": rport,
            "inode": inode,
            "creation_time": cached_column(self._times, created, _time_text),
            "state_changed_at": cached_column(self._times, changed, _time_text),
            "tcp_info": self._tcp_info.column(batch, iid),
        }
        if owners:
            self._owner_columns(columns, pid, held, netns)  # type: ignore[arg-type]
            columns.update(state=state, family=family, uid=uid)
        slots = cut.slots
        assert slots is not None
        values = zip(*(columns[name] for name in slots), strict=True)
        pieces = tails * 3  # (any list of the right length)
        pieces[0::3] = leads
        pieces[1::3] = map(bytes.__mod__, heads, values)
        pieces[2::3] = tails
        return pieces

    def _reopened(self, batch: list[TcpConnection], created: Sequence[datetime | None]) -> bool:
        """Whether a row of ``batch`` was open at a --remote reconnection: its reasons differ
        from a row of the same kind open before the start, and the kinds do not tell them
        apart (a C-level ``max`` finds none in a one-shot, whose rows are all seen by then)."""
        started = self._snap.started_at
        latest = max(filter(None, created), default=None)
        if latest is None or latest <= started:
            return False
        return any(open_at_reconnect(c, started) for c in batch)

    def _owner_columns(
        self,
        columns: dict[str, Sequence[Any]],
        pid: Sequence[int | None],
        held: Sequence[tuple[int, ...]],
        netns: Sequence[int | None],
    ) -> None:
        """The owner's and namespace's slots of a wide template, into ``columns``."""
        docs, snap = self._docs, self._snap
        columns["owning_process"] = cached_column(self._pids, pid, _pid_text)
        columns["process"] = cached_column(
            self._processes, pid, lambda p: indented(docs.process(p))
        )
        holders = list(zip(held, pid, strict=True))
        columns["holders"] = cached_column(self._holders, holders, _holders_text)
        view = snap.namespaces
        if view is None:  # every row's is null (the reason is in its not_reported)
            columns["namespace"] = [_NULL] * len(netns)
        else:
            columns["namespace"] = cached_column(
                self._namespaces, netns, lambda n: indented(namespace_doc(n, view))
            )


def _pid_text(pid: int | None) -> bytes:
    return _NULL if pid is None else b"%d" % pid


def _time_text(when: datetime | None) -> bytes:
    return orjson.dumps(when, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)


def _holders_text(key: tuple[tuple[int, ...], int | None]) -> bytes:
    held, pid = key
    return indented(list(held or alone(pid)))


def write_json(conns: Iterable[TcpConnection], snap: Snapshot, out: IO[bytes]) -> None:
    """Write a JSON array of connection documents, chunk by chunk, ending in a newline.

    The bytes equal ``json.dumps(docs, indent=2)`` for ASCII text (non-ASCII is UTF-8).
    After the first chunk, each chunk's rows go to the file descriptor under ``out`` in one
    ``writev``, from a writing thread while the next chunk is encoded
    (core.connections.report.two_writers.write_behind).
    """
    filler = _Filler(snap)
    empty = True

    def encode(rows: Sequence[TcpConnection], first: bool) -> list[bytes]:
        nonlocal empty
        if first:
            empty = not rows
            return filler.encode(list(rows), lead=b"[") if rows else []
        return filler.encode(list(rows))

    write_chunks(conns, out, encode, chunk=CHUNK_ROWS, split_at=SPLIT_ROWS)
    out.write(b"[]\n" if empty else b"\n]\n")
