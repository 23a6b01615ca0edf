"""Snapshots ↔ sample records: key frames carry everything, deltas carry what changed.

Why this split: at 1 s with 1k stable connections, almost nothing changes between samples, so a
delta record is a few dozen bytes while a key frame is the whole table. The writer and the
reader each keep the same running state (previous connections, tcp_info, processes, ghosts,
IPsec view) so a delta is exact: a replayed snapshot has the same content as the recorded one.

Sample record keys (``K`` = key frame only, ``D`` = delta only, else both):

====  ==================================================================================
k     ``"K"`` key frame or ``"D"`` delta
n     Snapshot.seq;  ``t`` time (µs since the epoch)
st    started_at (K);  ``src`` source (K);  ``iv`` interval_s (K, or D when it changed)
df    the diff against the previous sample (K; a delta's diff follows from the two states)
c     connections by InstanceID: all (K) or added/changed (D);  ``cr`` removed ids (D)
ti    tcp_info by InstanceID: all (K) or new/changed (D);  ``tr`` ids whose tcp_info went (D)
td    tcp_info changes as per-field differences from the previous value (D), by connection
      number: connections are numbered in the order they first appear in ``c`` within the
      block; ``td`` is ``[number gaps, field-1 column, ..., field-10 column]``
p     processes by PID: all (K) or new/changed (D);  ``pr`` PIDs gone (D)
g     ghosts ``[[connection, closed_at], ...]``: always in K; in D only when they differ from
      the rule (removed connections become ghosts, expire after the header's ghost_ttl_s)
e     SourceError (when set);  ``s`` stale (when true);  ``pa`` paused (when true)
ns    NamespaceView (K, or D when it changed; absent when one namespace was read)
pv    Privilege (K, or D when it changed);  ``ss`` SampleStats;  ``sk`` skipped (when > 0)
ip    IPsec view: full (K), or a :mod:`core.recording.jsondelta` delta (D, when it changed);
      a counter row's history is stored as its length N when it is the previous history plus
      the row's display value, keeping the last N (it nearly always is)
====  ==================================================================================
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple

from core.connections.model import ProcessInfo, TcpConnection, TcpInfo
from core.connections.namespaces import NamespaceView
from core.connections.snapshot import (
    ConnectionDiff,
    Ghost,
    Privilege,
    SampleStats,
    Snapshot,
    SourceError,
    StateChange,
    diff_connections,
    next_ghosts,
)
from core.connections.tcpinfo import LazyTcpInfo
from core.ipsec.model import CounterRow, IpsecView, ProviderView
from core.recording import jsondelta
from core.recording.codec import (
    CONNECTION,
    IPSEC_VIEW,
    NAMESPACES,
    PRIVILEGE,
    PROCESS,
    SOURCE_ERROR,
    STATS,
    TCP_INFO,
    DecodeError,
    codec_for,
    decode_time,
    encode_time,
)

_STATE: Final = codec_for("TcpState")
KEY: Final = "K"
DELTA: Final = "D"


def _index(cls: type, name: str) -> int:
    return [f.name for f in dataclasses.fields(cls)].index(name)


_ROWS: Final = _index(ProviderView, "rows")
_HISTORY: Final = _index(CounterRow, "history")
_DISPLAY: Final = _index(CounterRow, "display")
_ROW_NAME: Final = _index(CounterRow, "name")
_PROVIDER_NAME: Final = _index(ProviderView, "name")
_VIEW_PROVIDERS: Final = 2


_TCP_FIELDS: Final = operator.attrgetter(*(f.name for f in dataclasses.fields(TcpInfo)))
_TCP_COUNT: Final = len(dataclasses.fields(TcpInfo))
_TCP_OLDEST: Final = sum(f.name not in ("recv_q", "send_q") for f in dataclasses.fields(TcpInfo))
"""Fields of a TcpInfo step in files written before Recv-Q/Send-Q were recorded: their
steps are shorter, and the missing fields stay ``None`` (not reported)."""


def _tcp_step(old: TcpInfo, new: TcpInfo) -> list[int] | None:
    """Per-field differences new − old (small, repetitive numbers compress far better than
    growing byte counters); None when a field is None on one side only."""
    step: list[int] = []
    for a, b in zip(_TCP_FIELDS(old), _TCP_FIELDS(new), strict=True):
        if a is None or b is None:
            if a is not b:
                return None
            step.append(0)
        else:
            step.append(b - a)
    return step


TcpValues = tuple[int | None, ...]
"""A TcpInfo's fields in declaration order (the decoder's compact form)."""


def _tcp_apply(old: TcpValues, step: Any) -> TcpValues:
    if (
        type(step) is not list
        or not _TCP_OLDEST <= len(step) <= _TCP_COUNT
        or not all(type(d) is int for d in step)
    ):
        raise DecodeError("a tcp_info step must list an integer per field")
    step = step + [0] * (_TCP_COUNT - len(step))
    return tuple(None if a is None else a + d for a, d in zip(old, step, strict=True))


class _LazyTcp(Mapping[str, TcpInfo]):
    """tcp_info by InstanceID, built from the decoder's values on first access (a replayed
    sample with 50k connections does not build 50k records nobody looks at)."""

    __slots__ = ("_cache", "_values")

    def __init__(self, values: Mapping[str, TcpValues]) -> None:
        self._values = values
        self._cache: dict[str, TcpInfo] = {}

    def __getitem__(self, key: str) -> TcpInfo:
        info = self._cache.get(key)
        if info is None:
            info = TcpInfo(*self._values[key])  # type: ignore[arg-type]
            self._cache[key] = info
        return info

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values


def _number(handles: dict[str, int], ids: Iterable[str]) -> dict[str, int]:
    """``handles`` with the next numbers given to ``ids`` not numbered yet (copied on write)."""
    new = [cid for cid in ids if cid not in handles]
    if not new:
        return handles
    out = dict(handles)
    for cid in new:
        out[cid] = len(out)
    return out


def _pack_steps(steps: list[tuple[int, list[int]]]) -> list[list[int]]:
    """Columns: handle gaps, then one column per tcp_info field (compresses best)."""
    steps.sort()
    gaps, last = [], -1
    for handle, _ in steps:
        gaps.append(handle - last)
        last = handle
    return [gaps, *(list(col) for col in zip(*(step for _, step in steps), strict=True))]


def _unpack_steps(raw: Any) -> list[tuple[int, list[int]]]:
    if type(raw) is not list or not 1 + _TCP_OLDEST <= len(raw) <= 1 + _TCP_COUNT:
        raise DecodeError("key 'td': expected handle gaps and one column per tcp_info field")
    if not all(type(col) is list and len(col) == len(raw[0]) for col in raw):
        raise DecodeError("key 'td': columns of different lengths")
    out, handle = [], -1
    for i, gap in enumerate(raw[0]):
        if type(gap) is not int or gap < 1:
            raise DecodeError("key 'td': handle gaps must be positive integers")
        handle += gap
        out.append((handle, [col[i] for col in raw[1:]]))
    return out


def _same_ghosts(a: Mapping[str, Ghost], b: Mapping[str, Ghost]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a)


def _predicted_history(prev_row: list[Any] | None, row: list[Any]) -> list[Any]:
    hist = row[_HISTORY]
    if prev_row is None or not isinstance(prev_row[_HISTORY], list):
        return hist  # type: ignore[no-any-return]
    expected = (prev_row[_HISTORY] + [row[_DISPLAY]])[-len(hist) :] if hist else []
    return hist if expected != hist else len(hist)  # type: ignore[return-value]


def _row_pairs(prev: list[Any] | None, cur: list[Any]) -> Iterable[tuple[Any, list[Any]]]:
    """(previous row or None, current row) for every counter row of an encoded view."""
    prev_rows: dict[tuple[str, str], list[Any]] = {}
    if prev is not None:
        for pv in prev[_VIEW_PROVIDERS]:
            for r in pv[_ROWS]:
                prev_rows[(pv[_PROVIDER_NAME], r[_ROW_NAME])] = r
    for pv in cur[_VIEW_PROVIDERS]:
        for r in pv[_ROWS]:
            yield prev_rows.get((pv[_PROVIDER_NAME], r[_ROW_NAME])), r


def _mark_history(prev_full: list[Any] | None, full: list[Any]) -> list[Any]:
    """A copy of ``full`` (encoded view) with predictable histories replaced by their length."""
    marked: list[Any] = [full[0], full[1], [list(pv) for pv in full[_VIEW_PROVIDERS]]]
    for pv in marked[_VIEW_PROVIDERS]:
        pv[_ROWS] = [list(r) for r in pv[_ROWS]]
    for prev_row, row in _row_pairs(prev_full, marked):
        row[_HISTORY] = _predicted_history(prev_row, row)
    return marked


def _expand_history(prev_full: list[Any] | None, marked: list[Any]) -> list[Any]:
    """Inverse of :func:`_mark_history` (raises DecodeError on a malformed view)."""
    try:
        full: list[Any] = [marked[0], marked[1], [list(pv) for pv in marked[_VIEW_PROVIDERS]]]
        for pv in full[_VIEW_PROVIDERS]:
            pv[_ROWS] = [list(r) for r in pv[_ROWS]]
        for prev_row, row in _row_pairs(prev_full, full):
            hist = row[_HISTORY]
            if type(hist) is int:
                if prev_row is None or hist < 0:
                    raise DecodeError("IPsec history refers to a missing previous row")
                grown = [*prev_row[_HISTORY], row[_DISPLAY]]
                row[_HISTORY] = grown[-hist:] if hist else []
    except (TypeError, IndexError, KeyError, AttributeError):
        raise DecodeError("malformed IPsec view") from None
    return full


class _Moved(NamedTuple):
    """A sample's tcp_info that may have moved (see FrameEncoder._moved_tcp_info)."""

    moved: Mapping[str, TcpInfo]
    """By InstanceID: every entry that may differ from the last sample's."""
    gone: list[str]
    """Entries that left (empty when ``complete``)."""
    complete: bool
    """``moved`` holds every entry."""
    since: tuple[Mapping[str, object], Collection[str]] | None
    """The last sample's records and the InstanceIDs whose record differs from them, when
    the source knows (see InfoChanges.since)."""
    records: object
    """The source's records this sample's tcp_info belongs to (compared by identity)."""


class FrameEncoder:
    """Turns consecutive snapshots into key-frame and delta records (the writer's half)."""

    def __init__(self, ghost_ttl_s: float) -> None:
        """``ghost_ttl_s``: the sampler's ghost lifetime, for the ghost rule."""
        self._ttl = ghost_ttl_s
        self._conns: Mapping[str, TcpConnection] = {}
        self._handles: dict[str, int] = {}
        self._tcp: dict[str, TcpInfo] = {}
        self._trail: object = None
        self._removed: list[tuple[str, TcpConnection]] = []
        self._added: list[str] = []
        self._procs: dict[int, ProcessInfo] = {}
        self._ghosts: dict[str, Ghost] = {}
        self._privilege: Privilege | None = None
        self._namespaces: NamespaceView | None = None
        self._interval: float | None = None
        self._view: IpsecView | None = None
        self._view_full: list[Any] | None = None
        self._view_marked: list[Any] | None = None

    @property
    def numbered(self) -> int:
        """Connections numbered since the last key frame (both sides keep them until the next
        one; a stream without blocks uses this to decide when a key frame is due)."""
        return len(self._handles)

    def encode(self, snap: Snapshot, *, key: bool) -> dict[str, Any]:
        """The record for ``snap``; a key frame when ``key`` (then it needs no earlier state)."""
        rec: dict[str, Any] = {
            "k": KEY if key else DELTA,
            "n": snap.seq,
            "t": encode_time(snap.time),
        }
        if key:
            rec["st"] = encode_time(snap.started_at)
            rec["src"] = snap.source
            d = snap.diff
            rec["df"] = [
                sorted(d.added),
                sorted(d.removed),
                [[c.instance_id, int(c.old), int(c.new)] for c in d.state_changed],
                sorted(d.changed),
            ]
        if key or snap.interval_s != self._interval:
            rec["iv"] = snap.interval_s
        found = self._moved_tcp_info(snap.tcp_info, key)
        self._connections(rec, snap, key, found)
        self._tcp_info(rec, found, key)
        self._processes(rec, snap.processes, key)
        self._ghost_record(rec, snap, key)
        if snap.error is not None:
            rec["e"] = SOURCE_ERROR.encode(snap.error)
        if snap.stale:
            rec["s"] = True
        if snap.paused:
            rec["pa"] = True
        if snap.skipped:
            rec["sk"] = snap.skipped
        if key or snap.privilege != self._privilege:
            rec["pv"] = PRIVILEGE.encode(snap.privilege)
        rec["ss"] = STATS.encode(snap.stats)
        if snap.namespaces is not None and (key or snap.namespaces != self._namespaces):
            rec["ns"] = NAMESPACES.encode(snap.namespaces)
        self._namespaces = snap.namespaces
        self._ipsec(rec, snap.ipsec, key)
        self._interval, self._privilege = snap.interval_s, snap.privilege
        return rec

    def _connections(
        self,
        rec: dict[str, Any],
        snap: Snapshot,
        key: bool,
        found: _Moved,
    ) -> None:
        prev, conns, since = self._conns, snap.connections, found.since
        if key:
            self._handles = {}
            changed = {cid: CONNECTION.encode(conn) for cid, conn in conns.items()}
            removed = sorted(prev.keys() - conns.keys())
        else:
            if since is not None and since[0] is prev:
                # The source says which records it touched since the ones held: only those.
                candidates: Collection[str] = since[1]
                removed = sorted(cid for cid in candidates if cid in prev and cid not in conns)
            else:
                # Records are reused while a socket is unchanged: identity finds the changes.
                candidates = conns.keys()
                removed = sorted(prev.keys() - conns.keys())
            get, now = prev.get, conns.get
            differ = sorted(
                cid
                for cid in candidates
                if (conn := now(cid)) is not None and (old := get(cid)) is not conn and old != conn
            )
            changed = {cid: CONNECTION.encode(conns[cid]) for cid in differ}
        rec["c"] = changed
        handles = self._handles  # numbered in place: a copy a sample was a young 50k-entry
        for cid in changed:  # dict for the collector to walk (the decoder copies: it may fail)
            if cid not in handles:
                handles[cid] = len(handles)
        if removed and not key:
            rec["cr"] = removed
        self._removed = [(cid, prev[cid]) for cid in removed]
        self._added = [cid for cid in changed if cid not in prev]
        # Held as they are when they are the source's records (which it never changes once
        # given out): the next sample's ``since`` can then be them. Otherwise copied.
        self._conns = conns if found.records is conns else dict(conns)

    def _tcp_info(self, rec: dict[str, Any], found: _Moved, key: bool) -> None:
        tcp = self._tcp
        moved, gone, complete = found.moved, found.gone, found.complete
        full: dict[str, Any] = {}
        steps: list[tuple[int, list[int]]] = []
        for cid, info in moved.items():
            old = None if key else tcp.get(cid)
            if old == info:
                continue
            if old is None or (step := _tcp_step(old, info)) is None:
                full[cid] = TCP_INFO.encode(info)
            else:
                steps.append((self._handles[cid], step))
        if full or key:
            rec["ti"] = full
        if steps:
            rec["td"] = _pack_steps(steps)
        conns = self._conns
        if complete:
            if not key:
                went = sorted(cid for cid in tcp if cid not in moved and cid in conns)
                if went:
                    rec["tr"] = went
            self._tcp = dict(moved)
            return
        went = sorted(cid for cid in gone if cid in tcp and cid not in moved and cid in conns)
        if went:
            rec["tr"] = went
        for cid in gone:
            tcp.pop(cid, None)
        tcp.update(moved)

    def _moved_tcp_info(self, infos: Mapping[str, TcpInfo], key: bool) -> _Moved:
        """The tcp_info that may differ from the last sample's, found with the source's help
        when it can (LazyTcpInfo.changes: one digest per socket, compared with the last
        sample's; only the entries that moved are decoded); otherwise every entry, decoded."""
        found = (
            infos.changes(None if key else self._trail) if isinstance(infos, LazyTcpInfo) else None
        )
        if found is None:
            self._trail = None
            return _Moved(dict(infos.items()), [], True, None, None)
        self._trail = found.trail
        since = (found.since, found.touched) if found.since is not None else None
        return _Moved(found.moved, found.gone, found.complete, since, found.trail.records)

    def _processes(self, rec: dict[str, Any], procs: Mapping[int, ProcessInfo], key: bool) -> None:
        changed = {
            str(pid): PROCESS.encode(p)
            for pid, p in procs.items()
            if key or self._procs.get(pid) != p
        }
        if changed or key:
            rec["p"] = changed
        if not key:
            gone = [pid for pid in self._procs if pid not in procs]
            if gone:
                rec["pr"] = gone
        self._procs = dict(procs)

    def _ghost_record(self, rec: dict[str, Any], snap: Snapshot, key: bool) -> None:
        actual = {g.connection.instance_id: g for g in snap.ghosts}
        predicted = next_ghosts(self._ghosts, self._removed, self._added, snap.time, self._ttl)
        if key or not _same_ghosts(predicted, actual):
            rec["g"] = [
                [CONNECTION.encode(g.connection), encode_time(g.closed_at)] for g in snap.ghosts
            ]
        self._ghosts = actual

    def _ipsec(self, rec: dict[str, Any], view: IpsecView | None, key: bool) -> None:
        if not key and view is self._view:
            return
        full = IPSEC_VIEW.encode(view) if view is not None else None
        marked = None if full is None else _mark_history(None if key else self._view_full, full)
        if key:
            rec["ip"] = marked
        elif (change := jsondelta.delta(self._view_marked, marked)) is not None:
            rec["ip"] = change
        self._view, self._view_full, self._view_marked = view, full, marked


def _get(rec: Mapping[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    if name not in rec:
        if default is ...:
            raise DecodeError(f"missing key {name!r}")
        return default
    value = rec[name]
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:
        raise DecodeError(f"key {name!r}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _key_diff(rec: Mapping[str, Any]) -> ConnectionDiff:
    """A key frame's diff against the sample before it (stored: that sample is not decoded)."""
    raw = _get(rec, "df", list, [[], [], [], []])
    if len(raw) not in (3, 4) or not all(type(part) is list for part in raw):
        raise DecodeError("key 'df': expected [added, removed, state changes, changed]")
    added, removed, changes, modified = (*raw, []) if len(raw) == 3 else raw
    if not all(type(x) is str for x in (*added, *removed, *modified)):
        raise DecodeError("key 'df': InstanceIDs must be strings")
    out: list[StateChange] = []
    for item in changes:
        if type(item) is not list or len(item) != 3 or type(item[0]) is not str:
            raise DecodeError("key 'df': a state change is [InstanceID, old, new]")
        out.append(StateChange(item[0], _STATE.decode(item[1]), _STATE.decode(item[2])))
    return ConnectionDiff(frozenset(added), frozenset(removed), tuple(out), frozenset(modified))


def _pid(text: str) -> int:
    if not text.isdigit():
        raise DecodeError(f"process key {text!r} is not a PID")
    return int(text)


class FrameDecoder:
    """Rebuilds snapshots from records (the reader's half); raises DecodeError on bad input."""

    def __init__(self, ghost_ttl_s: float) -> None:
        """``ghost_ttl_s`` from the recording's header."""
        self._ttl = ghost_ttl_s
        self.reset()

    def reset(self) -> None:
        """Forget everything (before a key frame)."""
        self._conns: Mapping[str, TcpConnection] = {}
        self._handles: dict[str, int] = {}
        self._ids: list[str] = []
        self._tcp: dict[str, TcpValues] = {}
        self._view_stale = False
        self._procs: dict[int, ProcessInfo] = {}
        self._ghosts: dict[str, Ghost] = {}
        self._privilege = Privilege()
        self._namespaces: NamespaceView | None = None
        self._interval = 1.0
        self._started: datetime | None = None
        self._source = ""
        self._view: IpsecView | None = None
        self._view_full: list[Any] | None = None
        self._view_marked: list[Any] | None = None
        self.current: Snapshot | None = None
        self.seq = 0
        self.time: datetime | None = None

    def checkpoint(self) -> dict[str, Any]:
        """The state now, to :meth:`restore` later (cheap: containers are copied on write)."""
        return dict(self.__dict__)

    def restore(self, state: dict[str, Any]) -> None:
        """Return to a :meth:`checkpoint`."""
        self.__dict__.update(state)

    def apply(self, rec: Any, *, build: bool = True) -> Snapshot | None:
        """Apply one sample record (validating every value); the snapshot when ``build``.

        State is copied on write, so a snapshot handed out is never changed afterwards and a
        sample that changed nothing costs no copying.
        """
        if type(rec) is not dict:
            raise DecodeError("a sample record must be a JSON object")
        kind = _get(rec, "k", str)
        if kind not in (KEY, DELTA):
            raise DecodeError(f"unknown record kind {kind!r}")
        key = kind == KEY
        if key:
            self.reset()
            self._started = decode_time(_get(rec, "st", int))
            self._source = _get(rec, "src", str)
        elif self._started is None:
            raise DecodeError("delta record without a preceding key frame")
        self.seq = _get(rec, "n", int)
        self.time = now = decode_time(_get(rec, "t", int))
        self._interval = _get(rec, "iv", float, self._interval)
        old = self._conns
        diff = self._apply_connections(rec, key)
        self._apply_tcp(rec, key, diff.removed)
        self._apply_processes(rec, key)
        self._apply_ghosts(rec, old, diff, now, key)
        if "pv" in rec:
            self._privilege = PRIVILEGE.decode(rec["pv"])
        if "ns" in rec:
            self._namespaces = NAMESPACES.decode(rec["ns"])
        self._apply_ipsec(rec, key, build)
        error: SourceError | None = SOURCE_ERROR.decode(rec["e"]) if "e" in rec else None
        stats: SampleStats = STATS.decode(_get(rec, "ss", list))
        stale = _get(rec, "s", bool, False)
        paused = _get(rec, "pa", bool, False)
        skipped = _get(rec, "sk", int, 0)
        if not build:
            self.current = None
            return None
        assert self._started is not None
        snap = Snapshot(
            seq=self.seq,
            time=now,
            started_at=self._started,
            source=self._source,
            interval_s=self._interval,
            connections=self._conns,
            diff=diff,
            ghosts=tuple(self._ghosts.values()),
            tcp_info=_LazyTcp(self._tcp),
            processes=self._procs,
            error=error,
            stale=stale,
            privilege=self._privilege,
            stats=stats,
            paused=paused,
            ipsec=self._view,
            skipped=skipped,
            namespaces=self._namespaces,
        )
        self.current = snap
        return snap

    def _apply_connections(self, rec: Mapping[str, Any], key: bool) -> ConnectionDiff:
        """New connection state; returns the diff against the previous sample."""
        changed = _get(rec, "c", dict)
        removed = _get(rec, "cr", list, [])
        if key:
            self._conns = {}
        elif not changed and not removed:
            return ConnectionDiff()
        old = self._conns
        conns = dict(old)
        for cid in removed:
            if type(cid) is not str or cid not in conns:
                raise DecodeError(f"removed connection {cid!r} was not there")
            del conns[cid]
        for cid, raw in changed.items():
            conn: TcpConnection = CONNECTION.decode(raw)
            if conn.instance_id != cid:
                raise DecodeError(f"connection key {cid!r} differs from its InstanceID")
            conns[cid] = conn
        self._conns = conns
        handles = _number(self._handles, changed)
        if handles is not self._handles:
            self._handles = handles
            self._ids = list(handles)
        if key:
            return _key_diff(rec)
        # The sampler's own rule over the keys this frame touched (each once, in file order).
        return diff_connections(old, conns, dict.fromkeys((*removed, *changed)))

    def _apply_tcp(self, rec: Mapping[str, Any], key: bool, removed: frozenset[str]) -> None:
        full = _get(rec, "ti", dict, {})
        steps = _unpack_steps(rec["td"]) if "td" in rec else []
        gone = _get(rec, "tr", list, [])
        if key:
            self._tcp = {}
        elif not (full or steps or gone or removed & self._tcp.keys()):
            return
        tcp = dict(self._tcp)
        for cid in (*removed, *gone):
            if type(cid) is not str:
                raise DecodeError("tcp_info removal is not an InstanceID")
            tcp.pop(cid, None)
        for cid, raw in full.items():
            tcp[cid] = _TCP_FIELDS(TCP_INFO.decode(raw))
        for handle, step in steps:
            if handle >= len(self._ids):
                raise DecodeError(f"tcp_info step for unknown connection #{handle}")
            cid = self._ids[handle]
            if cid not in tcp:
                raise DecodeError(f"tcp_info step for {cid!r} without a previous value")
            tcp[cid] = _tcp_apply(tcp[cid], step)
        self._tcp = tcp

    def _apply_processes(self, rec: Mapping[str, Any], key: bool) -> None:
        changed = _get(rec, "p", dict, {})
        gone = _get(rec, "pr", list, [])
        if not key and not changed and not gone:
            return
        procs = {} if key else dict(self._procs)
        for pid in gone:
            if type(pid) is not int:
                raise DecodeError("process removal is not a PID")
            procs.pop(pid, None)
        for text, raw in changed.items():
            pid = _pid(text)
            procs[pid] = PROCESS.decode(raw)
        self._procs = procs

    def _apply_ghosts(
        self,
        rec: Mapping[str, Any],
        old: Mapping[str, TcpConnection],
        diff: ConnectionDiff,
        now: datetime,
        key: bool,
    ) -> None:
        if "g" in rec:
            ghosts: dict[str, Ghost] = {}
            for item in _get(rec, "g", list):
                if type(item) is not list or len(item) != 2:
                    raise DecodeError("a ghost must be [connection, closed_at]")
                conn: TcpConnection = CONNECTION.decode(item[0])
                ghosts[conn.instance_id] = Ghost(conn, decode_time(item[1]))
            self._ghosts = ghosts
        elif key:
            raise DecodeError("missing key 'g'")
        elif diff.removed or diff.added or self._ghosts:
            removed = [(cid, old[cid]) for cid in diff.removed]
            self._ghosts = next_ghosts(self._ghosts, removed, diff.added, now, self._ttl)

    def _apply_ipsec(self, rec: Mapping[str, Any], key: bool, build: bool) -> None:
        """Follow the IPsec view; it is decoded (typed and checked) in key frames and when a
        snapshot is built, not for every sample skimmed by a scan or a seek."""
        if key:
            marked = rec.get("ip")
        elif "ip" in rec:
            marked = jsondelta.apply(self._view_marked, rec["ip"])
        else:
            marked = self._view_marked
            if not (build and self._view_stale):
                return
        if marked is None:
            self._view = self._view_full = self._view_marked = None
            self._view_stale = False
            return
        if key or "ip" in rec:
            self._view_full = _expand_history(None if key else self._view_full, marked)
            self._view_marked = marked
        if key or build:
            self._view = IPSEC_VIEW.decode(self._view_full)
            self._view_stale = False
        else:
            self._view_stale = True
