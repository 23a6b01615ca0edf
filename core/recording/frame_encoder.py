"""The writer's half of :mod:`core.recording.frames`: consecutive snapshots become key-frame
and delta records.

Why it keeps state: a delta holds what changed since the last record, so the encoder holds
what the decoder will hold (connections, their numbers, tcp_info, processes, ghosts, the IPsec
view) and writes only the difference.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from core.connections.model import ProcessInfo, TcpConnection, TcpInfo
from core.connections.namespaces import NamespaceInfo, NamespaceView
from core.connections.snapshot import (
    Ghost,
    Privilege,
    Snapshot,
    namespace_index,
    next_ghosts,
)
from core.connections.tcpinfo import LazyTcpInfo
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
    encode_time,
)
from core.recording.frames import DELTA, KEY, mark_history, pack_steps, tcp_step


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
        if snap.tcp_info_at is not None:
            rec["tt"] = encode_time(snap.tcp_info_at)
        if snap.error is not None:
            rec["e"] = SOURCE_ERROR.encode(snap.error)
        if snap.stale:
            rec["s"] = True
        if snap.link_down is not None:
            rec["ld"] = snap.link_down
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
            if old is None or (step := tcp_step(old, info)) is None:
                full[cid] = TCP_INFO.encode(info)
            else:
                steps.append((self._handles[cid], step))
        if full or key:
            rec["ti"] = full
        if steps:
            rec["td"] = pack_steps(steps)
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
        predicted = next_ghosts(
            self._ghosts, self._removed, self._added, snap.time, self._ttl, self._namespaces
        )
        if key or not _same_ghosts(predicted, actual):
            rec["g"] = _ghost_items(snap.ghosts, namespace_index(snap.namespaces))
        self._ghosts = actual

    def _ipsec(self, rec: dict[str, Any], view: IpsecView | None, key: bool) -> None:
        if not key and view is self._view:
            return
        full = IPSEC_VIEW.encode(view) if view is not None else None
        marked = None if full is None else mark_history(None if key else self._view_full, full)
        if key:
            rec["ip"] = marked
        elif (change := jsondelta.delta(self._view_marked, marked)) is not None:
            rec["ip"] = change
        self._view, self._view_full, self._view_marked = view, full, marked


def _ghost_items(
    ghosts: tuple[Ghost, ...], index: Mapping[int, NamespaceInfo] | None
) -> list[list[Any]]:
    """``[connection, closed_at]``, and the ghost's namespace after them when the reader
    would not take it from this sample's view (``index``; see :func:`ghost_of`): its key
    names another namespace by now (a number reused), or none.

    In closing order, those that closed in one sample by InstanceID: the sampler adds them in
    set order, which follows PYTHONHASHSEED, and the same demo recorded twice differed."""
    out: list[list[Any]] = []
    for g in sorted(ghosts, key=lambda g: (g.closed_at, g.connection.instance_id)):
        item = [CONNECTION.encode(g.connection), encode_time(g.closed_at)]
        netns, own = g.connection.netns, g.namespace
        if (own is not None or netns is not None) and own != (
            None if netns is None or index is None else index.get(netns)
        ):
            item.append(GHOST_NAMESPACE.encode(own))
        out.append(item)
    return out


def _same_ghosts(a: Mapping[str, Ghost], b: Mapping[str, Ghost]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a)
