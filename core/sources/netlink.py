"""The Linux connection source: sock_diag dump + incremental PID resolver + process cache.

Why this shape: at 50k sockets a tick must cost less than ``ss -tan`` (no PIDs), so the
per-socket work for an unchanged socket is one struct unpack, one bytes slice as the key, one
dict pop and two attribute compares; the previous record object is reused. Only new or changed
sockets get address text, a record, and a PID lookup (which follows churn, see
:mod:`core.sources.pid_resolver`). tcp_info stays raw in the reply buffers and is decoded on
access (:class:`core.tcpinfo.LazyTcpInfo`).

Linux only; imported lazily by :func:`core.sources.get_source`.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from core.build import LINUX_DEFAULTS, LINUX_TCP_STATES, address_text
from core.errors import MonitorError
from core.model import OwnerStatus, TcpConnection, TcpState
from core.snapshot import Privilege
from core.sources.base import SourceSample
from core.sources.inet_diag import (
    KEY_END_CONNECTED,
    KEY_END_UNCONNECTED,
    KEY_START,
    MSG_HEAD,
    InetDiagDumper,
    tcp_info_raw,
)
from core.sources.pid_resolver import PRIVILEGE_REASON, PidResolver
from core.sources.procinfo import EXE_PRIVILEGE_REASON, ProcessCache
from core.sources.tracker import RecordTracker, SocketFacts
from core.tcpinfo import LazyTcpInfo

_STATES: Final[tuple[TcpState | None, ...]] = tuple(LINUX_TCP_STATES.get(i) for i in range(256))
_FAMILIES: Final = ((socket.AF_INET, 4, 4), (socket.AF_INET6, 6, 16))
_ADDRESS_CACHE: Final = 65536
_Pending = tuple[int, bytes, int, TcpConnection | None]
"""A new or changed socket: family, reply chunk, offset, previous record."""


class NetlinkSource:
    """MSFT_NetTCPConnection records from NETLINK_SOCK_DIAG, with owners from /proc."""

    name = "netlink"

    def __init__(
        self, *, resolve_owners: bool = True, tcp_info: bool = True, proc: str = "/proc"
    ) -> None:
        """Open the netlink socket (raises SourceUnavailable / AccessDenied).

        Args:
            resolve_owners: look up owning PIDs (False: OwnerStatus.NOT_SUPPORTED, for bench).
            tcp_info: ask the kernel for tcp_info in every dump. It costs about a quarter of
                the kernel's dump time (0.5 µs per socket here); without it
                :attr:`SourceSample.tcp_info` is empty.
            proc: procfs mount point.
        """
        # One dumper per family, so both kernel dumps run at once (see InetDiagDumper.chunks).
        self._dumpers: dict[int, InetDiagDumper] = {
            fam: InetDiagDumper(tcp_info=tcp_info) for fam, _v, _n in _FAMILIES
        }
        self._resolve = resolve_owners
        self._resolver = PidResolver(proc)
        self._procs = ProcessCache()
        self._trackers: dict[int, RecordTracker[bytes]] = {
            fam: RecordTracker(LINUX_DEFAULTS) for fam, _v, _n in _FAMILIES
        }
        self._by_iid: dict[str, TcpConnection] = {}
        self._pid_refs: Counter[int] = Counter()
        self._addresses: dict[bytes, str] = {}
        self.last_new = 0
        """New or changed sockets in the last sample (for bench)."""

    @property
    def resolver(self) -> PidResolver:
        """The PID resolver (its ``stats`` describe the last sample's lookups)."""
        return self._resolver

    def probe(self, family: int) -> None:
        """One dump of ``family`` to prove the kernel answers (raises like :meth:`sample`)."""
        self._dumpers[family].dump(family)

    def close(self) -> None:
        """Close the netlink socket and drop the caches."""
        for dumper in self._dumpers.values():
            dumper.close()
        self._by_iid = {}
        self._pid_refs.clear()

    def sample(self, now: datetime, *, first: bool) -> SourceSample:
        """One dump of every TCP socket; see :class:`core.sources.base.ConnectionSource`."""
        pending: list[_Pending] = []
        chunks: dict[int, list[bytes]] = {}
        try:
            streams = [(fam, self._dumpers[fam].chunks(fam)) for fam, _v, _n in _FAMILIES]
            for fam, stream in streams:
                chunks[fam] = self._scan(fam, stream, pending)
        except MonitorError:
            self._rollback(pending)
            raise
        vanished: list[TcpConnection] = []
        for tracker in self._trackers.values():
            vanished.extend(tracker.end().values())
        gone = [rec.inode for rec in vanished if rec.inode]
        new_inodes: list[int] = []
        for _fam, chunk, off, prev in pending:
            ino = _inode(chunk, off)
            if ino:
                new_inodes.append(ino)
            if prev is not None and prev.inode and prev.inode != ino:
                gone.append(prev.inode)
        changed = self._resolver.resolve(new_inodes, gone) if self._resolve else set()
        by_iid = self._by_iid.copy()
        for rec in vanished:
            self._unref(rec)
            if by_iid.get(rec.instance_id) is rec:
                del by_iid[rec.instance_id]
        for family, chunk, off, prev in pending:
            rec = self._settle(family, chunk, off, prev, now, first)
            if prev is not None:
                self._unref(prev)
                if by_iid.get(prev.instance_id) is prev:
                    del by_iid[prev.instance_id]
            if rec.owning_process is not None:
                self._pid_refs[rec.owning_process] += 1
            by_iid[rec.instance_id] = rec
        if changed:
            self._refresh_owners(changed, by_iid)
        self._by_iid = by_iid
        self.last_new = len(pending)
        if self._resolver.dead_pids:
            self._procs.recheck(self._resolver.dead_pids)
        processes = self._procs.update(self._pid_refs.keys())
        return SourceSample(
            connections=by_iid,
            tcp_info=LazyTcpInfo(by_iid, _TcpInfoIndex(chunks)),
            processes=processes,
            privilege=self._privilege(),
            new_owners_resolved=len(new_inodes),
        )

    def _rollback(self, pending: list[_Pending]) -> None:
        """Undo a scan that failed halfway: the next sample must start from the last good one."""
        for family, tracker in self._trackers.items():
            popped = {
                prev.source_key: prev
                for fam, _c, _o, prev in pending
                if fam == family and prev is not None
            }
            tracker.current = {**tracker.current, **tracker.previous, **popped}
            tracker.previous = {}

    # -- the hot loop --------------------------------------------------------------------

    def _scan(self, family: int, stream: Iterator[bytes], pending: list[_Pending]) -> list[bytes]:
        """Reuse unchanged records of ``family``; queue the rest in ``pending``.

        Returns the reply chunks (kept for lazy tcp_info). Per unchanged socket: one unpack,
        one slice, one pop, two compares, one store. Offsets are literals on purpose (see
        :data:`core.sources.inet_diag.MSG_HEAD`): 20..56 is the connected key, 20..68 adds
        interface and cookie for unconnected sockets.
        """
        tracker = self._trackers[family]
        tracker.begin()
        pop = tracker.previous.pop
        cur = tracker.current
        unpack = MSG_HEAD.unpack_from
        states = _STATES
        dumper = self._dumpers[family]
        chunks: list[bytes] = []
        for chunk in stream:
            chunks.append(chunk)
            limit = len(chunk) - 88
            off = 0
            while off <= limit:
                length, typ, st, dport, ino = unpack(chunk, off)
                if typ != 20:  # SOCK_DIAG_BY_FAMILY; anything else ends the walk
                    break
                key = chunk[off + 20 : off + 56] if dport else chunk[off + 20 : off + 68]
                rec = pop(key, None)
                if rec is not None and rec.inode == ino and rec.state is states[st]:
                    cur[key] = rec
                elif states[st] is None:
                    pass  # a state newer than this code: skipped, never guessed
                elif key in cur:
                    # Same tuple twice (a TIME_WAIT and its reuse): tell them apart by cookie.
                    ext = chunk[off + 20 : off + 68]
                    rec = pop(ext, None)
                    if rec is not None and rec.inode == ino and rec.state is states[st]:
                        cur[ext] = rec
                    else:
                        pending.append((family, chunk, off, rec))
                else:
                    pending.append((family, chunk, off, rec))
                off += (length + 3) & ~3
            if off < len(chunk):
                dumper.finish(chunk, off)
        return chunks

    # -- the slow path: new or changed sockets -------------------------------------------

    def _settle(
        self,
        family: int,
        chunk: bytes,
        off: int,
        prev: TcpConnection | None,
        now: datetime,
        first: bool,
    ) -> TcpConnection:
        _l, _t, st, dport, ino = MSG_HEAD.unpack_from(chunk, off)
        end = KEY_END_CONNECTED if dport else KEY_END_UNCONNECTED
        key = chunk[off + KEY_START : off + end]
        tracker = self._trackers[family]
        if key in tracker.current:
            key = chunk[off + KEY_START : off + KEY_END_UNCONNECTED]
        ver, alen = (4, 4) if family == socket.AF_INET else (6, 16)
        state = _STATES[st] or TcpState.CLOSED
        if self._resolve:
            pid, status = self._resolver.owner(ino)
        else:
            pid, status = None, OwnerStatus.NOT_SUPPORTED
        facts = SocketFacts(  # positional: this runs for every socket of the first sample
            ver,
            self._address(chunk[off + 24 : off + 24 + alen]),
            int.from_bytes(chunk[off + 20 : off + 22], "big"),
            self._address(chunk[off + 40 : off + 40 + alen]),
            int.from_bytes(chunk[off + 22 : off + 24], "big"),
            state,
            pid,
            status,
            ino,
            int.from_bytes(chunk[off + 80 : off + 84], sys.byteorder),
            key,
        )
        return tracker.settle(key, prev, facts, now, first=first)

    def _address(self, packed: bytes) -> str:
        """address_text, memoised: hosts talk to few distinct addresses, and ipaddress is slow."""
        text = self._addresses.get(packed)
        if text is None:
            if len(self._addresses) >= _ADDRESS_CACHE:
                self._addresses.clear()
            text = self._addresses[packed] = address_text(packed)
        return text

    def _refresh_owners(self, inodes: set[int], by_iid: dict[str, TcpConnection]) -> None:
        """Rare O(N) pass: owners changed for existing sockets (process died, late find)."""
        for tracker in self._trackers.values():
            cur = tracker.current
            for key, rec in cur.items():
                if rec.inode not in inodes:
                    continue
                pid, status = self._resolver.owner(rec.inode)
                if pid == rec.owning_process and status is rec.owner_status:
                    continue
                new = dataclasses.replace(rec, owning_process=pid, owner_status=status)
                self._unref(rec)
                if pid is not None:
                    self._pid_refs[pid] += 1
                cur[key] = new
                if by_iid.get(rec.instance_id) is rec:
                    by_iid[rec.instance_id] = new

    def _unref(self, rec: TcpConnection) -> None:
        pid = rec.owning_process
        if pid is not None:
            left = self._pid_refs[pid] - 1
            if left > 0:
                self._pid_refs[pid] = left
            else:
                del self._pid_refs[pid]

    def _privilege(self) -> Privilege:
        hidden: list[str] = []
        if self._resolver.denied_pids:
            hidden.append(PRIVILEGE_REASON)
        if self._procs.any_denied:
            hidden.append(EXE_PRIVILEGE_REASON)
        return Privilege(tuple(hidden))


def _inode(chunk: bytes, off: int) -> int:
    return int.from_bytes(chunk[off + 84 : off + 88], sys.byteorder)


class _TcpInfoIndex:
    """Finds a record's raw tcp_info in the sample's reply chunks (for LazyTcpInfo).

    The key → message index is built on the first lookup only, so a tick whose tcp_info
    nobody reads never pays for it.
    """

    __slots__ = ("_chunks", "_index")

    def __init__(self, chunks: dict[int, list[bytes]]) -> None:
        self._chunks = chunks
        self._index: dict[tuple[int, bytes], tuple[bytes, int]] | None = None

    def __call__(self, conn: object) -> bytes | None:
        if not isinstance(conn, TcpConnection):
            return None
        if self._index is None:
            self._index = self._build()
        fam = socket.AF_INET if conn.family == 4 else socket.AF_INET6
        where = self._index.get((fam, conn.source_key))
        return tcp_info_raw(*where) if where is not None else None

    def _build(self) -> dict[tuple[int, bytes], tuple[bytes, int]]:
        index: dict[tuple[int, bytes], tuple[bytes, int]] = {}
        for fam, chunks in self._chunks.items():
            for chunk in chunks:
                limit = len(chunk) - 88
                off = 0
                while off <= limit:
                    length, typ, _st, dport, _ino = MSG_HEAD.unpack_from(chunk, off)
                    if typ != 20:
                        break
                    key = chunk[off + 20 : off + 56] if dport else chunk[off + 20 : off + 68]
                    if (fam, key) in index:
                        key = chunk[off + 20 : off + 68]
                    index[(fam, key)] = (chunk, off)
                    off += (length + 3) & ~3
        return index


def is_root() -> bool:
    """Effective uid 0 (the usual way to hold CAP_SYS_PTRACE / CAP_DAC_READ_SEARCH)."""
    return os.geteuid() == 0
