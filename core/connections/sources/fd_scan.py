"""A first, whole scan of every ``/proc/<pid>/fd``, run in a forked child while the parent dumps.

Why: a cold sample (``tcpscope connections``) needs every socket's owner, and the only way to
it is one ``readlink`` per fd of every process: at 50k sockets that is about a fifth of a
second, as long as the kernel's dump and its parsing together. The machine has more than one
core and ``ss -p`` uses one; so the scan runs in a child process forked before the dump,
on the other core, and hands its findings back through a pipe as one flat array of machine
integers (no pickling, a few hundred KiB at 50k sockets). When the parent is done with the dump
before the child is done with the scan, it reads tables too, from the other end of the list
of processes, until the two meet (claims in a few bytes of shared memory). A thread would not
do: the Python around each ``readlink`` needs the GIL the parent's parsing holds.

The child is forked only while the process has a single thread (a fork copies just the
calling thread, and a lock another thread held would stay held in the child); otherwise,
or when the fork fails, the same scan runs in-process. Linux only; imports nothing
Linux-specific.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import signal
import struct
import threading
from array import array
from collections.abc import Iterable, Iterator
from typing import Final, NamedTuple

_SOCKET_PREFIX: Final = "socket:["
DENIED: Final = -1
"""The fd count of a process whose table could not be listed (permission)."""
_TYPECODE: Final = "q"


class FdTable(NamedTuple):
    """One process's fd table: fd numbers and, per fd, its socket inode (0: not a socket).

    ``fds`` is None when the table could not be read for lack of permission."""

    pid: int
    fds: list[str] | None
    inodes: list[int]


def fd_inode(fd: str, dfd: int | None = None) -> int | None:
    """The socket inode behind fd ``fd`` of the fd directory open as ``dfd`` (None: ``fd`` is
    the link's whole path); 0 when it is not a socket, None when it closed meanwhile.

    Raises:
        PermissionError: the table could be listed but not read: no ptrace read access to
            its process (root without CAP_SYS_PTRACE, as in a default container, looking
            at another user's process). It holds for the whole table.
    """
    try:
        target = os.readlink(fd, dir_fd=dfd)
    except PermissionError:
        if ptrace_capable():
            return None  # protected beyond any capability (see ptrace_capable)
        raise
    except OSError:
        return None
    return int(target[8:-1]) if target.startswith(_SOCKET_PREFIX) else 0


_CAP_SYS_PTRACE: Final = 19


@functools.cache
def ptrace_capable(status: str = "/proc/self/status") -> bool:
    """Whether CAP_SYS_PTRACE is in effect here. Then a link that still cannot be read is
    kept from every capability (an LSM, a hypervisor's init process): it is taken as gone,
    as before, since no privilege the note could name would read it."""
    try:
        with open(status, encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_PTRACE & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


_SCANNED: Final = [0]
"""fds read so far by :func:`scan` in this process, ever (see :func:`scanned`)."""
_LIVE: Final[set[ForkedScan]] = set()
"""Scans whose child is still running: their children's counts are progress too."""


def scanned() -> int:
    """How many fds this process and its live scanning children have read so far: a sampler
    tells a slow first scan (250k sockets on a loaded host) from a hung one by it moving, also
    while the parent only waits for a child reading one process's tens of thousands of fds."""
    return _SCANNED[0] + sum(scan.child_scanned() for scan in list(_LIVE))


def scan(
    proc: str, pids: Iterable[int], count: list[int] | memoryview[int] = _SCANNED
) -> array[int]:
    """Every fd of ``pids`` as a flat array: per process ``pid, n`` then ``n`` pairs of
    ``fd, inode`` (inode 0: not a socket); ``n`` is :data:`DENIED` for an unreadable table.

    Processes that exit meanwhile are left out, as are fds closed between list and read.
    ``count[0]`` grows by one per fd read (a forked child's count is in shared memory).
    """
    out: array[int] = array(_TYPECODE)
    flags = os.O_RDONLY | os.O_DIRECTORY
    for pid in pids:
        try:
            # One directory fd per process: each readlink then skips the path walk, and a
            # PID reused mid-scan cannot mix two processes' tables.
            dfd = os.open(f"{proc}/{pid}/fd", flags)
        except PermissionError:
            out.extend((pid, DENIED))
            continue
        except OSError:  # exited meanwhile
            continue
        try:
            names = os.listdir(dfd)
        except PermissionError:
            os.close(dfd)
            out.extend((pid, DENIED))
            continue
        except OSError:
            os.close(dfd)
            continue
        pairs: list[int] = []
        add = pairs.append
        try:
            for fd in names:
                count[0] += 1
                ino = fd_inode(fd, dfd)
                if ino is not None:
                    add(int(fd))
                    add(ino)
        except PermissionError:  # listed, but its links are not readable (see fd_inode)
            os.close(dfd)
            out.extend((pid, DENIED))
            continue
        os.close(dfd)
        out.extend((pid, len(pairs) // 2))
        out.extend(pairs)
    return out


_FD_NAMES: Final[list[str]] = []
"""``str(n)`` for fd numbers 0, 1, 2, …: one object per number, shared by every process's fd
table (processes with thousands of sockets number their fds alike; about 50 bytes a socket)."""
_SHARED_FDS: Final = 1 << 20
"""Fd numbers below this share their name (Linux's default ``fs.nr_open`` limit)."""


def fd_names(fds: Iterable[int]) -> list[str]:
    """The directory entry names of fd numbers, as ``os.listdir`` gives them."""
    names = _FD_NAMES
    out: list[str] = []
    for fd in fds:
        if fd >= len(names):
            if fd >= _SHARED_FDS:
                out.append(str(fd))
                continue
            names.extend(map(str, range(len(names), fd + 1)))
        out.append(names[fd])
    return out


def tables(flat: array[int]) -> list[FdTable]:
    """The fd tables of a :func:`scan` array."""
    found: list[FdTable] = []
    i, end = 0, len(flat)
    while i + 1 < end:
        pid, n = flat[i], flat[i + 1]
        i += 2
        if n == DENIED:
            found.append(FdTable(pid, None, []))
            continue
        stop = i + 2 * n
        found.append(FdTable(pid, fd_names(flat[i:stop:2]), flat[i + 1 : stop : 2].tolist()))
        i = stop
    return found


class ForkedScan:
    """A :func:`scan` running in a child process; :meth:`result` collects it.

    Falls back to scanning in-process (in :meth:`result`) when the process has other threads
    or the fork fails, so the outcome never depends on how it was obtained.
    """

    def __init__(self, proc: str, pids: list[int], *, fork: bool = True) -> None:
        """Fork the scanning child now (``fork`` and a single-threaded process only)."""
        self.proc = proc
        self._proc = proc
        self._pids = pids
        self._child = 0
        self._read = -1
        self._shared: mmap.mmap | None = None
        if not fork or threading.active_count() != 1 or not hasattr(os, "fork"):
            return
        try:
            # anonymous, shared with the child: the claims, then the child's fd count
            shared = mmap.mmap(-1, _CLAIMS.size + _CHILD_COUNT.size)
            read, write = os.pipe()
        except OSError:
            return
        _CLAIMS.pack_into(shared, 0, 0, len(pids))
        try:
            child = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if child == 0:  # the child: scan, send, exit without running any parent cleanup
            code = 1
            try:
                os.close(read)
                count = memoryview(shared)[_CLAIMS.size :].cast(_TYPECODE)
                data = scan(proc, _from_front(pids, shared), count).tobytes()
                view = memoryview(data)
                while view:
                    view = view[os.write(write, view) :]
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._child, self._read, self._shared = child, read, shared
        _LIVE.add(self)

    def _retire(self) -> None:
        """The child is reaped: its count joins this process's, so :func:`scanned` only grows."""
        _SCANNED[0] += self.child_scanned()
        _LIVE.discard(self)
        self._child = 0
        if self._shared is not None:
            self._shared.close()

    def child_scanned(self) -> int:
        """How many fds the child has read so far (0 without one)."""
        shared = self._shared
        if not self._child or shared is None:
            return 0
        try:
            return int(_CHILD_COUNT.unpack_from(shared, _CLAIMS.size)[0])
        except ValueError:  # closed meanwhile by the sampling thread
            return 0

    @property
    def forked(self) -> bool:
        """Whether a child is scanning."""
        return self._child != 0

    def cancel(self) -> None:
        """Stop and reap the child, if any (its result is not wanted any more)."""
        if self._child:
            with contextlib.suppress(OSError):
                os.kill(self._child, signal.SIGKILL)
            os.close(self._read)
            os.waitpid(self._child, 0)
            self._retire()

    def result(self) -> list[FdTable]:
        """The fd tables (waits for the child; scans here if there is none or it failed)."""
        if not self._child:
            return tables(scan(self._proc, self._pids))
        assert self._shared is not None
        # Help from the other end of the list while the child works (it stops where we are).
        mine = tables(scan(self._proc, _from_back(self._pids, self._shared)))
        parts: list[bytes] = []
        try:
            while chunk := os.read(self._read, 1 << 20):
                parts.append(chunk)
        finally:
            os.close(self._read)
            _pid, status = os.waitpid(self._child, 0)
            self._retire()
        data = b"".join(parts)
        flat: array[int] = array(_TYPECODE)
        if os.waitstatus_to_exitcode(status) != 0 or len(data) % flat.itemsize:
            return tables(scan(self._proc, self._pids))
        flat.frombytes(data)
        done = {table.pid for table in mine}
        return [*(t for t in tables(flat) if t.pid not in done), *mine]


_CLAIMS: Final = struct.Struct("=qq")
"""Shared by the scanning child and its parent: how many PIDs of the list the child took from
the front, and the lowest index the parent took from the back."""


def _from_front(pids: list[int], shared: mmap.mmap) -> Iterator[int]:
    """``pids`` from the first, each claimed before it is read, until the parent's claims.

    Claims are published before the table is read, so the two ends may both read the PID
    where they meet (harmless: one result is kept) but never both skip one."""
    for i, pid in enumerate(pids):
        if i >= _CLAIMS.unpack_from(shared)[1]:
            return
        _FRONT.pack_into(shared, 0, i + 1)
        yield pid


def _from_back(pids: list[int], shared: mmap.mmap) -> Iterator[int]:
    """``pids`` from the last, each claimed before it is read, until the child's claims."""
    for j in range(len(pids) - 1, -1, -1):
        if j < _CLAIMS.unpack_from(shared)[0]:
            return
        _BACK.pack_into(shared, 8, j)
        yield pids[j]


_FRONT: Final = struct.Struct("=q")
_BACK: Final = _FRONT
_CHILD_COUNT: Final = _FRONT
"""After the claims: how many fds the child has read (see :func:`scanned`)."""

_early: ForkedScan | None = None


def start_early(proc: str = "/proc") -> None:
    """Fork the first sample's scan now, before the sampling code is even imported (the
    one-shot commands call this first); the next :meth:`PidResolver.prefetch` of ``proc``
    adopts it."""
    global _early
    if _early is None:
        pids = [int(name) for name in os.listdir(proc) if name.isdigit()]
        _early = ForkedScan(proc, pids)


def adopt_early(proc: str) -> ForkedScan | None:
    """The scan :func:`start_early` started for ``proc``, once."""
    global _early
    found, _early = _early, None
    if found is not None and found.proc != proc and proc:
        found.cancel()
        return None
    return found


def cancel_early() -> None:
    """Stop a scan :func:`start_early` started that nothing adopted (its sample failed, or
    another source answered): a later resolver must not adopt a stale scan."""
    found = adopt_early("")
    if found is not None:
        found.cancel()
