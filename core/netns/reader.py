"""Reading every selected network namespace's sockets in one sample, for NetlinkSource.

Why this shape: a sock_diag socket lists the sockets of the namespace it was created in, so
each namespace gets its own dumper, created once by a thread that entered it
(:func:`core.netns.setns.run_in`) and reused every sample. Without CAP_SYS_ADMIN a namespace
is read from ``/proc/PID/net/tcp{,6}`` instead (:mod:`core.netns.procnet`). Keys of sockets
outside tcpscope's namespace end with the namespace's inode, so the same 4-tuple in two
namespaces is two sockets, and NetlinkSource's diff, owner lookup and records do the rest.

Idle namespaces cost almost nothing: the kernel's TCP hash tables are shared by every
namespace (unless ``net.ipv4.tcp_child_ehash_entries`` was set before it was created), so a
dump of an empty namespace still walks every socket of the host. Before dumping another
namespace, its TCP counters (``snmp`` Tcp line, ``sockstat`` and ``sockstat6``, read through
files opened inside it) are compared with those read before its last dump; unchanged, no
segment moved, no socket was hashed or unhashed and no TIME_WAIT ended, so its last dump is
replayed. Only the namespace's own counters count (:func:`tcp_counters`): sockstat's TCP
orphan, alloc and mem are host-wide, so any TCP activity anywhere moved them, and every other
namespace was dumped again (each dump ~18 ms of kernel time at 50k sockets on the host).
sockstat's ``sockets: used`` is the namespace's own count of sockets (any protocol): freeing a
socket already Closed (reset while its process held it, unhashed then) moves no TCP counter,
only that one, and without it the Closed row stayed listed after its process had ended. Two
changes leave every counter alone: ``bind()`` without ``listen()`` and ``accept()`` of a
connection already established; so every :data:`FORCE_EVERY`-th sample dumps each namespace
anyway (staggered). tcpscope's own namespace is always dumped.

Bound and Closed sockets are found only by the bind-table walk, which a host with many sockets
makes only every :data:`~core.connections.sources.bound_walk.REFRESH_S` (see
:mod:`core.connections.sources.bound_walk`); a dump that does not walk gets the last walk's
keys put back. So a namespace whose counters moved since its last walking dump is dumped again
in the next sample that walks, and its forced dump waits for one: a socket that went (with its
counters moving) leaves the rows within REFRESH_S, one that went unseen by every counter
within FORCE_EVERY samples and REFRESH_S. Before, a namespace was replayed in the samples
that walked once its counters were still, and its Closed socket, put back by the dumps in
between, stayed for minutes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Final, TypeVar

from core.connections.namespaces import UNMATCHED_REASON, NamespaceInfo, NamespaceView, ReadBy
from core.connections.sources.bound_walk import BOUND_INACTIVE, BoundWalk
from core.connections.sources.inet_diag import TCP_ALL_STATES, InetDiagDumper, open_sock_diag
from core.connections.sources.info_digest import KeptReply
from core.connections.sources.netlink import reply_keys
from core.connections.sources.proc_mount import hides_others
from core.connections.sources.reply_walk import ReplyWalker
from core.errors import AccessDenied, MonitorError
from core.netns import procnet
from core.netns.discover import Discoverer, Discovery, FoundNamespace, is_initial
from core.netns.names import NameResolver
from core.netns.options import ALL
from core.netns.setns import open_namespace, run_in
from core.textsafe import composed, printable

CAP_REASON: Final = "entering them for sock_diag needs CAP_SYS_ADMIN"
SURROGATE_REASON: Final = (
    "their processes' /proc/PID/ns/net cannot be read (ptrace access to them is denied), "
    "so sock_diag cannot enter them"
)


def no_process_reason(proc: str) -> str:
    """Why a namespace no visible process is in cannot be read: under hidepid a process may
    well be in it, only hidden from this user (so "no process is in it" would be false)."""
    hidden = hides_others(proc)
    if hidden is None:
        return "entering a namespace no process is in needs CAP_SYS_ADMIN"
    return (
        f"no process this user can see is in it ({hidden.path} is mounted with "
        f"{hidden.option}, which hides other users' processes), and entering it needs "
        "CAP_SYS_ADMIN"
    )


class NamespaceUnreadable(AccessDenied):
    """A namespace ``--netns`` named cannot be read at all: the run fails (exit 1) rather
    than show an empty table a check would take for "no connections"."""

    exit_code = 1


FORCE_EVERY: Final = 20
"""Samples after which an idle namespace is dumped (by the next sample that walks the bind
table) even though its counters did not move."""
COUNTER_FILES: Final = ("snmp", "sockstat", "sockstat6")
_COUNTER_READ: Final = 8192
_TCP_LINES: Final = (b"Tcp:", b"TCP:", b"TCP6:")
_SOCKETS: Final = b"sockets:"
"""sockstat's count of the namespace's sockets (``sock_inuse_get(net)``), every protocol."""
_WALKS: Final = 1 << BOUND_INACTIVE
_HOST_WIDE: Final = frozenset((b"orphan", b"alloc", b"mem"))
"""sockstat's TCP fields summed over every namespace of the host (``net/ipv4/proc.c``)."""

_INODE: Final = slice(54, 58)
"""A key's socket inode (see core.connections.sources.netlink)."""
_NO_INODE: Final = bytes(4)
T = TypeVar("T")
Feed = Callable[[list[bytes]], None]
Started = tuple[bytes | None, bool, list[tuple[int, InetDiagDumper, Iterator[bytes]]]]
Keep = list[KeptReply] | None


def _suffix(inode: int) -> bytes:
    """What a key of namespace ``inode`` ends with (signed: a stand-in key is negative)."""
    return inode.to_bytes(8, sys.byteorder, signed=True)


def tcp_counters(text: bytes) -> bytes:
    """The TCP lines of a namespace's ``snmp``, ``sockstat`` or ``sockstat6``, less the
    host-wide fields, and its count of sockets: what moves when that namespace's TCP sockets
    do (and when it makes or frees another socket)."""
    kept: list[bytes] = []
    for line in text.splitlines():
        if line.startswith(_SOCKETS):  # "sockets: used N": one of them freed when Closed
            kept.append(line)
            continue
        if not line.startswith(_TCP_LINES):
            continue
        if line.startswith(b"Tcp:"):  # snmp: the namespace's own MIB
            kept.append(line)
            continue
        words = line.split()  # sockstat: "TCP: inuse N orphan N tw N alloc N mem N"
        kept.extend(
            word
            for name, value in zip(words[1::2], words[2::2], strict=False)
            if name not in _HOST_WIDE
            for word in (name, value)
        )
    return b" ".join(kept)


def _open_counters() -> list[int]:
    """File descriptors of this thread's namespace's TCP counters (run inside it)."""
    fds: list[int] = []
    for name in COUNTER_FILES:
        try:
            fds.append(os.open(f"/proc/thread-self/net/{name}", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            continue
    return fds


class SockDiagReader:
    """One namespace read by sock_diag sockets created inside it."""

    read_by = ReadBy.SOCK_DIAG

    def __init__(
        self, found: FoundNamespace, *, own: bool, tcp_info: bool, families: tuple[int, ...]
    ) -> None:
        """Open the namespace's dumpers (raises AccessDenied without CAP_SYS_ADMIN)."""
        self.inode = found.inode
        self.own = own
        path = self.path = found.path
        factory: Callable[[], socket.socket] = open_sock_diag
        self._fd: int | None = None
        """The namespace's own fd: its path may go (``ip netns del``, its last process left)
        while sockets made in it live on, and so does it; the dumpers' sockets pin it
        already, this fd no longer than they."""
        if not own and path is not None:
            self._fd = open_namespace(path)
            factory = partial(run_in, path, open_sock_diag, fd=self._fd)
        self._factory = factory
        self._dumpers: dict[int, InetDiagDumper] = {}
        self._query: InetDiagDumper | None = None
        self._walker = ReplyWalker(digests=tcp_info)
        try:
            for fam in families:
                self._dumpers[fam] = InetDiagDumper(tcp_info=tcp_info, socket_factory=factory)
            self.cookie = next(iter(self._dumpers.values())).netns_cookie() if families else None
            """The namespace's cookie (see :attr:`NamespaceInfo.cookie`), read once: the
            dumpers' sockets keep the namespace, so its inode number is not reused meanwhile."""
            self._counters: list[int] = (
                [] if self._fd is None else run_in(path or "", _open_counters, fd=self._fd)
            )
        except BaseException:
            self._counters = []
            self.close()
            raise
        self._suffix = b"" if own else _suffix(found.inode)
        self._seen: bytes | None = None
        self._walked: bytes | None = None
        """The counters before the last dump that walked the bind table."""
        self._replies: list[list[bytes]] = []
        self._chunks: list[KeptReply] = []
        self._since = found.inode % FORCE_EVERY
        """Samples since the last dump that walked; starts staggered so forced dumps spread
        out."""
        self._started: Started | None = None
        """What :meth:`start` did: the counters seen, whether the dumps walk, the dumps asked
        for."""
        self.dumped = False
        """Whether the last :meth:`dump` asked the kernel (False: replayed)."""
        self.sockets = 0

    def _fingerprint(self) -> bytes | None:
        if not self._counters:
            return None
        try:
            return b"\n".join(tcp_counters(os.pread(fd, _COUNTER_READ, 0)) for fd in self._counters)
        except OSError:
            return None

    def start(self, states: int = TCP_ALL_STATES) -> None:
        """Ask the kernel for this namespace's dump of ``states`` now, if it is to be dumped,
        so that several namespaces' dumps run at once (their replies wait in the dumpers'
        queues)."""
        if self._started is not None:
            return
        seen = self._fingerprint()
        self._since += 1
        walks = bool(states & _WALKS)
        streams: list[tuple[int, InetDiagDumper, Iterator[bytes]]] = []
        # A dump that does not walk puts back the last walk's bound and Closed sockets: one
        # that walks must follow whenever the counters moved since (or nothing would ever
        # take a freed Closed socket away again).
        stale = walks and (seen != self._walked or self._since >= FORCE_EVERY)
        if seen is None or seen != self._seen or stale:
            streams = [(fam, d, d.chunks(fam, states)) for fam, d in self._dumpers.items()]
        self._started = (seen, walks, streams)

    def abandon(self) -> None:
        """Forget a :meth:`start` whose dump will not be read (the sample failed); the
        dumpers drain it before their next dump."""
        self._started = None

    def dump(self, feed: Feed, keep: Keep, walk: BoundWalk) -> None:
        """Feed this namespace's keys (a fresh dump, or the last one when nothing moved)."""
        self.start(walk.states)
        assert self._started is not None
        seen, walks, streams = self._started
        self._started = None
        if not streams:
            self.dumped = False
            for keys in self._replies:
                feed(keys)
            if keep is not None:
                keep.extend(self._chunks)
            return
        replies: list[list[bytes]] = []
        chunks: list[KeptReply] = []
        suffix = self._suffix
        count = 0
        kept = chunks if keep is not None else None
        for family, dumper, stream in streams:
            replied = reply_keys(family, dumper, stream, kept, self._walker)
            for keys in walk.splice((self.inode, family), replied, suffix):
                if suffix:
                    replies.append([k + suffix for k in keys])
                else:
                    # tcpscope's own namespace: fed while the kernel fills the next reply, and
                    # not kept (never replayed: its dump's copies of 50k keys would stay
                    # alive beside the records' own, ~90 bytes a socket).
                    feed(keys)
                    count += len(keys)
        if suffix:
            for keys in replies:  # fed only once whole: a failed dump feeds nothing
                feed(keys)
            count = sum(map(len, replies))
        if keep is not None:
            keep.extend(chunks)
        if suffix:
            self._replies, self._chunks = replies, chunks
        self._seen = seen
        if walks:
            self._walked = seen
            self._since = 0
        self.dumped = True
        self.sockets = count

    def replay(self, feed: Feed, keep: Keep) -> None:
        """Feed the last dump again (this namespace failed this time)."""
        for keys in self._replies:
            feed(keys)
        if keep is not None:
            keep.extend(self._chunks)

    def query_dumper(self) -> InetDiagDumper:
        """A dumper for exact tcp_info queries inside this namespace."""
        if self._query is None:
            self._query = InetDiagDumper(tcp_info=True, socket_factory=self._factory)
        return self._query

    def run(self, call: Callable[[], T]) -> T:
        """``call()`` run inside this namespace (see :func:`core.netns.setns.run_in`)."""
        if self._fd is None:
            return call()  # (tcpscope's own)
        return run_in(self.path or "", call, fd=self._fd)

    def holds_sockets(self) -> bool:
        """Whether the last dump found a socket a process holds (its inode is not 0): one
        that keeps the namespace alive, whatever names it or is in it. TIME_WAIT and
        orphaned sockets have none."""
        return any(key[_INODE] != _NO_INODE for keys in self._replies for key in keys)

    def close(self) -> None:
        """Close the sockets, counter files and the namespace's fd."""
        for dumper in self._dumpers.values():
            dumper.close()
        if self._query is not None:
            self._query.close()
        for fd in self._counters:
            os.close(fd)
        self._counters = []
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ProcfsReader:
    """One namespace read from ``/proc/PID/net/tcp{,6}`` of a process in it."""

    read_by = ReadBy.PROCFS
    own = False

    def __init__(self, found: FoundNamespace, proc: str, reason: str) -> None:
        """Read through the lowest PID in the namespace (refreshed by :meth:`update`);
        ``reason``: why not by sock_diag (one line)."""
        self.inode = found.inode
        self.reason = reason
        self._pids = found.pids
        self._proc = proc
        self._suffix = _suffix(found.inode)
        self._replies: list[list[bytes]] = []
        self.sockets = 0
        self.dumped = True

    def update(self, found: FoundNamespace) -> None:
        """The namespace's processes now."""
        self._pids = found.pids

    def dump(self, feed: Feed, keep: Keep, walk: BoundWalk) -> None:
        """Feed the keys of every socket the procfs tables list (no bound sockets: the
        tables have none, whatever ``walk`` says)."""
        for pid in self._pids:
            try:
                keys = procnet.read_keys(pid, self._proc)
            except OSError:
                continue
            suffix = self._suffix
            keys = [k + suffix for k in keys]
            self._replies = [keys]
            self.sockets = len(keys)
            feed(keys)
            return
        raise MonitorError("a network namespace read from /proc has no process left in it")

    def replay(self, feed: Feed, keep: Keep) -> None:
        """Feed the last read again."""
        for keys in self._replies:
            feed(keys)

    def query_dumper(self) -> None:
        """No sock_diag socket: no tcp_info."""
        return None

    def close(self) -> None:
        """Nothing to close."""


Reader = SockDiagReader | ProcfsReader


class NamespaceSet:
    """The namespaces a run shows, each with its reader; implements ``NamespaceDumps``."""

    def __init__(
        self,
        wanted: Callable[[Discovery], set[int]],
        *,
        selection: str = "all",
        tcp_info: bool = True,
        proc: str = "/proc",
        names: NameResolver | None = None,
        discoverer: Discoverer | None = None,
    ) -> None:
        """``wanted`` picks the inodes to read from each discovery (see core.netns.select)."""
        self._wanted = wanted
        self._selection = selection
        self._tcp_info = tcp_info
        self._proc = proc
        self._names = names if names is not None else NameResolver(proc)
        self._discoverer = discoverer or Discoverer(proc)
        self.families: tuple[int, ...] = (socket.AF_UNSPEC,)
        self._readers: dict[int, Reader] = {}
        self._kept: dict[int, FoundNamespace] = {}
        """Namespaces read on though discovery no longer finds them (see :meth:`_keeps`)."""
        self._unreadable: dict[int, tuple[str, FoundNamespace]] = {}
        """Why a namespace was not read, and what it was then (it is tried again when that
        changes: a process entered it, a mount was matched)."""
        self._last: Discovery | None = None
        self._view: NamespaceView | None = None
        self._view_key: tuple[object, ...] = ()
        self._ifnames: dict[tuple[int, int], str | None] = {}
        """Interface names looked up in other namespaces during this sample."""

    @property
    def own(self) -> int:
        """The inode of tcpscope's own namespace."""
        return self._discoverer.own

    def check(self) -> None:
        """Fail now if a namespace ``--netns`` named cannot be read at all.

        Why at start: the refusal came from the first sample, which ends ``connections``
        but which ``record`` wrote as an error sample and ``metrics`` served (exit 0). The
        readers opened to tell are closed again: the source sets their families later.

        Raises:
            NamespaceUnreadable: one cannot be read (see ``_open``).
        """
        try:
            self._refresh()
        finally:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()
            self._unreadable.clear()
            self._kept.clear()

    def _refresh(self) -> list[Reader]:
        found = self._discoverer.discover()
        before = self._last
        self._last = found
        chosen = self._wanted(found)
        wanted = {
            key for key, ns in found.namespaces.items() if key in chosen or ns.learned in chosen
        }
        for inode in [i for i in self._kept if i in found.namespaces]:
            del self._kept[inode]  # named or peopled again (the same one: its reader pins it)
        for inode in [i for i in self._readers if i not in wanted or i not in found.namespaces]:
            if inode not in found.namespaces and self._keeps(inode, before):
                continue
            self._readers.pop(inode).close()
            self._kept.pop(inode, None)
            self._names.forget(inode)
        for inode, (_why, was) in list(self._unreadable.items()):
            if found.namespaces.get(inode) != was:  # gone, or changed: try it again
                del self._unreadable[inode]
        for inode in sorted(wanted & found.namespaces.keys()):
            ns = found.namespaces[inode]
            reader = self._readers.get(inode)
            if isinstance(reader, ProcfsReader) and not ns.pids:
                # No process left to read it through: its last read would be replayed
                # forever (beside the same sockets under the key they move to).
                self._readers.pop(inode).close()
                reader = None
            if reader is None and inode not in self._unreadable:
                self._open(ns, own=inode == found.own)
            elif isinstance(reader, ProcfsReader):
                reader.update(ns)
        ordered = sorted(self._readers.values(), key=lambda r: (not r.own, r.inode))
        return ordered

    def _keeps(self, inode: int, before: Discovery | None) -> bool:
        """Whether to go on reading a namespace no process is in and no file names any more:
        while processes hold sockets made in it, they keep it alive (``ip netns del`` while a
        process that entered it and left holds a listener), and its rows are open, not
        closed. Read through the reader's own fd; closed once those sockets are, so that
        tcpscope never keeps a namespace alive that would otherwise have ended."""
        reader = self._readers[inode]
        if not isinstance(reader, SockDiagReader) or reader.own or not reader.holds_sockets():
            return False
        if inode not in self._kept:
            was = before.namespaces.get(inode) if before is not None else None
            if was is None:
                return False
            # No name, no process, no file: what `ip netns list` and `lsns` now say of it.
            self._kept[inode] = replace(was, pids=(), masked=(), mounts=(), netns_names=())
        return True

    def _open(self, ns: FoundNamespace, *, own: bool) -> None:
        try:
            if ns.surrogate and ns.learned is None:
                raise AccessDenied(SURROGATE_REASON)
            self._readers[ns.inode] = SockDiagReader(
                ns, own=own, tcp_info=self._tcp_info, families=self.families
            )
        except MonitorError as err:
            if own:
                raise
            if ns.pids:
                reason = SURROGATE_REASON if ns.nsfs_inode is None else str(err)
                if isinstance(err, AccessDenied) and "CAP_SYS_ADMIN" in reason:
                    reason = CAP_REASON  # one line for every namespace it concerns
                self._readers[ns.inode] = ProcfsReader(ns, self._proc, reason)
                return
            if ns.unmatched:
                reason = UNMATCHED_REASON
            elif isinstance(err, AccessDenied):
                reason = no_process_reason(self._proc)
            else:
                reason = str(err)
            if self._selection != ALL:
                # Named, and sockets may be in it that tcpscope cannot see (a process of
                # another user's, a socket made there by a process now elsewhere, TIME_WAIT):
                # an empty table would read as "no connections" (exit 0).
                where = ns.netns_names[0] if ns.netns_names else ns.path or "(unnamed)"
                raise NamespaceUnreadable(
                    f"network namespace {printable(where)} could not be read: {composed(reason)}"
                ) from None
            self._unreadable[ns.inode] = reason, ns

    def dump(self, feed: Feed, keep: Keep, walk: BoundWalk) -> None:
        """Every wanted namespace's keys, tcpscope's own first (see NamespaceDumps).

        Every namespace's dump is asked for first: the kernel walks the (shared) socket
        tables once per namespace, and those walks then overlap each other and the Python
        that reads the replies.
        """
        readers = self._refresh()
        self._ifnames = {}  # an interface may be renamed, or its index reused, by the next
        for reader in readers:
            if isinstance(reader, SockDiagReader):
                try:
                    reader.start(walk.states)
                except MonitorError:
                    continue  # dump() meets it again and handles it
        try:
            for reader in readers:
                if reader.own:
                    reader.dump(feed, keep, walk)  # its failure is the sample's
                    continue
                try:
                    reader.dump(feed, keep, walk)
                except MonitorError:
                    reader.replay(feed, keep)
        finally:
            for reader in readers:
                if isinstance(reader, SockDiagReader):
                    reader.abandon()

    def interface_name(self, netns: int, ifindex: int) -> str | None:
        """The name of interface ``ifindex`` inside namespace ``netns`` (None: not known).

        Why asked there: an index names an interface of its own namespace only; looked up in
        tcpscope's, a container's ``fe80::…%eth0`` read as the host's interface 2 (``%ifb0``).
        """
        if (netns, ifindex) in self._ifnames:
            return self._ifnames[netns, ifindex]
        reader = self._readers.get(netns)
        name = None
        if isinstance(reader, SockDiagReader):
            with contextlib.suppress(MonitorError):  # the interface (or namespace) is gone
                name = reader.run(partial(socket.if_indextoname, ifindex))
        self._ifnames[netns, ifindex] = name
        return name

    def query_dumper(self, netns: int | None) -> InetDiagDumper | None:
        """The exact-query dumper of ``netns`` (None: tcpscope's own), if it has one."""
        reader = self._readers.get(self.own if netns is None else netns)
        return reader.query_dumper() if reader is not None else None

    @property
    def reads_all(self) -> bool:
        """Whether it stands for ``--netns all``: every namespace the source can read (a
        source that reads only its own still answers that; a named one it cannot)."""
        return self._selection == ALL

    def view(self) -> NamespaceView:
        """The namespaces of the last dump, with whatever names are known by now."""
        found = self._last
        if found is None:
            return NamespaceView((), self._selection)
        infos: list[NamespaceInfo] = []
        for inode in [*sorted(self._readers), *sorted(self._unreadable)]:
            ns = found.namespaces.get(inode) or self._kept.get(inode)
            if ns is None:
                continue
            reader = self._readers.get(inode)
            name = ns.netns_names[0] if ns.netns_names else None
            infos.append(
                NamespaceInfo(
                    inode=inode,
                    current=inode == found.own,
                    read_by=reader.read_by if reader is not None else ReadBy.UNREADABLE,
                    name=name,
                    container=self._names.container(inode, ns.pids),
                    reason=(
                        reader.reason
                        if isinstance(reader, ProcfsReader)
                        else self._why_unreadable(inode)
                    ),
                    processes=len(ns.pids),
                    has_sockets=bool(reader.sockets) if reader is not None else False,
                    stand_in=ns.surrogate,
                    via_pid=ns.pids[0] if ns.surrogate and ns.pids else None,
                    unmatched=ns.unmatched,
                    learned_inode=ns.learned,
                    cookie=reader.cookie if isinstance(reader, SockDiagReader) else None,
                    initial=is_initial(ns.nsfs_inode, found.initial),
                )
            )
        infos.sort(key=lambda i: (not i.current, i.inode))
        key = (tuple(infos), found.hidden_pids)
        if self._view is None or key != self._view_key:
            self._view = NamespaceView(tuple(infos), self._selection, found.hidden_pids)
            self._view_key = key
        return self._view

    def _why_unreadable(self, inode: int) -> str | None:
        entry = self._unreadable.get(inode)
        return None if entry is None else entry[0]

    def settle(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for the container names asked for so far."""
        self._names.wait_idle(timeout_s)

    def close(self) -> None:
        """Close every reader and stop the name worker."""
        for reader in self._readers.values():
            reader.close()
        self._readers = {}
        self._kept = {}
        self._names.close()
