"""Finding every network namespace on the host: processes' ``ns/net`` links and nsfs mounts.

Why both: a namespace lives while a process is in it *or* a file keeps it (``ip netns add``
bind-mounts it under ``/run/netns``; Docker and Podman keep theirs under their own run
directories), so a named namespace may hold listeners with no process of its own. A
namespace is known by its nsfs inode, the number ``ip netns identify`` and ``lsns`` show.

Cost: one ``stat`` per process the first time it is seen (≈3 µs), then only
``listdir(/proc)`` and ``/proc/self/mountinfo`` per call; every :data:`RECHECK_EVERY` calls
every process is looked at again (``ip netns exec`` forks first, then enters).

Without privilege another user's ``/proc/PID/ns/net`` cannot be read, but its
``/proc/PID/net/tcp`` can, and that file's inode is one per namespace: it then tells the
namespace apart, keyed by a stand-in (:func:`stand_in_key`, :attr:`FoundNamespace.surrogate`)
that is never shown as the namespace's inode. Such a namespace is matched to its nsfs file
(and so gets its true inode and ``ip netns`` name) when both have the same netns id
(:mod:`core.netns.nsid`), or when a readable process is in it too; a file that nothing tells
apart from the stand-ins is :attr:`FoundNamespace.unmatched`. A namespace keeps its key for
the run (:meth:`Discoverer._keyed`) while processes come and go.
"""

from __future__ import annotations

import errno
import os
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass
from typing import Final

from core.netns.nsid import NsidAsker

RECHECK_EVERY: Final = 30
"""Calls between two looks at every process (a process may enter another namespace)."""
NETNS_DIRS: Final = ("/run/netns", "/var/run/netns")
"""Where ``ip netns`` keeps its names."""


@dataclass(frozen=True, slots=True)
class FoundNamespace:
    """One network namespace and how it can be reached."""

    inode: int
    """Its key for the run: its nsfs inode; or, when :attr:`surrogate`, a stand-in
    (:func:`stand_in_key`, negative: never shown as the namespace's inode)."""
    pids: tuple[int, ...] = ()
    """Host PIDs in it, ascending (empty: kept alive by a mount only)."""
    mounts: tuple[str, ...] = ()
    """nsfs mounts of it (``/run/netns/NAME``, a runtime's netns file)."""
    netns_names: tuple[str, ...] = ()
    """Its ``ip netns`` names."""
    surrogate: bool = False
    """True: :attr:`inode` is not the namespace's inode. Its processes' ``ns/net`` could not
    be read (another user's) nor matched to an nsfs file when it was first seen, or now."""
    masked: tuple[int, ...] = ()
    """Those of :attr:`pids` whose ``ns/net`` link cannot be opened (see Discoverer._unmask)."""
    unmatched: bool = False
    """A mount with no process seen in it that may be one of the :attr:`surrogate`
    namespaces: no netns id tells them apart (see :mod:`core.netns.nsid`)."""
    learned: int | None = None
    """For a :attr:`surrogate` key: the namespace's inode, when learned since (a process of
    the user's entered it); the key stays, so its sockets keep their InstanceIDs."""

    @property
    def nsfs_inode(self) -> int | None:
        """The namespace's own inode, when known."""
        return self.learned if self.surrogate else self.inode

    @property
    def path(self) -> str | None:
        """A path ``setns`` can open: a mount, else the link of its first process whose link
        can be opened."""
        if self.mounts:
            return self.mounts[0]
        pid = next((p for p in self.pids if p not in self.masked), None)
        if pid is None and self.pids:
            pid = self.pids[0]
        return f"/proc/{pid}/ns/net" if pid is not None else None


PROC_PID_INIT_INO: Final = 0xEFFFFFFC
"""The initial PID namespace's nsfs inode (``include/linux/proc_ns.h``, fixed since 3.8)."""
PROC_NET_INIT_INO: Final = 0xEFFFFFF9
"""The initial network namespace's nsfs inode, fixed since Linux 6.18; before, it was numbered
as any other, from 0xF0000000 up (``proc_alloc_inum``): no other namespace ever has it."""


def initial_netns(proc: str = "/proc") -> int | None:
    """The inode of the host's initial network namespace: PID 1's, when this ``proc``'s PID 1
    is the initial PID namespace's init and its links can be read (root), else the kernel's
    fixed number when it gives it to tcpscope's own; None when neither tells.

    Why: from inside another namespace (``ip netns exec``) the host's read "another,
    unnamed"; a container's PID 1 (another PID namespace's) is not the host's."""
    try:
        if os.stat(f"{proc}/1/ns/pid").st_ino == PROC_PID_INIT_INO:
            return os.stat(f"{proc}/1/ns/net").st_ino
    except OSError:
        pass
    return None


def is_initial(inode: int | None, initial: int | None) -> bool:
    """Whether a namespace's nsfs ``inode`` is the host's initial one (``initial``: PID 1's,
    :func:`initial_netns`); the kernel's fixed number is on newer kernels."""
    return inode is not None and inode in (initial, PROC_NET_INIT_INO)


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every namespace found in one call."""

    own: int
    """The namespace tcpscope runs in."""
    namespaces: dict[int, FoundNamespace]
    """By inode, :attr:`own` included."""
    hidden_pids: int = 0
    """Processes whose namespace could not be told at all (hidepid, races)."""
    initial: int | None = None
    """PID 1's namespace, the host's initial one, when it could be read (:func:`initial_netns`)."""


_OCTAL: Final = frozenset(b"01234567")


def _unescape(field: bytes) -> bytes:
    """mountinfo writes space, tab, newline and backslash as three octal digits (``\\040``);
    every other byte is the path's own."""
    if b"\\" not in field:
        return field
    out = bytearray()
    i = 0
    while i < len(field):
        digits = field[i + 1 : i + 4]
        if field[i] == 0x5C and len(digits) == 3 and _OCTAL.issuperset(digits):
            out.append(int(digits, 8) & 0xFF)
            i += 4
        else:
            out.append(field[i])
            i += 1
    return bytes(out)


def nsfs_mounts(mountinfo: bytes) -> dict[int, list[str]]:
    """Mount points of network namespaces in ``/proc/self/mountinfo``, by inode.

    Why bytes: a name is any bytes but ``/`` and NUL (``ip netns add`` takes one with a
    ``\\xff``, ESC or U+2028 in it). Decoded with ``os.fsdecode`` (surrogateescape) it opens
    again, and :func:`core.textsafe.printable` shows each byte that is no UTF-8 as ``\\xff``;
    replaced by U+FFFD it named no file, and ``str.splitlines`` broke a line at a CR,
    U+2028 or U+0085 in a name.
    """
    found: dict[int, list[str]] = defaultdict(list)
    for line in mountinfo.split(b"\n"):
        if b" - nsfs " not in line:
            continue
        fields = line.split(b" ", 5)
        if len(fields) < 5:
            continue
        root = fields[3]
        if root.startswith(b"net:[") and root.endswith(b"]") and root[5:-1].isdigit():
            found[int(root[5:-1])].append(os.fsdecode(_unescape(fields[4])))
    return found


def netns_name(mount: str) -> str | None:
    """The ``ip netns`` name of a mount point under /run/netns, else None."""
    head, _, name = mount.rpartition("/")
    return name if head in NETNS_DIRS and name else None


class Discoverer:
    """Finds namespaces again and again, remembering each process's between calls."""

    def __init__(self, proc: str = "/proc") -> None:
        """Start with nothing known; ``proc`` is the procfs mount."""
        self._proc = proc
        self._by_pid: dict[int, int | None] = {}
        """pid → namespace inode, or (:attr:`_surrogate`) its ``net/tcp`` inode (None: could
        not be told)."""
        self._surrogate: dict[int, bool] = {}
        self._links: dict[int, tuple[int, frozenset[int]]] = {}
        """``net/tcp`` inode → (nsfs inode, the processes it was seen through then): which
        stand-ins were found to be which namespace (see :meth:`_linked`)."""
        self._keys: dict[int, int] = {}
        """Every identity (nsfs or ``net/tcp`` inode) seen last call → its namespace's key."""
        self._calls = 0
        self._own = os.stat(f"{proc}/self/ns/net").st_ino
        self._initial = initial_netns(proc)
        """PID 1's namespace: read once (init never moves), None when not readable."""
        self._own_tcp: int | None = None
        self._nsids: NsidAsker | None = None
        self._match_key: tuple[frozenset[int], frozenset[int]] | None = None
        self._matched: tuple[dict[int, int], set[int]] = ({}, set())
        """Stand-in → mount inode, and the mounts left unmatched (see :meth:`_match`)."""

    @property
    def own(self) -> int:
        """The inode of the namespace this process runs in."""
        return self._own

    def _identify(self, pid: int) -> tuple[int | None, bool] | None:
        """(inode, surrogate) of ``pid``'s namespace; None when the process is gone."""
        try:
            return os.stat(f"{self._proc}/{pid}/ns/net").st_ino, False
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno not in (errno.EACCES, errno.EPERM):
                return None
        try:
            tcp = os.stat(f"{self._proc}/{pid}/net/tcp").st_ino
        except FileNotFoundError:
            return None
        except OSError:
            return None, False
        if tcp == self._own_tcp_inode():
            return self._own, False
        return tcp, True

    def _own_tcp_inode(self) -> int:
        if self._own_tcp is None:
            self._own_tcp = os.stat(f"{self._proc}/self/net/tcp").st_ino
        return self._own_tcp

    def _linked(
        self, stand_ins: dict[int, list[int]], plain: dict[int, list[int]], mounts: Container[int]
    ) -> dict[int, int]:
        """Which stand-in namespaces are namespaces known by their inode (``net/tcp`` inode →
        nsfs inode).

        Why: a process whose ``ns/net`` link cannot be opened (another user's, or one
        holding capabilities tcpscope lacks) may live in a namespace a readable process is
        also in (the user's own, the host's when tcpscope runs under ``ip netns exec``); its
        ``net/tcp`` inode then equals theirs, and it must not count as a namespace of its
        own (read twice, and said to need a privilege tcpscope has).

        Remembered while the namespace is still seen by its inode (a mount, a readable
        process) or through a process that was in it then: when the user's own process
        leaves, the others stay in it (not lost, and not read twice under a stand-in beside
        it). Each inode is unique among live namespaces, and one seen without a gap is not
        reused.
        """
        links: dict[int, int] = {}
        for ino, pids in plain.items():
            if ino == self._own:
                continue
            for pid in pids:
                try:
                    tcp = os.stat(f"{self._proc}/{pid}/net/tcp").st_ino
                except OSError:
                    continue
                if tcp in stand_ins:
                    links[tcp] = ino
                break
        for tcp, (ino, seen) in self._links.items():
            if tcp not in stand_ins or tcp in links:
                continue
            if ino in plain or ino in mounts or not seen.isdisjoint(stand_ins[tcp]):
                links[tcp] = ino
        return links

    def _match(
        self,
        stand_ins: set[int],
        pids: dict[int, list[int]],
        loose: set[int],
        mounts: dict[int, list[str]],
        recheck: bool,
    ) -> tuple[dict[int, int], set[int]]:
        """Which stand-in namespaces are which mounts (``loose``: mounts with no process
        seen), by netns id; and the mounts no id tells apart from a stand-in left unmatched.

        Asked again only when either set changes, or on a recheck (an id may be assigned).
        """
        key = (frozenset(stand_ins), frozenset(loose))
        if not recheck and key == self._match_key:
            return self._matched
        if self._nsids is None:
            self._nsids = NsidAsker()
        asker = self._nsids
        of_file = {ino: asker.of_path(mounts[ino][0]) for ino in sorted(loose)}
        by_id = {nsid: ino for ino, nsid in of_file.items() if nsid is not None and nsid >= 0}
        links: dict[int, int] = {}
        left: list[int | None] = []
        for stand_in in sorted(stand_ins):
            nsid = next((n for n in map(asker.of_pid, pids[stand_in]) if n is not None), None)
            if nsid is not None and nsid in by_id:
                links[stand_in] = by_id[nsid]
            else:
                left.append(nsid)
        linked = set(links.values())
        unmatched = {
            ino
            for ino, nsid in of_file.items()
            if ino not in linked and any(not _apart(nsid, other) for other in left)
        }
        self._match_key, self._matched = key, (links, unmatched)
        return self._matched

    def _scan(self, recheck: bool) -> dict[int, int | None]:
        """Every live process's namespace (inode, or ``net/tcp`` inode), new ones looked at."""
        by_pid = self._by_pid
        fresh: dict[int, int | None] = {}
        for pid in (int(n) for n in os.listdir(self._proc) if n.isdigit()):
            if not recheck and pid in by_pid:
                fresh[pid] = by_pid[pid]
                continue
            found = self._identify(pid)
            if found is None:
                continue
            fresh[pid], self._surrogate[pid] = found
        self._by_pid = fresh
        for pid in [p for p in self._surrogate if p not in fresh]:
            del self._surrogate[pid]
        return fresh

    def discover(self) -> Discovery:
        """Every namespace with a process or a mount in it, now."""
        self._calls += 1
        recheck = self._calls % RECHECK_EVERY == 0
        plain: dict[int, list[int]] = defaultdict(list)
        stand_ins: dict[int, list[int]] = defaultdict(list)
        hidden = 0
        for pid, ino in self._scan(recheck).items():
            if ino is None:
                hidden += 1
            else:
                (stand_ins if self._surrogate.get(pid) else plain)[ino].append(pid)
        try:
            with open(f"{self._proc}/self/mountinfo", "rb") as f:
                mounts = nsfs_mounts(f.read())
        except OSError:
            mounts = {}
        links = self._linked(stand_ins, plain, mounts) if stand_ins else {}
        unmatched: set[int] = set()
        loose = {ino for ino in mounts if ino not in plain and ino != self._own}
        loose -= set(links.values())
        left = stand_ins.keys() - links.keys()
        if left and loose:
            matched, unmatched = self._match(left, stand_ins, loose, mounts, recheck)
            links.update(matched)
            left -= matched.keys()
        self._links = {tcp: (ino, frozenset(stand_ins[tcp])) for tcp, ino in links.items()}
        # Namespace (by its inode, or a stand-in's net/tcp inode) → its identities.
        known: dict[int, list[int]] = {ino: [ino] for ino in plain.keys() | mounts.keys()}
        known.setdefault(self._own, [self._own])
        for tcp, ino in sorted(links.items()):
            known.setdefault(ino, [ino]).insert(0, tcp)
        for tcp in sorted(left):
            known[tcp] = [tcp]
        peopled = {i for i, ids in known.items() if i in plain or i in left or len(ids) > 1}
        keys = self._keyed(known, left, stand_ins, peopled)
        namespaces: dict[int, FoundNamespace] = {}
        for ident, idents in known.items():
            key = keys[ident]
            masked = [p for tcp in idents if tcp in links for p in stand_ins[tcp]]
            every = sorted([*plain.get(ident, ()), *stand_ins.get(ident, ()), *masked])
            where = tuple(sorted(mounts.get(ident, ())))
            names = tuple(n for n in map(netns_name, where) if n is not None)
            stand_in = ident in left
            surrogate = key != ident or stand_in
            namespaces[key] = FoundNamespace(
                key, tuple(every), where, names, surrogate, tuple(sorted(masked)),
                ident in unmatched, None if stand_in or not surrogate else ident,
            )  # fmt: skip
        return Discovery(self._own, namespaces, hidden, self._initial)

    def _keyed(
        self,
        known: dict[int, list[int]],
        left: Container[int],
        stand_ins: dict[int, list[int]],
        peopled: Container[int],
    ) -> dict[int, int]:
        """Each namespace's key: the one it had last call (through any of its identities),
        else its inode, else a new stand-in key (:func:`stand_in_key`).

        Why kept: a namespace first seen through another user's process only, then by its
        inode (the user's own process entered it), is the same namespace: its sockets keep
        their InstanceIDs, rather than all close and come back under a new key.
        """
        before = self._keys
        taken: set[int] = set()
        keys: dict[int, int] = {}
        # Namespaces with processes first: their sockets are the ones a key names.
        for ident in sorted(known, key=lambda i: (i not in peopled, i)):
            old = [before[i] for i in known[ident] if i in before and before[i] not in taken]
            if old:
                key = old[0]
            elif ident not in left and ident not in taken:
                key = ident
            else:
                key = stand_in_key(min(stand_ins.get(ident) or [0]), taken | set(before.values()))
            keys[ident] = key
            taken.add(key)
        self._keys = {i: keys[ident] for ident, idents in known.items() for i in idents}
        return keys


def stand_in_key(pid: int, taken: Container[int]) -> int:
    """A namespace key that is visibly no inode: ``-PID`` of the process it was first found
    through (``-PID - n·2³²`` if a namespace of a reused PID still holds that; see
    :func:`core.connections.namespaces.key_text`)."""
    key = -pid if pid > 0 else -(1 << 32)
    while key in taken:
        key -= 1 << 32
    return key


def _apart(one: int | None, other: int | None) -> bool:
    """Whether two netns ids prove two namespaces different: both answered, and not both
    unassigned (an unassigned id is the same -1 for every namespace without one)."""
    return one is not None and other is not None and one != other
