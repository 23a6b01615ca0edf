"""The Linux connection source: sock_diag dump + incremental PID resolver + process cache.

Why this shape: at 50k sockets a tick must cost less than ``ss -tan`` (no PIDs) and a tenth of
``ss -tanp``, and the kernel's dump alone is most of that. So:

* one dump walks the kernel's TCP tables once for both families (the compat request, see
  :data:`core.connections.sources.inet_diag.TCPDIAG_GETSOCK`), read by a thread while Python walks;
* the Python walk reads a run of like messages in a few C calls: the message's stable bytes
  become its key (:data:`core.connections.sources.inet_diag.SOCKET_KEY`,
  :mod:`core.connections.sources.reply_walk`);
* which sockets are new, changed or gone comes from comparing each reply's keys, in order and
  in C, with the last dump's (:mod:`core.connections.sources.dump_diff`), while the kernel fills
  the next
  reply; the previous record object is reused for every unchanged key;
* only changed keys get address text, a record and a PID lookup (which follows churn, see
  :mod:`core.connections.sources.pid_resolver`);
* tcp_info is asked for in every dump only when every socket's is wanted (``connections
  --json``, recordings); a live UI asks for the few connections on screen
  (:meth:`NetlinkSource.watch`), one exact query each.

Linux only; imported lazily by :func:`core.connections.sources.get_source`.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import compress, islice, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Final, Protocol, cast

from core.connections.first_page import FirstPage, PageRequest, first_rows
from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.records import (
    LINUX_DEFAULTS,
    LINUX_TCP_STATES,
    address_text,
    build_connection,
    finish_connection,
    linux_state,
    start_connection,
    successor_generation,
    with_zone,
)
from core.connections.snapshot import Privilege
from core.connections.sources.base import Endpoints, SourceSample, observed_after
from core.connections.sources.bound_walk import BoundWalk
from core.connections.sources.dump_diff import KeyRuns, OrderedDiff
from core.connections.sources.early_starts import EarlyStarts
from core.connections.sources.fd_scan import scanned
from core.connections.sources.inet_diag import (
    MSG_MIN,
    MSG_TYPE,
    InetDiagDumper,
    queues_at,
    reply_type,
    sockid_of,
    tcp_info_raw,
    tcp_info_span,
)
from core.connections.sources.info_digest import (
    Digest,
    DigestTrail,
    InfoChanges,
    KeptReply,
    info_changes,
    info_digests,
    inode_digests,
)
from core.connections.sources.pid_resolver import PRIVILEGE_REASON, PidResolver
from core.connections.sources.procinfo import EXE_PRIVILEGE_REASON, ProcessCache
from core.connections.sources.reply_walk import ReplyWalker
from core.connections.sources.tracker import SocketFacts, next_record
from core.connections.tcpinfo import LazyTcpInfo, TcpInfoValues, tcp_info_values
from core.errors import MonitorError

if TYPE_CHECKING:
    from core.connections.namespaces import NamespaceView

_STATES: Final[tuple[TcpState | None, ...]] = tuple(LINUX_TCP_STATES.get(i) for i in range(256))
_ADDRESS_CACHE: Final = 65536
_PROGRESS_STEP: Final = 8192
"""Records a first sample builds between two steps of its progress (see ``progress``)."""
_ZERO_PORT: Final = b"\0\0"
_SCAN_SLICE: Final = 16384
"""Records looked at per C call when owners change (about a millisecond each)."""
_INODE_OF: Final = attrgetter("inode")
DUMP_MODES: Final = ("unspec", "per-family")
"""``unspec``: one compat dump for both families; ``per-family``: one v2 dump each (kernels
or sandboxes that refuse the compat request)."""

# Layout of a key (SOCKET_KEY's three slices): family 0, state 1, sockid 2..50 (sport 2, dport 4,
# src 6, dst 22, interface 38, cookie 42), uid 50, inode 54.
_SOCKID = slice(2, 50)
_TUPLE = slice(2, 42)
"""sport, dport, src, dst, interface: a connected socket's identity, kept across the
TIME_WAIT swap."""
_COOKIE = slice(42, 50)
"""The socket cookie inside a key (a record's source_key is its socket's key)."""
_DPORT = slice(4, 6)
_PORTS: Final = itemgetter(slice(2, 6))
"""A key's local and remote port, big-endian: ordered as the State sort orders them."""
_CODE: Final = itemgetter(1)
_TCP_CLOSE: Final = 7
_KEY_SIZE: Final = 58
"""A key's length without a namespace; core.netns appends the key of any other one."""
_KEY_FIELDS: Final = struct.Struct("=BB4x16s16sI8xII")
"""family, state, src, dst, interface, uid, inode of a key, in one unpack."""
_KEY_PORTS: Final = struct.Struct(">2xHH")
_INODE: Final = struct.Struct("=54xI")
"""sport, dport of a key (network order)."""
_UID: Final = struct.Struct("=50xI")
"""The uid of a key's socket."""


class NamespaceDumps(Protocol):
    """Dumps of several network namespaces in one sample (see core.netns.reader)."""

    families: tuple[int, ...]
    """Address families of each dump (AF_UNSPEC: one compat dump), set by the source."""

    @property
    def reads_all(self) -> bool:
        """Whether it stands for ``--netns all`` (see core.connections.sources.get_source)."""
        ...

    def dump(
        self,
        feed: Callable[[list[bytes]], None],
        keep: list[KeptReply] | None,
        walk: BoundWalk,
    ) -> None:
        """Like one sample's dumps: each reply's keys to ``feed``, the replies to ``keep``.
        Keys of sockets outside tcpscope's namespace end with that namespace's inode. The
        dumps ask for ``walk.states`` and go through ``walk.splice``."""
        ...

    def query_dumper(self, netns: int | None) -> InetDiagDumper | None:
        """A dumper for exact queries in ``netns`` (None: tcpscope's own), if it has one."""
        ...

    def interface_name(self, netns: int, ifindex: int) -> str | None:
        """The name of interface ``ifindex`` inside ``netns`` (None: not known)."""
        ...

    def view(self) -> NamespaceView:
        """The namespaces the last :meth:`dump` looked at."""
        ...

    def settle(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for the names being looked up (one-shot commands)."""
        ...

    def close(self) -> None:
        """Close every socket opened in other namespaces."""
        ...


class NetlinkSource:
    """MSFT_NetTCPConnection records from NETLINK_SOCK_DIAG, with owners from /proc."""

    name = "netlink"

    def __init__(
        self,
        *,
        resolve_owners: bool = True,
        tcp_info: bool = True,
        proc: str = "/proc",
        dump: str = "unspec",
        namespaces: NamespaceDumps | None = None,
    ) -> None:
        """Open the netlink socket (raises SourceUnavailable / AccessDenied).

        Args:
            resolve_owners: look up owning PIDs (False: OwnerStatus.NOT_SUPPORTED, for bench).
            tcp_info: ask the kernel for every socket's tcp_info in every dump (about a fifth
                of the kernel's dump time, and the replies are kept for lazy decoding).
                False: :attr:`SourceSample.tcp_info` holds only the watched connections'.
            proc: procfs mount point.
            dump: one of :data:`DUMP_MODES`.
            namespaces: dump these network namespaces instead of tcpscope's own.
        """
        if dump not in DUMP_MODES:
            raise ValueError(f"dump must be one of {DUMP_MODES}, got {dump!r}")
        self._tcp_info = tcp_info
        self.tcp_info_on_demand = not tcp_info
        """True: samples carry tcp_info only for :attr:`watched` (see TcpInfoOnDemand)."""
        self._dumpers: dict[int, InetDiagDumper] = {}
        self._namespaces = namespaces
        self.dump_mode = dump
        self._open_dumpers()
        self._query: InetDiagDumper | None = None
        self._query_lock = threading.Lock()
        self._resolve = resolve_owners
        self._resolver = PidResolver(proc)
        self._procs = ProcessCache()
        self._by_key: dict[bytes, TcpConnection] = {}
        self._order = KeyRuns()
        """Every key of the last dump in the kernel's order (``_by_key``'s, plus sockets in
        unknown states)."""
        self._by_iid: dict[str, TcpConnection] = {}
        self._pid_refs: Counter[int] = Counter()
        self._addresses: dict[bytes, str] = {}
        self.watched: frozenset[str] = frozenset()
        """InstanceIDs whose tcp_info each sample asks for when tcp_info is not dumped."""
        self.last_new = 0
        """New or changed sockets in the last sample (for bench)."""
        self._replies = 0
        self._built = 0
        self.between_steps: Callable[[], None] = _no_wait
        """Called between two replies of a dump, and by the dump's readers before each read
        (the sampler's :class:`GivesWay` hook)."""
        self.bound_walk = BoundWalk()
        """Whether a sample walks the kernel's bind table (see its module)."""

    @property
    def progress(self) -> tuple[int, ...]:
        """Grows while a sample works (replies read, records made, /proc reads): the sampler
        tells a slow sample (a first one at 250k sockets) from a hung one by it."""
        stats = self._resolver.stats
        return (self._replies, self._built, stats.listdirs, stats.readlinks, scanned())

    def _open_dumpers(self) -> None:
        for dumper in self._dumpers.values():
            dumper.close()
        families = (
            (socket.AF_UNSPEC,) if self.dump_mode == "unspec" else (socket.AF_INET, socket.AF_INET6)
        )
        # One dumper per family, so per-family dumps run at once (InetDiagDumper.chunks).
        self._dumpers = {fam: InetDiagDumper(tcp_info=self._tcp_info) for fam in families}
        self._walker = ReplyWalker(digests=self._tcp_info)
        if self._namespaces is not None:
            self._namespaces.families = families

    @property
    def namespaces(self) -> NamespaceDumps | None:
        """The namespaces read besides (or instead of) tcpscope's own, if any."""
        return self._namespaces

    @property
    def resolver(self) -> PidResolver:
        """The PID resolver (its ``stats`` describe the last sample's lookups)."""
        return self._resolver

    def probe(self) -> None:
        """One dump to prove the kernel answers; falls back to per-family dumps once.

        The dump asks for no State: the kernel accepts or refuses the request as it would a
        full one, but walks no socket (at 50k sockets a full probe dump cost the app's first
        frame 0.1-0.2 s).

        Raises like :meth:`sample` when neither kind of dump works.
        """
        try:
            for fam, dumper in self._dumpers.items():
                dumper.dump(fam, states=0)
        except MonitorError:
            if self.dump_mode == "per-family":
                raise
            self.dump_mode = "per-family"
            self._open_dumpers()
            self.probe()

    def close(self) -> None:
        """Close the netlink sockets and drop the caches."""
        for dumper in self._dumpers.values():
            dumper.close()
        if self._query is not None:
            self._query.close()
        if self._namespaces is not None:
            self._namespaces.close()
        self._resolver.close()
        self._by_key = {}
        self._order = KeyRuns()
        self._by_iid = {}
        self._pid_refs.clear()

    def watch(self, instance_ids: Collection[str]) -> None:
        """Ask for these connections' tcp_info in every sample (thread-safe: one store)."""
        self.watched = frozenset(instance_ids)

    def tcp_info_of(self, conns: Collection[TcpConnection]) -> dict[str, bytes]:
        """Raw tcp_info of ``conns`` now, one exact query each (callable from any thread)."""
        out: dict[str, bytes] = {}
        with self._query_lock:
            for conn in conns:
                sockid = sockid_of(conn.source_key)
                if sockid is None:
                    continue
                query = self._query_dumper(conn.netns)
                if query is None:
                    continue
                fam = socket.AF_INET if conn.family == 4 else socket.AF_INET6
                raw = query.tcp_info_of(fam, sockid)
                if raw is not None:
                    out[conn.instance_id] = raw
        return out

    def _query_dumper(self, netns: int | None) -> InetDiagDumper | None:
        if netns is not None and self._namespaces is not None:
            return self._namespaces.query_dumper(netns)
        if self._query is None:
            self._query = InetDiagDumper(tcp_info=True)
        return self._query

    # -- one sample ----------------------------------------------------------------------

    def sample_paged(
        self, now: datetime, request: PageRequest, publish: Callable[[FirstPage], None]
    ) -> SourceSample:
        """A first sample that publishes its first page once the dump is parsed (see
        :class:`core.connections.sources.base.PagesFirst`)."""
        return self.sample(now, first=True, page=(request, publish))

    def sample_meanwhile(
        self, now: datetime, meanwhile: Callable[[Sequence[Endpoints]], None]
    ) -> SourceSample:
        """A first sample that shows its records to ``meanwhile`` while the owners load (see
        :class:`core.connections.sources.base.OwnersWait`)."""
        return self.sample(now, first=True, meanwhile=meanwhile)

    def sample(
        self,
        now: datetime,
        *,
        first: bool,
        page: tuple[PageRequest, Callable[[FirstPage], None]] | None = None,
        meanwhile: Callable[[Sequence[Endpoints]], None] | None = None,
    ) -> SourceSample:
        """One dump of every TCP socket; see
        :class:`core.connections.sources.base.ConnectionSource`."""
        prev = self._by_key
        diff = OrderedDiff(self._order, prev, lambda key: prev[key].source_key)
        chunks: list[KeptReply] = []
        if self._resolve:
            self._resolver.prefetch()  # the first sample's /proc scan, beside the dump
        states = self.bound_walk.plan(first, len(self._order))
        # A steady sample starts its new sockets' records during the dump (see early_starts).
        early = EarlyStarts(diff.added_so_far, partial(self._start, first=first))
        steady = bool(prev) and self._resolve
        self._dump(early.after(diff.feed) if steady else diff.feed, chunks, states)
        # Nothing above touched the source's state: a failed dump leaves the last sample whole.
        order, added, gone, clean = diff.finish()
        if clean:
            gone = [k for k in gone if k in prev]
        else:
            # The kernel listed a socket twice (its hash chain changed between two replies).
            # Rare: dump again and compare whole sets.
            listed: list[bytes] = []
            chunks = []
            self._dump(listed.extend, chunks, states)
            seen = dict.fromkeys(listed)
            # The records' key objects, not this dump's copies (one bytes object a socket).
            keys = [prev[k].source_key if k in prev else k for k in seen]
            added = [k for k in keys if k not in prev]
            order = KeyRuns.of(keys)
            gone = [k for k in prev if k not in seen]
        self.bound_walk.done()
        if added and (claimed := self.bound_walk.claimed(added)):
            # Bound sockets put back from the last walk that listen or connect by now.
            drop = set(claimed)
            order = KeyRuns.of([k for k in order if k not in drop])
            gone += [k for k in claimed if k in prev]
        now = observed_after(now)
        if page is not None:
            page[1](self._first_page(order, now, page[0]))
        self._order = order
        pending, vanished = _match(added, [prev[k] for k in gone])
        for k in gone:
            del prev[k]  # private: changed in place, unlike by_iid (snapshots hold it)
        before = self._by_iid
        by_iid = before.copy() if pending or gone else before
        touched: set[str] = set()
        by_iid, looked_up = self._apply(
            pending, vanished, by_iid, now, first, touched, early.started, meanwhile
        )
        self._by_iid = by_iid
        self.last_new = len(pending)
        if self._resolver.dead_pids:
            self._procs.recheck(self._resolver.dead_pids)
        processes = self._procs.update(self._pid_refs.keys())
        if self._tcp_info:
            infos = LazyTcpInfo(by_iid, _TcpInfoIndex(chunks, touched, before))
        else:
            watched = [by_iid[i] for i in self.watched if i in by_iid]
            infos = LazyTcpInfo(self.tcp_info_of(watched) if watched else {})
        return SourceSample(
            connections=by_iid,
            tcp_info=infos,
            processes=processes,
            privilege=self._privilege(),
            new_owners_resolved=looked_up,
            observed_at=now,
            touched=frozenset(touched),
            namespaces=self._namespaces.view() if self._namespaces is not None else None,
        )

    def _dump(
        self, feed: Callable[[list[bytes]], None], chunks: list[KeptReply], states: int
    ) -> None:
        """Dump every socket in ``states``: hand each reply's keys to ``feed``, in the kernel's
        order (with the bound sockets of the last walk put back, see ``bound_walk``), and keep
        the replies in ``chunks`` when tcp_info is in them.

        The hot loop: a few C calls per run of like messages (reply_walk); ``feed`` runs per
        reply while the reader thread waits for the kernel's next one.
        """
        keep = chunks if self._tcp_info else None
        if self._namespaces is not None:

            def counted(found: list[bytes]) -> None:
                self._replies += 1
                feed(found)
                self.between_steps()

            self._namespaces.dump(counted, keep, self.bound_walk)
            return
        wait = self.between_steps  # the readers wait too while the UI answers a key
        streams = [
            (fam, dumper, dumper.chunks(fam, states, wait)) for fam, dumper in self._dumpers.items()
        ]
        splice = self.bound_walk.splice
        for family, dumper, stream in streams:
            for found in splice(family, reply_keys(family, dumper, stream, keep, self._walker)):
                self._replies += 1
                feed(found)
                self.between_steps()

    def _first_page(self, order: KeyRuns, now: datetime, request: PageRequest) -> FirstPage:
        """The rows that sort first, built from the dump's keys alone (owners not looked up).

        Counting and picking run over the keys' bytes in C where they can: at 50k sockets a
        Python call per key would cost more than the rest of the page.
        """
        codes = bytes(map(_CODE, order))
        counts: Counter[TcpState] = Counter()
        for code, state in LINUX_TCP_STATES.items():
            counts[state] += codes.count(code)
        closed = [k for k in order if k[1] == _TCP_CLOSE] if codes.count(_TCP_CLOSE) else []
        bound = [k for k in closed if k[_DPORT] == _ZERO_PORT]  # Bound: see linux_state
        counts[TcpState.CLOSED] -= len(bound)
        counts[TcpState.BOUND] += len(bound)
        counts = +counts  # States with sockets only

        def keys_in(state: TcpState) -> Callable[[], list[bytes]]:
            if state is TcpState.CLOSED:
                return lambda: [k for k in closed if k[_DPORT] != _ZERO_PORT]
            wanted = bytes(c for c, s in LINUX_TCP_STATES.items() if s is state and c != _TCP_CLOSE)
            return lambda: (
                [k for k in order if k[1] in wanted] + (bound if state is TcpState.BOUND else [])
            )

        states = sorted(counts, key=int, reverse=request.reverse)
        rows = first_rows(
            [(counts[s], keys_in(s)) for s in states],
            _PORTS,
            lambda k: self._settle(k, None, now, True, True),
            request,
        )
        return FirstPage(rows, counts.total(), dict(counts), request.reverse)

    # -- the slow path: new, changed and gone sockets ------------------------------------

    def _apply(
        self,
        pending: list[tuple[bytes, TcpConnection | None]],
        vanished: list[TcpConnection],
        by_iid: dict[str, TcpConnection],
        now: datetime,
        first: bool,
        touched: set[str],
        early_starts: dict[bytes, object],
        meanwhile: Callable[[Sequence[Endpoints]], None] | None = None,
    ) -> tuple[dict[str, TcpConnection], int]:
        """Resolve owners for the changed sockets, then store their records.

        Runs every sample, changes or not: the resolver also notices owners that died.
        ``by_iid`` must be a fresh copy when ``pending`` or ``vanished`` is not empty.
        Returns the records by InstanceID (copied first if only owners changed) and how many
        socket owners were looked up; adds every InstanceID it added, replaced or dropped to
        ``touched`` (the sample's diff is worked out from those alone). ``early_starts``:
        new keys' records started during the dump (see early_starts), for new sockets.
        ``meanwhile``: shown a first sample's records before the owner lookup (OwnersWait).
        """
        by_key = self._by_key
        keys = [key for key, _prev in pending]
        inodes = [ino for (ino,) in map(_INODE.unpack_from, keys)]
        # A first sample: every socket is new, stored in bulk, in the same order. Its records
        # are built before the owner lookup, which waits for the owner scan running on the
        # other core (fd_scan.ForkedScan), and given their owners after it.
        bulk = not by_key and not vanished
        hidden = self._resolver.hidepid is not None
        started = self._start_all(keys, first) if bulk and self._resolve else None
        if meanwhile is not None and started is not None:
            meanwhile(cast(list[Endpoints], started))
        gone_inodes = [rec.inode for rec in vanished if rec.inode]
        new_inodes = [ino for ino in inodes if ino]
        for (_key, prev), ino in zip(pending, inodes, strict=True):
            if prev is not None and prev.inode and prev.inode != ino:
                gone_inodes.append(prev.inode)
        changed = self._resolver.resolve(new_inodes, gone_inodes) if self._resolve else set()
        for rec in vanished:
            self._unref(rec)
            if by_iid.get(rec.instance_id) is rec:
                del by_iid[rec.instance_id]
                touched.add(rec.instance_id)
        if bulk:
            if started is not None:
                # (uids only where hidepid hides other users' owners: see PidResolver.owner)
                uids = [uid for (uid,) in map(_UID.unpack_from, keys)] if hidden else None
                owners = self._resolver.ownerships(inodes, uids)
                recs = list(map(finish_connection, started, *owners, repeat(now)))
            else:
                settle = self._settle
                recs = []
                for start in range(0, len(keys), _PROGRESS_STEP):
                    recs += [
                        settle(key, None, now, first)
                        for key in keys[start : start + _PROGRESS_STEP]
                    ]
                    self._built += 1
            iids = [rec.instance_id for rec in recs]
            touched.update(iids)
            self._pid_refs.update(r.owning_process for r in recs if r.owning_process is not None)
            by_iid.update(zip(iids, recs, strict=True))
            by_key.update(zip(keys, recs, strict=True))
            pending, inodes = [], []
        ownership = self._resolver.ownership
        for (key, prev), ino in zip(pending, inodes, strict=True):
            early = early_starts.get(key) if prev is None else None
            if early is not None:
                uid = _UID.unpack_from(key)[0] if hidden else None
                rec = finish_connection(early, *ownership(ino, uid), now)
            else:
                rec = self._settle(key, prev, now, first)
            self._built += 1
            held = by_iid.get(rec.instance_id)
            if held is not None and held is not rec and held is not prev:
                rec = _successor(rec, now)
            touched.add(rec.instance_id)
            if prev is not None:
                self._unref(prev)
                if by_iid.get(prev.instance_id) is prev:
                    del by_iid[prev.instance_id]
                    touched.add(prev.instance_id)
            if rec.owning_process is not None:
                self._pid_refs[rec.owning_process] += 1
            by_iid[rec.instance_id] = rec
            by_key[key] = rec
        if changed:
            if by_iid is self._by_iid:
                by_iid = by_iid.copy()
            touched.update(self._refresh_owners(changed, by_key, by_iid))
        return by_iid, len(new_inodes)

    def _start_all(self, keys: list[bytes], first: bool) -> list[object]:
        """Every key's record without its owner (records.start_connection), in order."""
        start = self._start
        started: list[object] = []
        for at in range(0, len(keys), _PROGRESS_STEP):
            started += [start(key, first) for key in keys[at : at + _PROGRESS_STEP]]
            self._built += 1
        return started

    def _settle(
        self,
        key: bytes,
        prev: TcpConnection | None,
        now: datetime,
        first: bool,
        resolving: bool = False,
    ) -> TcpConnection:
        family, laddr, lport, raddr, rport, state, ino, uid, ifindex, netns = self._facts(key)
        if self._resolve and not resolving:
            pid, status, holders, ino = self._resolver.ownership(ino, uid)  # (its int object)
        else:  # not looked up yet (a first page), or never
            status = OwnerStatus.RESOLVING if self._resolve else OwnerStatus.NOT_SUPPORTED
            pid, holders = None, ()
        if prev is None:  # a new socket: its record at once
            return build_connection(
                family, laddr, lport, raddr, rport, state, pid, status, now, first,
                LINUX_DEFAULTS, ino, uid, key, None, None, ifindex, "", holders, netns,
            )  # fmt: skip
        facts = SocketFacts(  # positional, in the NamedTuple's order
            family, laddr, lport, raddr, rport, state, pid, status, ino, uid,
            key, None, None, ifindex, holders, netns,
        )  # fmt: skip
        same = _continues(prev, key, state)
        return next_record(prev, facts, now, first=first, defaults=LINUX_DEFAULTS, same=same)

    def _start(self, key: bytes, first: bool) -> object:
        """A new socket's record of ``key`` without its owner and CreationTime
        (records.start_connection)."""
        family, laddr, lport, raddr, rport, state, ino, uid, ifindex, netns = self._facts(key)
        return start_connection(
            family, laddr, lport, raddr, rport, state, first, LINUX_DEFAULTS, ino, uid, key,
            ifindex, netns,
        )  # fmt: skip

    def _facts(
        self, key: bytes
    ) -> tuple[int, str, int, str, int, TcpState, int, int, int, int | None]:
        """A dump key's family, endpoints, State, inode, uid, ifindex and namespace."""
        fam, code, src, dst, ifindex, uid, ino = _KEY_FIELDS.unpack_from(key)
        lport, rport = _KEY_PORTS.unpack_from(key)
        lport, rport = _SHARED[lport] or _shared(lport), _SHARED[rport] or _shared(rport)
        v4 = fam == socket.AF_INET
        if v4:
            src, dst = src[:4], dst[:4]
        known = self._addresses
        laddr = known.get(src) or self._address(src)
        raddr = known.get(dst) or self._address(dst)
        netns = (
            int.from_bytes(key[_KEY_SIZE:], sys.byteorder, signed=True)
            if len(key) > _KEY_SIZE
            else None
        )
        if ifindex and not v4:  # a link-local address needs its zone (rare: no cost else)
            zone = self._zone(ifindex, netns)
            laddr, raddr = with_zone(laddr, zone), with_zone(raddr, zone)
        state = _STATES[code] or TcpState.CLOSED
        if state is TcpState.CLOSED and not rport:
            state = linux_state(code, rport) or state
        return 4 if v4 else 6, laddr, lport, raddr, rport, state, ino, _shared(uid), ifindex, netns

    def _zone(self, ifindex: int, netns: int | None) -> str:
        """The interface name of a link-local address's zone in the socket's namespace (its
        index if it has no name any more), as ``ss`` run there shows it."""
        if netns is not None and self._namespaces is not None:
            return self._namespaces.interface_name(netns, ifindex) or str(ifindex)
        try:
            return socket.if_indextoname(ifindex)
        except OSError:
            return str(ifindex)

    def _address(self, packed: bytes) -> str:
        """address_text, memoised: hosts talk to few distinct addresses, and ipaddress is slow."""
        text = self._addresses.get(packed)
        if text is None:
            if len(self._addresses) >= _ADDRESS_CACHE:
                self._addresses.clear()
            text = self._addresses[packed] = address_text(packed)
        return text

    def _refresh_owners(
        self, inodes: set[int], by_key: dict[bytes, TcpConnection], by_iid: dict[str, TcpConnection]
    ) -> list[str]:
        """Rare O(N) pass: owners changed for existing sockets (process died, late find).

        The records of those inodes are picked out in C, a slice at a time: a list of every
        (key, record) pair made 262k tuples at 250k sockets, which young collections on the
        UI thread then walked (50-100 ms a pass, measured), and one C call over all the
        records would hold the interpreter lock through a key press.

        Returns the InstanceIDs whose record was replaced."""
        matched: list[bytes] = []
        keys, recs, wanted = iter(by_key), iter(by_key.values()), inodes.__contains__
        for _ in range(0, len(by_key), _SCAN_SLICE):
            part = map(wanted, map(_INODE_OF, islice(recs, _SCAN_SLICE)))
            matched += compress(islice(keys, _SCAN_SLICE), part)
        replaced: list[str] = []
        for key in matched:
            rec = by_key[key]
            if rec.inode not in inodes:  # (never: it was picked by its inode)
                continue
            pid, status = self._resolver.owner(rec.inode, rec.uid)
            holders = self._resolver.holders(rec.inode)
            if pid == rec.owning_process and status is rec.owner_status and holders == rec.holders:
                continue
            new = dataclasses.replace(rec, owning_process=pid, owner_status=status, holders=holders)
            self._unref(rec)
            if pid is not None:
                self._pid_refs[pid] += 1
            by_key[key] = new
            if by_iid.get(rec.instance_id) is rec:
                by_iid[rec.instance_id] = new
                replaced.append(rec.instance_id)
        return replaced

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
        hidepid = self._resolver.hidepid
        if hidepid is not None:
            hidden.append(hidepid.reason())  # (it says what reading the fd tables needs too)
        elif self._resolver.owners_denied:  # (a socket's, not only some table's)
            hidden.append(PRIVILEGE_REASON)
        if self._procs.any_denied:
            hidden.append(EXE_PRIVILEGE_REASON)
        if self._namespaces is not None:
            hidden.extend(self._namespaces.view().notes())
        return Privilege(tuple(hidden))


def reply_keys(
    family: int,
    dumper: InetDiagDumper,
    stream: Iterable[bytes],
    keep: list[KeptReply] | None,
    walker: ReplyWalker,
) -> Iterator[list[bytes]]:
    """Each reply's socket keys, in the kernel's order; the replies (with the digests
    ``walker`` took) go to ``keep`` if given.

    ``stream`` is ``dumper.chunks(family)``, started by the caller (so several dumps can run
    at once); ``walker`` reads a run of like messages at a time (see
    :mod:`core.connections.sources.reply_walk`).
    """
    want = reply_type(family)
    for chunk in stream:
        found, digests, off = walker.walk(want, chunk)
        if keep is not None:
            keep.append((family, chunk, digests))
        if off < len(chunk):
            dumper.finish(chunk, off)
        yield found


def _no_wait() -> None:
    """No pause between two replies (no sampler asked for one)."""


def _netns(key: bytes) -> int | None:
    """The namespace key a key ends with (core.netns appends it, signed), or None."""
    if len(key) <= _KEY_SIZE:
        return None
    return int.from_bytes(key[_KEY_SIZE:], sys.byteorder, signed=True)


def _match(
    added: Collection[bytes], gone: list[TcpConnection]
) -> tuple[list[tuple[bytes, TcpConnection | None]], list[TcpConnection]]:
    """Pair each new key with the gone record of the same socket, if any.

    A socket that keeps its sockid (cookie included) changed State, inode or uid; a TIME_WAIT
    minisock inherits its socket's cookie here. Failing that, a connected socket is matched
    by its 4-tuple: a request socket becomes a full one under a new cookie, and a kernel may
    give a TIME_WAIT minisock a cookie of its own. Returns (key, previous record or None)
    pairs and the records left over, which closed.
    """
    if not gone:
        return [(key, None) for key in added if _STATES[key[1]] is not None], []
    by_sockid = {(rec.source_key[_SOCKID], rec.netns): rec for rec in gone}
    by_tuple = {(rec.source_key[_TUPLE], rec.netns): rec for rec in gone if rec.remote_port}
    claimed: set[int] = set()
    pending: list[tuple[bytes, TcpConnection | None]] = []
    unmatched: list[bytes] = []
    for key in added:
        if _STATES[key[1]] is None:
            continue  # a state newer than this code: skipped, never guessed
        rec = by_sockid.get((key[_SOCKID], _netns(key)))
        if rec is not None:
            claimed.add(id(rec))
            pending.append((key, rec))
        else:
            unmatched.append(key)
    for key in unmatched:
        rec = by_tuple.get((key[_TUPLE], _netns(key))) if key[_DPORT] != _ZERO_PORT else None
        if rec is not None and id(rec) not in claimed:
            claimed.add(id(rec))
            pending.append((key, rec))
        else:
            pending.append((key, None))
    return pending, [rec for rec in gone if id(rec) not in claimed]


def _successor(rec: TcpConnection, now: datetime) -> TcpConnection:
    """``rec`` under an InstanceID of its own: another live socket holds its 4-tuple's id.

    Why: a connection that ended while its process keeps the socket (State Closed) keeps
    its id, and a new connection may take the same 4-tuple (SO_REUSEADDR): each is a row.
    """
    generation = successor_generation(rec.inode, now)
    return dataclasses.replace(rec, instance_id=f"{rec.instance_id}#{generation}")


def _continues(prev: TcpConnection, key: bytes, state: TcpState) -> bool:
    """Whether the socket of ``key`` is ``prev``'s connection (see :func:`_match`).

    The same cookie is the same kernel socket. Under a new cookie only two hand-overs keep a
    connection: a request socket becoming the accepted socket, and a socket becoming a
    TIME_WAIT minisock on a kernel that gives the minisock its own cookie. Anything else on
    the same 4-tuple (TIME_WAIT reuse, a reconnect) is a new socket: a new connection.
    """
    if prev.source_key[_COOKIE] == key[_COOKIE]:
        return True
    if prev.state is TcpState.SYN_RECEIVED and not prev.inode:
        return True
    return state is TcpState.TIME_WAIT and prev.state is not TcpState.TIME_WAIT


_SHARED: Final[list[int | None]] = [None] * 65536
"""One int object per port (and small uid) value, shared by every record: an int above 256
is 32 bytes of its own per record otherwise (measured: 56 bytes per connection)."""


def _shared(value: int) -> int:
    """``value``, as the one object kept for it when it is below 65536."""
    if value >= 65536:
        return value
    kept = _SHARED[value]
    if kept is None:
        _SHARED[value] = kept = value
    return kept


_AF_OF: Final = {4: socket.AF_INET, 6: socket.AF_INET6}
_SOURCE_KEY: Final = attrgetter("source_key")
_SOCKID_OF: Final = itemgetter(_SOCKID)


def _sockid(rec: object) -> bytes | None:
    return sockid_of(rec.source_key) if isinstance(rec, TcpConnection) else None


class _TcpInfoIndex:
    """Finds a record's raw tcp_info in the sample's reply chunks (for LazyTcpInfo).

    The sockid → message index is built on the first lookup only, so a tick whose tcp_info
    nobody reads never pays for it.
    """

    __slots__ = ("_before", "_chunks", "_index", "_touched")

    def __init__(self, chunks: list[KeptReply], touched: Collection[str], before: object) -> None:
        """``touched``: the InstanceIDs the sample changed since the records ``before``."""
        self._chunks = chunks
        self._touched = touched
        self._before = before
        self._index: dict[tuple[int, bytes], tuple[bytes, int]] | None = None

    def _message(self, conn: object) -> tuple[bytes, int] | None:
        if not isinstance(conn, TcpConnection):
            return None
        if self._index is None:
            self._index = self._build()
        fam = socket.AF_INET if conn.family == 4 else socket.AF_INET6
        return self._index.get((fam, conn.source_key[_SOCKID]))

    def __call__(self, conn: object) -> bytes | None:
        where = self._message(conn)
        return tcp_info_raw(*where) if where is not None else None

    def fields(self, conn: object) -> TcpInfoValues | None:
        """The decoded fields, read in place (see LazyTcpInfo.fields)."""
        if not isinstance(conn, TcpConnection):
            return None
        index = self._index
        if index is None:
            index = self._index = self._build()
        where = index.get((_AF_OF[conn.family], conn.source_key[_SOCKID]))
        if where is None:
            return None
        chunk, off = where
        span = tcp_info_span(chunk, off)
        if span is None:
            return None
        return tcp_info_values(chunk, *span, queues_at(chunk, off))

    def digest_reader(self) -> Callable[[Iterable[TcpConnection]], list[Digest | None]]:
        """What each record's decoded tcp_info would be (None: it has none), per batch of
        records (see core.connections.sources.info_digest): one unpack per socket, then per
        record one lookup by its inode (or its sockid) in C (no map by InstanceID: the JSON
        writer asks for its rows a chunk at a time)."""
        by_inode = inode_digests(self._chunks)
        if by_inode is not None:  # (a record without an inode, 0, has no digest then)
            found = by_inode.get
            return lambda conns: list(map(found, map(_INODE_OF, conns)))
        get = info_digests(self._chunks).get
        return lambda conns: list(map(get, map(_SOCKID_OF, map(_SOURCE_KEY, conns))))

    def changes(self, raw: Mapping[str, object], trail: object) -> InfoChanges:
        """The tcp_info that moved since ``trail`` (see LazyTcpInfo.changes and
        core.connections.sources.info_digest): one unpack per socket, no index built."""
        return info_changes(
            self._chunks,
            raw,
            self._touched,
            self._before,
            trail if isinstance(trail, DigestTrail) else None,
            _sockid,
        )

    def _build(self) -> dict[tuple[int, bytes], tuple[bytes, int]]:
        index: dict[tuple[int, bytes], tuple[bytes, int]] = {}
        unpack = MSG_TYPE.unpack_from
        for family, chunk, _digests in self._chunks:
            want = reply_type(family)
            off, limit = 0, len(chunk) - MSG_MIN
            while off <= limit:
                length, typ = unpack(chunk, off)
                if typ != want or length < MSG_MIN:
                    break
                index[(chunk[off + 16], chunk[off + 20 : off + 68])] = (chunk, off)
                off += (length + 3) & ~3
        return index
