"""Incremental socket-inode → PID resolution from ``/proc/<pid>/fd``.

Why: Linux has no API from a socket to its process; the only way is reading every
``/proc/<pid>/fd/*`` link (about 5.5 µs per fd here: 270 ms at 50k sockets). Doing that every
tick is what makes ``ss -p`` and psutil slow. This resolver pays it once (first tick), then per
new socket only, so steady-state cost follows churn, not the number of sockets:

* pass K: a socket whose owner died is looked up in the other fd tables already read;
* pass B: readlink the fd numbers that held sockets which vanished since the last tick
  (Linux hands out the lowest free fd, so a new socket usually lands exactly there);
* pass H: readlink the older free fd numbers of busy processes (holes: a vanished socket's
  fd that was still free when last read), lowest first, then the numbers just above each
  one's highest fd: where a socket lands when its process closed the old one only after
  opening the new one (an accept before the close of the connection it replaces);
* pass A: list ``/proc/<pid>/fd`` of processes, new and recently busy ones first, and
  readlink only fd numbers not seen before, stopping as soon as everything is found;
* pass C: re-check fds last seen as non-sockets (a closed file's fd reused by a socket);
* what is still missing goes to a negative cache: retried on the next tick, then less and
  less often (a kernel socket, or one held by a process in another PID namespace, is never
  found, and each retry lists every fd table).

Shared sockets (fork, SCM_RIGHTS): every process seen holding a socket is kept, and the owner
is the lowest of those PIDs, so the choice does not depend on scan order. The first tick reads
every fd table, and every process that appears later is read whole when it first shows up
(a forked child holds its parent's sockets), so those holders are complete; an fd passed to
a process that was already running is found when that process's table is next read.

An owner that exits between the sample's dump and its scan (``kill``, the app's K) leaves
sockets the dump still lists but no fd table holds: that sample is their last one alive and
what their ghost rows keep. Such a socket, found nowhere else, keeps the owner it had for that
sample only, and only when that process has exited (gone, a zombie, or exiting: see
:mod:`core.connections.sources.exit_check`); a live process at the PID (it closed the fd, or
it is a new process that reused the PID) is never named. The next tick looks again.

Privilege (``fs/proc/fd.c``, ``fs/proc/base.c``): listing another user's ``/proc/<pid>/fd``
needs the directory's owner or CAP_DAC_READ_SEARCH, and reading a link needs
``proc_fd_access_allowed`` → ``ptrace_may_access(PTRACE_MODE_READ_FSCREDS)``: same uid and
a dumpable process, or CAP_SYS_PTRACE. Unreadable tables are remembered so callers can say
"needs privilege" instead of "not found". A /proc mounted with ``hidepid`` lists no other
user's process at all (nothing is denied): there a socket of another uid that is not found is
"needs privilege" too (see :mod:`core.connections.sources.proc_mount`). Linux only; imports
nothing Linux-specific.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Final

from core.connections.model import OWNER_PRIVILEGE, OwnerStatus
from core.connections.snapshot import OWNERS_NOTE
from core.connections.sources.exit_check import has_exited
from core.connections.sources.fd_scan import (
    FdTable,
    ForkedScan,
    adopt_early,
    fd_inode,
)
from core.connections.sources.inode_set import InodeSet
from core.connections.sources.proc_mount import HidePid, hides_others

PRIVILEGE_REASON: Final = f"{OWNERS_NOTE}sockets held by other users' processes: {OWNER_PRIVILEGE}"
NEGATIVE_RETRY_TICKS: Final = 10
"""Ticks before the first periodic search for an inode not found (it may have been passed to
a new fd); the wait doubles after each search that fails, up to NEGATIVE_RETRY_MAX_TICKS.
Retries fall on multiples of their wait, so one scan serves every inode due."""
NEGATIVE_RETRY_MAX_TICKS: Final = 80
HOLE_MISSES: Final = 2
"""Pass H stops reading above a process's highest fd after this many numbers in a row that
hold nothing: fds are handed out lowest first, so no higher one is likely to hold a socket."""
_UNKNOWN: Final = -1
"""fd map value: this fd must be read again (its socket vanished)."""


@dataclass(slots=True)
class ResolveStats:
    """What one :meth:`PidResolver.resolve` call did (for bench and the header)."""

    wanted: int = 0
    readlinks: int = 0
    listdirs: int = 0
    passes: str = ""
    unresolved: int = 0


class PidResolver:
    """Keeps ``inode → pid`` plus each process's ``fd → inode`` map between ticks."""

    def __init__(self, proc: str = "/proc") -> None:
        """Start with empty caches; the first :meth:`resolve` does a full scan."""
        self._proc = proc
        self._owner: dict[int, int] = {}
        self._where: dict[int, str] = {}
        """Socket inode → the fd its owner (``_owner``) holds it by; the same str object as the
        key in ``_fds[owner]`` (a (pid, fd) tuple here was 56 bytes a socket)."""
        self._fds: dict[int, dict[str, int]] = {}
        self._denied: set[int] = set()
        self._hidden = hides_others(proc)
        """The mount's hidepid when it hides other users' processes from us (checked once: a
        remount under a running tcpscope is not followed)."""
        self._euid = os.geteuid()
        self._hot: dict[int, int] = {}
        self._holes: dict[int, set[str]] = {}
        """PID → fd numbers last seen free (or holding a socket that vanished, not read since):
        where its next sockets go."""
        self._top: dict[int, int] = {}
        """PID → its highest fd number known, once pass H needed it."""
        self._counts: dict[int, int] = {}
        """PID → its open fd count when pass A last listed its table."""
        self._negative: dict[int, tuple[int, int]] = {}
        """Inodes not found: the tick they were first missed, and the current wait."""
        self._tick = 0
        self._late: set[int] = set()
        """Inodes whose owner this tick found or lost outside ``wanted`` (a negative entry
        found in a table read for other sockets: a new process's, read whole): returned as
        changed, since no later search looks for them."""
        self._tracked = InodeSet()
        """Inodes the caller asked about and has not reported gone: its live sockets (8 bytes
        each: a set of them was 42 bytes a socket)."""
        self._holders: dict[int, set[int]] = {}
        """Socket inode → every PID seen holding it, for sockets held by more than one (the
        common single holder is ``_owner`` alone: nothing more to store per socket)."""
        self._regrouped: set[int] = set()
        """Tracked inodes whose set of holders changed in this tick."""
        self._lost: dict[int, int] = {}
        """Tracked inode → the owner it lost in this tick (that process died, or its fd of it
        is gone): what :attr:`_departed` is chosen from."""
        self._departed: dict[int, int] = {}
        """Inode → the owner that exited between this tick's dump and its scan, for a socket
        found nowhere else: still its owner for this tick (see the module docstring)."""
        self.dead_pids: list[int] = []
        """Known processes found dead in the last :meth:`resolve`."""
        self.stats = ResolveStats()
        self._first_scan: ForkedScan | None = None

    def prefetch(self) -> None:
        """Start the first tick's whole scan now, in a forked child when it can be (see
        :mod:`core.connections.sources.fd_scan`), so it runs while the caller dumps."""
        if self._tick == 0 and self._first_scan is None:
            early = adopt_early(self._proc)
            if early is None:
                pids = [int(name) for name in os.listdir(self._proc) if name.isdigit()]
                early = ForkedScan(self._proc, pids)
            self._first_scan = early

    @property
    def owners_denied(self) -> bool:
        """Whether some live socket's owner is not known because fd tables were unreadable
        (:meth:`owner` says NEEDS_PRIVILEGE of it): one not found while some table was
        denied. Why not any denied table: root's and other users' tables are always
        unreadable to a user, yet in that user's own namespace every socket is found in the
        user's own tables, and none of them needs privilege."""
        if not self._denied:
            return False
        known, departed, held = self._owner, self._departed, self._holders
        return any(i not in known and i not in departed and not held.get(i) for i in self._negative)

    @property
    def hidepid(self) -> HidePid | None:
        """The proc mount's ``hidepid`` when it hides other users' processes from us."""
        return self._hidden

    def owner(self, inode: int, uid: int | None = None) -> tuple[int | None, OwnerStatus]:
        """The owner of a socket inode as of the last :meth:`resolve`: the lowest PID of
        those holding it. ``uid`` (the socket's, from the dump) tells a socket of another
        user, whose owner hidepid hides, from one that was not found."""
        if not inode:
            return None, OwnerStatus.NO_OWNER
        held = self._holders.get(inode)
        if held:
            return min(held), OwnerStatus.FOUND
        pid = self._owner.get(inode)
        if pid is None:
            pid = self._departed.get(inode)
        if pid is not None:
            return pid, OwnerStatus.FOUND
        if self._denied or (self._hidden and uid is not None and uid != self._euid):
            return None, OwnerStatus.NEEDS_PRIVILEGE
        return None, OwnerStatus.NOT_FOUND

    def ownership(
        self, inode: int, uid: int | None = None
    ) -> tuple[int | None, OwnerStatus, tuple[int, ...], int]:
        """:meth:`owner` and :meth:`holders` in one call (a first sample asks for every
        socket), and ``inode`` as the int object the fd tables hold: a record that keeps that
        one adds no int of its own (32 bytes a socket)."""
        pid = self._owner.get(inode) if inode else None
        kept = inode
        if pid is not None:
            kept = self._fds[pid].get(self._where[inode], inode)
            if kept != inode:  # (the owner's fd holds another socket now: never, but no guess)
                kept = inode
        held = self._holders.get(inode) if inode else None
        if held:
            return min(held), OwnerStatus.FOUND, tuple(sorted(held)), kept
        if pid is not None:
            return pid, OwnerStatus.FOUND, (), kept
        return (*self.owner(inode, uid), (), inode)

    def ownerships(
        self, inodes: Sequence[int], uids: Sequence[int] | None = None
    ) -> tuple[list[int | None], list[OwnerStatus], list[tuple[int, ...]], list[int]]:
        """:meth:`ownership` of each of ``inodes`` (of the sockets of ``uids``), as four
        columns, by C-level lookups where the answer is the common one (one holder, found): a
        first sample asks for 50k."""
        pids = list(map(self._owner.get, inodes))
        statuses = [OwnerStatus.FOUND] * len(pids)
        held: list[tuple[int, ...]] = [()] * len(pids)
        fds, where = self._fds, self._where
        kept = [
            inode if pid is None or (its := fds[pid].get(where[inode], inode)) != inode else its
            for pid, inode in zip(pids, inodes, strict=True)
        ]
        # The uncommon answers by ownership() itself: no owner found, inode 0, several holders.
        pairs = enumerate(zip(pids, inodes, strict=True))
        odd = [i for i, (pid, ino) in pairs if pid is None or not ino]
        if self._holders:
            shared = self._holders.keys() & set(inodes)
            odd += [i for i, ino in enumerate(inodes) if ino in shared] if shared else []
        for i in odd:
            uid = None if uids is None else uids[i]
            pids[i], statuses[i], held[i], kept[i] = self.ownership(inodes[i], uid)
        return pids, statuses, held, kept

    def holders(self, inode: int) -> tuple[int, ...]:
        """Every PID seen holding ``inode``, ascending, when more than one does; ``()`` when
        :meth:`owner`'s PID holds it alone (or nobody is known to)."""
        held = self._holders.get(inode) if inode else None
        return tuple(sorted(held)) if held else ()

    def resolve(self, new: Collection[int], gone: Iterable[int]) -> set[int]:
        """Update the caches for one tick.

        Args:
            new: socket inodes (non-zero) seen for the first time, or whose record changed.
            gone: socket inodes that vanished since the last call.

        Returns:
            Inodes not in ``new`` whose owner changed (their process died while the socket
            lives on in another one, or a negative entry was found after all): the caller
            should refresh those records.
        """
        self._tick += 1
        stats = self.stats = ResolveStats()
        self._regrouped = set()
        self._late = set()  # (before pass newborn: it finds negative entries too)
        self._lost = {}
        departed, self._departed = self._departed, {}
        candidates = self._forget(gone)
        tracked = self._tracked
        first = self._tick == 1
        if not first:  # (the first tick's are added after its scan, below)
            tracked.update(i for i in new if i)
        # Last tick's departed owners were for that tick only: their sockets are looked up again.
        changed: set[int] = tracked.among(departed) if departed else set()
        pids, dead = self._refresh_pids()
        wanted = set(filter(None, new)).difference(self._owner)  # (C calls: 50k on a first)
        self.dead_pids = dead
        for pid in dead:
            # Sockets of a dead process that the caller still sees live on in another one.
            orphans = tracked.among(self._drop_pid(pid))
            self._lost.update(dict.fromkeys(orphans, pid))
            changed |= orphans
        if self._tick > 1:
            self._pass_newborn(pids, wanted)
        wanted |= changed
        due = self._due_negatives(new)
        # Only a periodic search for sockets not found before: tables whose fd count did not
        # move since they were listed are not listed again (see _pass_a).
        light = bool(due) and wanted <= due and not self._thorough(due)
        wanted |= due
        stats.wanted = len(wanted)
        found: set[int] = set()
        if first and (wanted or self._first_scan is not None):
            stats.passes += "A"
            self._pass_first(pids, wanted, found)
        if first:
            tracked.update(filter(None, new))
        if not wanted:
            self._keep_departed()
            return changed | (tracked.among(self._regrouped | self._late) - set(new))
        if changed:
            stats.passes += "K"
            self._pass_known(changed, wanted, found)
        if candidates and not first and len(found) < len(wanted):
            stats.passes += "B"
            self._pass_b(candidates, pids, wanted, found)
        if self._holes and not first and len(found) < len(wanted):
            stats.passes += "H"
            just_read: dict[int, set[str]] = {}
            for pid, fd in candidates:
                just_read.setdefault(pid, set()).add(fd)
            self._pass_h(pids, just_read, wanted, found)
        if len(found) < len(wanted) and not first:
            stats.passes += "a" if light else "A"
            self._pass_a(pids, wanted, found, light=light)
        if len(found) < len(wanted) and not first and not light:
            stats.passes += "C"
            self._pass_c(wanted, found)
        missing = wanted - found
        for ino in missing:
            entry = self._negative.get(ino)
            if entry is None:
                self._negative[ino] = (self._tick, NEGATIVE_RETRY_TICKS)
            elif ino in due and entry[0] != self._tick - 1:  # a periodic search failed
                self._negative[ino] = (entry[0], min(entry[1] * 2, NEGATIVE_RETRY_MAX_TICKS))
        stats.unresolved = len(missing)
        self._keep_departed()
        # Inodes the caller did not ask about now but whose owner we know better (late finds).
        regrouped = tracked.among(self._regrouped) - set(new)
        return changed | regrouped | tracked.among(self._late) | (found - set(new))

    # -- bookkeeping -------------------------------------------------------------------

    def _keep_departed(self) -> None:
        """Sockets that lost their owner in this tick and were found nowhere else keep it for
        this tick when that process has exited: it exited after the dump that listed them."""
        exited: dict[int, bool] = {}  # (one stat read per process, not per socket)
        for ino, pid in self._lost.items():
            if ino in self._owner or ino not in self._tracked:
                continue
            if pid not in exited:
                exited[pid] = has_exited(pid, self._proc)
            if exited[pid]:
                self._departed[ino] = pid

    def _forget(self, gone: Iterable[int]) -> list[tuple[int, str]]:
        candidates: list[tuple[int, str]] = []
        for ino in gone:
            self._tracked.discard(ino)
            self._holders.pop(ino, None)
            self._negative.pop(ino, None)
            pid = self._owner.pop(ino, None)
            fd = self._where.pop(ino, None)
            if pid is None or fd is None:
                continue
            fds = self._fds.get(pid)
            if fds is not None and fds.get(fd) == ino:
                fds[fd] = _UNKNOWN
                candidates.append((pid, fd))
                self._holes.setdefault(pid, set()).add(fd)
                self._hot[pid] = self._tick
        return candidates

    def _refresh_pids(self) -> tuple[list[int], list[int]]:
        """Live PIDs (new and recently busy first) and known PIDs that died."""
        live = {int(name) for name in os.listdir(self._proc) if name.isdigit()}
        known = self._fds.keys() | self._denied
        dead = [pid for pid in known if pid not in live]
        tick = self._tick
        order = sorted(
            live,
            key=lambda pid: tick + 1 if pid not in known else self._hot.get(pid, 0),
            reverse=True,
        )
        return order, dead

    def _drop_pid(self, pid: int) -> set[int]:
        """Forget a dead process; return the socket inodes it was recorded as owning."""
        self._denied.discard(pid)
        self._hot.pop(pid, None)
        self._holes.pop(pid, None)
        self._top.pop(pid, None)
        self._counts.pop(pid, None)
        orphans: set[int] = set()
        for fd, ino in (self._fds.pop(pid, None) or {}).items():
            if ino > 0:
                self._let_go(ino, pid)
            if ino > 0 and self._holds(ino, pid, fd):
                del self._where[ino]
                del self._owner[ino]
                orphans.add(ino)
        return orphans

    def _due_negatives(self, new: Collection[int]) -> set[int]:
        """Negative entries to look for again: once on the next tick (a socket caught between
        its creation and its fd install), then on multiples of each entry's wait."""
        if not self._negative:
            return set()
        tick = self._tick
        due = {
            ino
            for ino, (since, wait) in self._negative.items()
            if since == tick - 1 or (tick % wait == 0 and tick - since >= wait)
        }
        return due - set(new) if due else due

    def _thorough(self, due: set[int]) -> bool:
        """Whether a search for ``due`` must list every table: one of them was missed on the
        last tick (caught before its fd was installed), or waits the longest already."""
        tick = self._tick
        negative = self._negative
        return any(
            negative[ino][0] == tick - 1 or negative[ino][1] >= NEGATIVE_RETRY_MAX_TICKS
            for ino in due
        )

    def _holds(self, ino: int, pid: int, fd: str) -> bool:
        """``pid``'s ``fd`` is where ``ino``'s owner was found."""
        return self._owner.get(ino) == pid and self._where.get(ino) == fd

    def _let_go(self, ino: int, pid: int) -> None:
        """``pid`` no longer holds ``ino`` (it died, or closed its last fd of it)."""
        held = self._holders.get(ino)
        if held is not None and pid in held:
            held.discard(pid)
            if len(held) < 2:
                del self._holders[ino]  # one holder left: _owner says who (pass K finds it)
            self._regrouped.add(ino)

    def _share(self, ino: int, pid: int) -> None:
        """``pid`` holds ``ino`` too, besides its recorded owner (fork, SCM_RIGHTS)."""
        held = self._holders.get(ino)
        if held is None:
            held = self._holders[ino] = {self._owner[ino]}
        if pid not in held:
            held.add(pid)
            self._regrouped.add(ino)

    def _record(self, ino: int, pid: int, fd: str, found: set[int], wanted: set[int]) -> None:
        fds = self._fds.setdefault(pid, {})
        fds[fd] = ino
        holes = self._holes.get(pid)
        if holes:
            holes.discard(fd)
        top = self._top.get(pid)
        if top is not None and int(fd) > top:
            self._top[pid] = int(fd)
        if ino <= 0:
            return
        if ino not in self._owner:
            self._owner[ino] = pid
            self._where[ino] = fd
        elif self._owner[ino] != pid:
            self._share(ino, pid)
        if ino in wanted:
            found.add(ino)
        elif self._negative.pop(ino, None) is not None:
            self._late.add(ino)

    def _readlink(self, pid: int, fd: str) -> int | None:
        """Inode of the socket at ``/proc/pid/fd/fd``; 0 for a non-socket; None if gone."""
        self.stats.readlinks += 1
        try:
            return fd_inode(f"{self._proc}/{pid}/fd/{fd}")
        except PermissionError:  # (fd_scan.fd_inode)
            self._denied.add(pid)
            return None

    # -- passes ------------------------------------------------------------------------

    def _pass_known(self, orphans: set[int], wanted: set[int], found: set[int]) -> None:
        """Orphans another process was already seen holding (fork, fd passing): no I/O."""
        for pid, fds in self._fds.items():
            for fd, ino in fds.items():
                if ino in orphans and ino not in self._owner:
                    self._record(ino, pid, fd, found, wanted)

    def _pass_b(
        self,
        candidates: list[tuple[int, str]],
        live: list[int],
        wanted: set[int],
        found: set[int],
    ) -> None:
        alive = set(live)
        by_pid: dict[int, list[str]] = {}
        for pid, fd in candidates:
            if pid in alive:
                by_pid.setdefault(pid, []).append(fd)
        for pid, fds in by_pid.items():
            try:
                dfd = os.open(f"{self._proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
            except OSError:  # exited meanwhile (or denied: pass A says so)
                continue
            try:
                for fd in fds:
                    self._read_into(pid, fd, dfd, wanted, found)
                    if len(found) == len(wanted):
                        return
            finally:
                os.close(dfd)

    def close(self) -> None:
        """Stop a first scan still running (see :meth:`prefetch`)."""
        if self._first_scan is not None:
            self._first_scan.cancel()
            self._first_scan = None

    def _pass_first(self, pids: list[int], wanted: set[int], found: set[int]) -> None:
        """The first tick: every process's whole fd table (read by a forked child if
        :meth:`prefetch` started one)."""
        scan = self._first_scan or ForkedScan(self._proc, pids, fork=False)
        self._first_scan = None
        for table in scan.result():
            self._absorb(table, wanted, found)

    def _absorb(self, table: FdTable, wanted: set[int], found: set[int]) -> None:
        """Record one fd table of the first scan (no table is known yet)."""
        pid = table.pid
        self.stats.listdirs += 1
        if table.fds is None:
            self._denied.add(pid)
            return
        self.stats.readlinks += len(table.fds)
        fds = self._fds[pid] = dict(zip(table.fds, table.inodes, strict=True))
        owner, where = self._owner, self._where
        # Most tables hold sockets no table read before, each by one fd: stored in bulk (C
        # calls; one step per fd was ~20 ms of a first sample at 50k sockets).
        held = dict.fromkeys(compress(table.inodes, table.inodes), pid)
        if len(held) == len(fds) - table.inodes.count(0) and owner.keys().isdisjoint(held):
            owner.update(held)
            where.update(zip(held, compress(table.fds, table.inodes), strict=True))
            found.update(wanted.intersection(held))
            return
        for fd, ino in fds.items():
            if not ino:
                continue
            if ino not in owner:
                owner[ino] = pid
                where[ino] = fd
            elif owner[ino] != pid:
                self._share(ino, pid)
            if ino in wanted:
                found.add(ino)

    def _pass_a(
        self, pids: list[int], wanted: set[int], found: set[int], *, light: bool = False
    ) -> None:
        """List fd tables and read the fds not seen before; ``light``: skip the tables whose
        fd count (``st_size`` of ``/proc/PID/fd``, Linux 6.2+; 0 before) is the one they had
        when last listed. A periodic search for a socket not found then costs a stat per
        process, not a listing of every fd of the host (~85 ms at 50k sockets)."""
        for pid in pids:
            if pid in self._denied:
                continue
            try:
                # One directory fd per process: each readlink then skips the path walk, and a
                # PID reused mid-scan cannot mix two processes' tables.
                dfd = os.open(f"{self._proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
            except PermissionError:
                self._denied.add(pid)
                continue
            except OSError:  # exited meanwhile
                continue
            try:
                count = os.fstat(dfd).st_size
                if light and count and self._counts.get(pid) == count:
                    continue
                self.stats.listdirs += 1
                self._counts[pid] = count
                self._scan_pid(pid, dfd, wanted, found)
            finally:
                os.close(dfd)
            if len(found) == len(wanted):
                return

    def _scan_pid(self, pid: int, dfd: int, wanted: set[int], found: set[int]) -> None:
        """List one process's fds (open as ``dfd``) and read the ones not seen before."""
        try:
            names = os.listdir(dfd)
        except PermissionError:
            self._denied.add(pid)
            return
        except OSError:
            return
        fds = self._fds.setdefault(pid, {})
        listed = set(names)
        self._top.pop(pid, None)
        for fd in [fd for fd in fds if fd not in listed]:
            closed = fds.pop(fd)
            self._holes.setdefault(pid, set()).add(fd)
            if closed > 0 and closed not in fds.values():
                self._let_go(closed, pid)
            if closed > 0 and self._holds(closed, pid, fd):
                # Closed here; if the socket lives on elsewhere its record needs a refresh.
                del self._where[closed]
                self._owner.pop(closed, None)
                self._late.add(closed)
                self._lost[closed] = pid
        unseen = [fd for fd in names if fds.get(fd, _UNKNOWN) == _UNKNOWN]
        self.stats.readlinks += len(unseen)
        try:
            for fd in unseen:
                ino = fd_inode(fd, dfd)
                if ino is not None:
                    self._record(ino, pid, fd, found, wanted)
        except PermissionError:  # listed but not readable (fd_scan.fd_inode)
            self._denied.add(pid)

    def _pass_h(
        self,
        pids: list[int],
        just_read: dict[int, set[str]],
        wanted: set[int],
        found: set[int],
    ) -> None:
        """Older holes and the fds above the highest of each process with holes, new and
        busy processes first (``just_read``: the fds pass B read in this tick, by PID)."""
        for pid in pids:
            holes = self._holes.get(pid)
            if not holes or pid in self._denied:
                continue
            try:
                dfd = os.open(f"{self._proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
            except OSError:  # exited meanwhile (or denied: pass A says so)
                continue
            try:
                self._fill_holes(pid, dfd, just_read.get(pid, set()), wanted, found)
            finally:
                os.close(dfd)
            if len(found) == len(wanted):
                return

    def _fill_holes(
        self, pid: int, dfd: int, just_read: set[str], wanted: set[int], found: set[int]
    ) -> None:
        """Read ``pid``'s holes lowest first, then the fd numbers above its highest.

        A hole may read empty though a higher one holds a new socket (its old socket's fd was
        closed only after the new one was opened): so the holes are read until as many
        came up empty as sockets are still missing (at least :data:`HOLE_MISSES`), the fds
        above the highest until :data:`HOLE_MISSES` in a row hold nothing.
        """
        fds = self._fds.setdefault(pid, {})
        allowed = max(HOLE_MISSES, len(wanted) - len(found))
        misses = 0
        for fd in sorted(self._holes[pid] - just_read, key=int):
            if not self._read_into(pid, fd, dfd, wanted, found):
                misses += 1
                if misses >= allowed:
                    break
            if len(found) == len(wanted):
                return
        top = self._top.get(pid)
        if top is None:
            top = self._top[pid] = max(map(int, fds), default=-1)
        fd_no, misses = top + 1, 0
        while misses < HOLE_MISSES and len(found) < len(wanted):
            misses = 0 if self._read_into(pid, str(fd_no), dfd, wanted, found) else misses + 1
            fd_no += 1

    def _read_into(self, pid: int, fd: str, dfd: int, wanted: set[int], found: set[int]) -> bool:
        """Read one free or freed fd of ``pid`` (its fd directory open as ``dfd``) into the
        tables; False when it holds nothing.

        A socket there that is neither asked for nor live (the dump no longer lists it: its
        process has not closed it yet; or not a TCP socket) leaves the fd a hole, to be read
        again: recorded, the fd would be taken for known when a new socket replaces it.
        """
        self.stats.readlinks += 1
        try:
            ino = fd_inode(fd, dfd)
        except PermissionError:  # (fd_scan.fd_inode)
            self._denied.add(pid)
            return False
        fds = self._fds.setdefault(pid, {})
        if ino is None:
            fds.pop(fd, None)
            self._holes.setdefault(pid, set()).add(fd)
            return False
        if ino and ino not in wanted and ino not in self._tracked:
            fds[fd] = _UNKNOWN
            self._holes.setdefault(pid, set()).add(fd)
            return True
        self._record(ino, pid, fd, found, wanted)
        return True

    def _pass_newborn(self, pids: list[int], wanted: set[int]) -> None:
        """Read the whole fd table of every process that appeared since the last tick.

        Why: a forked child holds its parent's sockets, and the owner rule (the lowest PID)
        needs every holder. Cost follows process churn: a few fds per new process. A socket
        not found before may be here (its process started while the first scan ran, after it
        listed /proc): it is reported as changed (``_late``), as no search looks for it again.
        """
        known = self._fds.keys() | self._denied
        found: set[int] = set()
        for pid in pids:
            if pid in known:
                break  # new PIDs come first (see _refresh_pids)
            try:
                dfd = os.open(f"{self._proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
            except PermissionError:
                self._denied.add(pid)
                continue
            except OSError:
                continue
            try:
                self._scan_pid(pid, dfd, wanted, found)
            finally:
                os.close(dfd)
        wanted -= found

    def _pass_c(self, wanted: set[int], found: set[int]) -> None:
        for pid, fds in list(self._fds.items()):
            for fd in [fd for fd, ino in fds.items() if ino == 0]:
                ino = self._readlink(pid, fd)
                if ino is None:
                    fds.pop(fd, None)
                elif ino:
                    self._record(ino, pid, fd, found, wanted)
            if len(found) == len(wanted):
                return
