"""Pass H of the PID resolver with a real process: a new socket found in a free fd slot the
resolver remembers, or just above the process's highest fd, without listing its fd table.

Why a child process: its fd table changes only when the test says so (the test process's
own table moves with pytest's files).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from core.connections.model import OwnerStatus
from core.connections.sources.pid_resolver import PidResolver

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")

CHILD = """
import os, socket, sys
held = {}
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "open":
        out = []
        for _ in range(int(args[0])):
            s = socket.socket()
            held[s.fileno()] = s
            out.append(f"{s.fileno()}:{os.fstat(s.fileno()).st_ino}")
        print(" ".join(out), flush=True)
    elif cmd == "file":
        f = open(os.devnull)
        held[f.fileno()] = f
        print(f.fileno(), flush=True)
    elif cmd == "close":
        for fd in args:
            held.pop(int(fd)).close()
        print("ok", flush=True)
"""


class Child:
    """A process that opens and closes sockets when told; reports (fd, inode) pairs."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pid = self.proc.pid

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def open(self, count: int) -> list[tuple[int, int]]:
        pairs = [word.split(":") for word in self._ask(f"open {count}").split()]
        return [(int(fd), int(ino)) for fd, ino in pairs]

    def open_file(self) -> int:
        return int(self._ask("file"))

    def close(self, *fds: int) -> None:
        assert self._ask("close " + " ".join(map(str, fds))) == "ok"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def child() -> Iterator[Child]:
    proc = Child()
    try:
        yield proc
    finally:
        proc.stop()


def owned_by(resolver: PidResolver, inodes: list[int], pid: int) -> bool:
    return all(resolver.owner(ino) == (pid, OwnerStatus.FOUND) for ino in inodes)


def test_a_socket_in_a_slot_freed_ticks_ago_is_found_there(child: Child) -> None:
    """Sockets closed in one tick, new ones in their fds in a later tick: no listing."""
    first = child.open(6)
    resolver = PidResolver()
    resolver.resolve([ino for _fd, ino in first], [])
    assert owned_by(resolver, [ino for _fd, ino in first], child.pid)
    child.close(first[1][0], first[2][0])
    resolver.resolve([], [first[1][1], first[2][1]])  # nothing new: nothing read
    fresh = child.open(2)
    assert {fd for fd, _ino in fresh} == {first[1][0], first[2][0]}  # lowest free fds
    resolver.resolve([ino for _fd, ino in fresh], [])
    assert owned_by(resolver, [ino for _fd, ino in fresh], child.pid)
    assert resolver.stats.passes == "H"
    assert resolver.stats.listdirs == 0
    assert resolver.owner(first[1][1]) == (None, OwnerStatus.NOT_FOUND)


def test_a_socket_opened_before_the_old_one_closed_is_found_above_the_top(child: Child) -> None:
    """An accept before the close of the connection it replaces: the new socket takes the
    fd above the highest, the old one's fd is free afterwards (read by pass B: empty), and
    the next new socket takes that one."""
    first = child.open(4)
    resolver = PidResolver()
    resolver.resolve([ino for _fd, ino in first], [])
    (above,) = child.open(1)
    assert above[0] > max(fd for fd, _ino in first)
    child.close(first[1][0])
    resolver.resolve([above[1]], [first[1][1]])
    assert owned_by(resolver, [above[1]], child.pid)
    assert resolver.stats.passes == "BH"
    assert resolver.stats.listdirs == 0
    (refill,) = child.open(1)
    assert refill[0] == first[1][0]
    resolver.resolve([refill[1]], [])
    assert owned_by(resolver, [refill[1]], child.pid)
    assert resolver.stats.passes == "H"
    assert resolver.stats.listdirs == 0


def test_a_socket_no_hole_explains_is_still_found_by_listing(child: Child) -> None:
    """A socket in the fd of a closed file (no hole the resolver knows of): pass H reads
    its holes and above the top for nothing, then the tables are listed as before."""
    sockets = child.open(1)
    file_fd = child.open_file()
    sockets += child.open(2)
    resolver = PidResolver()
    resolver.resolve([ino for _fd, ino in sockets], [])
    child.close(sockets[2][0])
    resolver.resolve([], [sockets[2][1]])  # its fd is a hole now
    child.close(file_fd)
    (new,) = child.open(1)
    assert new[0] == file_fd
    resolver.resolve([new[1]], [])
    assert owned_by(resolver, [new[1]], child.pid)
    assert resolver.stats.passes.startswith("HA")


def test_a_socket_the_dump_dropped_but_its_process_still_holds_leaves_a_hole(
    child: Child,
) -> None:
    """A reset connection leaves the dump at once, but its fd stays open until its process
    notices: pass B then reads the dead socket there. The fd stays a hole, so the socket
    that takes it once it is closed is found without a listing."""
    first = child.open(4)
    resolver = PidResolver()
    resolver.resolve([ino for _fd, ino in first], [])
    (above,) = child.open(1)
    dead_fd, dead_ino = first[1]
    resolver.resolve([above[1]], [dead_ino])  # gone from the dump, still open in the child
    assert owned_by(resolver, [above[1]], child.pid)
    assert resolver.stats.passes == "BH"
    assert resolver.owner(dead_ino) == (None, OwnerStatus.NOT_FOUND)
    child.close(dead_fd)
    (refill,) = child.open(1)
    assert refill[0] == dead_fd
    resolver.resolve([refill[1]], [])
    assert owned_by(resolver, [refill[1]], child.pid)
    assert resolver.stats.passes == "H"
    assert resolver.stats.listdirs == 0


def test_a_periodic_search_lists_only_tables_whose_fd_count_moved(child: Child) -> None:
    """A socket no table holds (its only fd in flight, as with SCM_RIGHTS) is searched for
    periodically; those searches skip every table whose fd count is what it was when last
    listed (the child's here), and still find the socket once its fd lands in a table."""
    child.open(3)
    lost_fd = socket.socket().detach()
    lost_ino = os.fstat(lost_fd).st_ino
    carrier, receiver = socket.socketpair(socket.AF_UNIX)
    try:
        socket.send_fds(carrier, [b"x"], [lost_fd])
        os.close(lost_fd)  # the socket now lives only in the message in flight
        resolver = PidResolver()
        passes: dict[int, str] = {}
        listed: dict[int, int] = {}
        for tick in range(1, 21):
            resolver.resolve([lost_ino] if tick == 1 else [], [])
            passes[tick] = resolver.stats.passes
            listed[tick] = resolver.stats.listdirs
        assert passes[2].endswith("AC")  # missed on the last tick: every table listed
        assert passes[20].endswith("a")  # a periodic search: only tables that moved
        assert 0 < listed[20] < listed[2]
        assert resolver.owner(lost_ino) == (None, OwnerStatus.NOT_FOUND)
        _msg, fds, _flags, _addr = socket.recv_fds(receiver, 16, 1)  # lands in this process
        try:
            for _tick in range(21, 41):
                resolver.resolve([], [])
            assert resolver.owner(lost_ino) == (os.getpid(), OwnerStatus.FOUND)
        finally:
            for fd in fds:
                os.close(fd)
    finally:
        carrier.close()
        receiver.close()


@pytest.mark.parametrize("also_new", [False, True], ids=["nothing-new", "another-new"])
def test_a_socket_of_a_process_born_during_the_first_scan_is_reported_found(
    also_new: bool,
) -> None:
    """The first tick's scan listed /proc before this process started: its socket is not
    found then. The next tick reads the new process's table whole and finds it there, and
    must return it as changed, whether or not that tick has new sockets of its own (the
    caller refreshes only the records it is told of; the socket is no longer searched for)."""
    resolver = PidResolver()
    resolver.prefetch()  # lists /proc now and starts reading it
    proc = Child()
    mine = socket.socket()
    try:
        ((_fd, ino),) = proc.open(1)
        assert resolver.resolve([ino], []) == set()
        assert resolver.owner(ino) == (None, OwnerStatus.NOT_FOUND)
        other = [os.fstat(mine.fileno()).st_ino] if also_new else []
        assert ino in resolver.resolve(other, [])
        assert resolver.owner(ino) == (proc.pid, OwnerStatus.FOUND)
    finally:
        resolver.close()
        mine.close()
        proc.stop()
