"""Finding every network namespace on the host: processes' ``ns/net`` links and nsfs mounts.

Why both: a namespace lives while a process is in it *or* a file keeps it (``ip netns add``
bind-mounts it under ``/run/netns``; Docker and Podman keep theirs under their own run
directories), so a named namespace may hold listeners with no process of its own. A
namespace is known by its nsfs inode, the number ``ip netns identify`` and ``lsns`` show.

Cost: one ``stat`` per process the first time it is seen (≈3 µs), then only
``listdir(/proc)`` and ``/proc/self/mountinfo`` per call; every :data:`RECHECK_EVERY` calls
every process is looked at again (``ip netns exec`` forks first, then enters).

Without privilege another user's ``/proc/PID/ns/net`` cannot be read, but its
``/proc/PID/net/tcp`` can, and that file's inode is one per namespace: it then keys the
namespace, as a stand-in (:attr:`FoundNamespace.surrogate`) that is never shown as the
namespace's inode. Such a namespace is matched to its nsfs file (and so gets its true inode
and ``ip netns`` name) when both have the same netns id (:mod:`core.netns.nsid`); a file
that no id tells apart from the stand-ins is :attr:`FoundNamespace.unmatched`.
"""

from __future__ import annotations

import errno
import os
from collections import defaultdict
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
    """nsfs inode; or, when :attr:`surrogate`, a stand-in: the inode of its
    ``/proc/PID/net/tcp`` (a key, not the namespace's inode: never show it as one)."""
    pids: tuple[int, ...] = ()
    """Host PIDs in it, ascending (empty: kept alive by a mount only)."""
    mounts: tuple[str, ...] = ()
    """nsfs mounts of it (``/run/netns/NAME``, a runtime's netns file)."""
    netns_names: tuple[str, ...] = ()
    """Its ``ip netns`` names."""
    surrogate: bool = False
    """True: the namespace's own inode could not be read (another user's process) nor
    matched to an nsfs file: :attr:`inode` is a stand-in."""
    masked: tuple[int, ...] = ()
    """Those of :attr:`pids` whose ``ns/net`` link cannot be opened (see Discoverer._unmask)."""
    unmatched: bool = False
    """A mount with no process seen in it that may be one of the :attr:`surrogate`
    namespaces: no netns id tells them apart (see :mod:`core.netns.nsid`)."""

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


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every namespace found in one call."""

    own: int
    """The namespace tcpscope runs in."""
    namespaces: dict[int, FoundNamespace]
    """By inode, :attr:`own` included."""
    hidden_pids: int = 0
    """Processes whose namespace could not be told at all (hidepid, races)."""


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    if "\\" not in field:
        return field
    out = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def nsfs_mounts(mountinfo: str) -> dict[int, list[str]]:
    """Mount points of network namespaces in a ``/proc/self/mountinfo`` text, by inode."""
    found: dict[int, list[str]] = defaultdict(list)
    for line in mountinfo.splitlines():
        if " - nsfs " not in line:
            continue
        fields = line.split(" ", 5)
        if len(fields) < 5:
            continue
        root = fields[3]
        if root.startswith("net:[") and root.endswith("]") and root[5:-1].isdigit():
            found[int(root[5:-1])].append(_unescape(fields[4]))
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
        """pid → namespace inode (None: could not be told)."""
        self._surrogate: dict[int, bool] = {}
        self._masked: set[int] = set()
        """PIDs unmasked by _unmask: in a known namespace, their link unreadable."""
        self._calls = 0
        self._own = os.stat(f"{proc}/self/ns/net").st_ino
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

    def _unmask(self, by_pid: dict[int, int | None]) -> None:
        """Give surrogates whose namespace is also reached through a readable process that
        namespace's own inode.

        Why: a process whose ``ns/net`` link cannot be read (ptrace access denied: another
        user's, or one holding capabilities tcpscope lacks) may live in a namespace other
        processes show plainly, e.g. the host's when tcpscope runs under ``ip netns exec``.
        Its ``net/tcp`` inode then equals theirs, and it must not count as a namespace of
        its own (read twice, and said to need a privilege tcpscope has).
        """
        plain: dict[int, int] = {}
        done: set[int] = set()
        for pid, ino in by_pid.items():
            if ino is None or self._surrogate.get(pid) or ino in done:
                continue
            try:
                plain[os.stat(f"{self._proc}/{pid}/net/tcp").st_ino] = ino
            except OSError:
                continue
            done.add(ino)
        for pid, surrogate in list(self._surrogate.items()):
            real = plain.get(by_pid.get(pid) or 0) if surrogate else None
            if real is not None:
                by_pid[pid] = real
                self._surrogate[pid] = False
                self._masked.add(pid)

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

    def discover(self) -> Discovery:
        """Every namespace with a process or a mount in it, now."""
        self._calls += 1
        recheck = self._calls % RECHECK_EVERY == 0
        live = [int(n) for n in os.listdir(self._proc) if n.isdigit()]
        by_pid = self._by_pid
        fresh: dict[int, int | None] = {}
        for pid in live:
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
        self._masked &= fresh.keys()
        if any(self._surrogate.values()):
            self._unmask(fresh)
        pids: dict[int, list[int]] = defaultdict(list)
        masked: dict[int, list[int]] = defaultdict(list)
        surrogate: set[int] = set()
        hidden = 0
        for pid, ino in fresh.items():
            if ino is None:
                hidden += 1
                continue
            pids[ino].append(pid)
            if self._surrogate.get(pid):
                surrogate.add(ino)
            elif pid in self._masked:
                masked[ino].append(pid)
        try:
            with open(f"{self._proc}/self/mountinfo", encoding="utf-8", errors="replace") as f:
                mounts = nsfs_mounts(f.read())
        except OSError:
            mounts = {}
        unmatched: set[int] = set()
        loose = {ino for ino in mounts if ino not in pids and ino != self._own}
        if surrogate and loose:
            links, unmatched = self._match(surrogate, pids, loose, mounts, recheck)
            for stand_in, ino in links.items():
                pids[ino] = pids.pop(stand_in)
                masked[ino] = list(pids[ino])  # their ns/net links cannot be opened
                surrogate.discard(stand_in)
        namespaces: dict[int, FoundNamespace] = {}
        for ino in pids.keys() | mounts.keys() | {self._own}:
            where = tuple(sorted(mounts.get(ino, ())))
            names = tuple(n for n in map(netns_name, where) if n is not None)
            namespaces[ino] = FoundNamespace(
                ino, tuple(sorted(pids.get(ino, ()))), where, names, ino in surrogate,
                tuple(sorted(masked.get(ino, ()))), ino in unmatched,
            )  # fmt: skip
        return Discovery(self._own, namespaces, hidden)


def _apart(one: int | None, other: int | None) -> bool:
    """Whether two netns ids prove two namespaces different: both answered, and not both
    unassigned (an unassigned id is the same -1 for every namespace without one)."""
    return one is not None and other is not None and one != other
