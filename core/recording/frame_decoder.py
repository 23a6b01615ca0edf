"""The reader's half of :mod:`core.recording.frames`: records become snapshots again.

Why it checks every value: records come from files and from a remote agent, so each value is
validated as it is applied (DecodeError on bad input); the running state is copied on write,
so a snapshot handed out never changes afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final

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
    ghost_of,
    keep_ghost_namespaces,
    namespace_index,
    next_ghosts,
)
from core.ipsec.model import IpsecView
from core.recording import jsondelta
from core.recording.codec import (
    CONNECTION,
    GHOST_NAMESPACE,
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
)
from core.recording.format import MAX_RECORDED_INTERVAL_S
from core.recording.frames import (
    DELTA,
    KEY,
    TCP_FIELDS,
    TcpValues,
    expand_history,
    tcp_apply,
    unpack_steps,
)
from core.textsafe import is_digits

_STATE: Final = codec_for("TcpState")


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
    if not is_digits(text):
        raise DecodeError(f"process key {text!r} is not a PID")
    return int(text)


class FrameDecoder:
    """Rebuilds snapshots from records (the reader's half); raises DecodeError on bad input."""

    def __init__(self, ghost_ttl_s: float, *, one_shot: bool = False) -> None:
        """``ghost_ttl_s`` from the recording's header; ``one_shot``: frames of the agent's
        single sample (``--remote connections``, ``close``), whose interval is 0."""
        self._ttl = ghost_ttl_s
        self._one_shot = one_shot
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
        self._recorded_ns: NamespaceView | None = None
        self._namespaces: NamespaceView | None = None
        """The recorded view with the gone namespaces the ghosts need (files written before
        they were recorded carry none: see :func:`keep_ghost_namespaces`)."""
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
        # 0 only in a one-shot's frame: a recording (or a stream) with it would be written
        # back with a header tcpscope refuses. NaN fails both comparisons.
        one_shot = self._one_shot and self._interval == 0
        if not (one_shot or 0 < self._interval <= MAX_RECORDED_INTERVAL_S):
            raise DecodeError(f"key 'iv': interval out of range ({self._interval})")
        old, before = self._conns, self._recorded_ns
        diff = self._apply_connections(rec, key)
        self._apply_tcp(rec, key, diff.removed)
        self._apply_processes(rec, key)
        if "pv" in rec:
            self._privilege = PRIVILEGE.decode(rec["pv"])
        if "ns" in rec:
            self._recorded_ns = NAMESPACES.decode(rec["ns"])
        self._apply_ghosts(rec, old, diff, now, key, before)
        self._namespaces = keep_ghost_namespaces(
            self._recorded_ns, self._namespaces, self._ghosts.values()
        )
        self._apply_ipsec(rec, key, build)
        error: SourceError | None = SOURCE_ERROR.decode(rec["e"]) if "e" in rec else None
        stats: SampleStats = STATS.decode(_get(rec, "ss", list))
        stale = _get(rec, "s", bool, False)
        link_down = _get(rec, "ld", str, None)
        paused = _get(rec, "pa", bool, False)
        skipped = _get(rec, "sk", int, 0)
        tcp_info_at = decode_time(_get(rec, "tt", int)) if "tt" in rec else None
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
            tcp_info_at=tcp_info_at,
            processes=self._procs,
            error=error,
            stale=stale,
            link_down=link_down,
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
        steps = unpack_steps(rec["td"]) if "td" in rec else []
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
            tcp[cid] = TCP_FIELDS(TCP_INFO.decode(raw))
        for handle, step in steps:
            if handle >= len(self._ids):
                raise DecodeError(f"tcp_info step for unknown connection #{handle}")
            cid = self._ids[handle]
            if cid not in tcp:
                raise DecodeError(f"tcp_info step for {cid!r} without a previous value")
            tcp[cid] = tcp_apply(tcp[cid], step)
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
        before: NamespaceView | None,
    ) -> None:
        """``before``: the previous sample's recorded view, which what closed in this one
        takes its namespace from (the sampler's rule, :func:`next_ghosts`)."""
        if "g" in rec:
            ghosts: dict[str, Ghost] = {}
            index = namespace_index(self._recorded_ns)
            for item in _get(rec, "g", list):
                if type(item) is not list or len(item) not in (2, 3):
                    raise DecodeError("a ghost must be [connection, closed_at(, namespace)]")
                conn: TcpConnection = CONNECTION.decode(item[0])
                ghost = ghost_of(conn, decode_time(item[1]), index)
                if len(item) == 3:  # its namespace, when this sample's view has it otherwise
                    ghost = Ghost(
                        ghost.connection, ghost.closed_at, GHOST_NAMESPACE.decode(item[2])
                    )
                ghosts[conn.instance_id] = ghost
            self._ghosts = ghosts
        elif key:
            raise DecodeError("missing key 'g'")
        elif diff.removed or diff.added or self._ghosts:
            removed = [(cid, old[cid]) for cid in diff.removed]
            self._ghosts = next_ghosts(self._ghosts, removed, diff.added, now, self._ttl, before)

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
            self._view_full = expand_history(None if key else self._view_full, marked)
            self._view_marked = marked
        if key or build:
            self._view = IPSEC_VIEW.decode(self._view_full)
            self._view_stale = False
        else:
            self._view_stale = True
