"""The first /proc fd scan, forked beside the dump, finds what the in-process scan finds.

Run in a fresh interpreter: the scan forks only from a single-threaded process, and a test
runner may have threads of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

from core.connections.sources import fd_scan
from core.connections.sources.fd_scan import tables
from tests.integration.conftest import IS_LINUX

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, socket
from core.connections.sources.fd_scan import ForkedScan
from core.connections.sources.pid_resolver import PidResolver

lst = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(lst.getsockname())
srv, _ = lst.accept()
mine = [os.fstat(s.fileno()).st_ino for s in (lst, cli, srv)]
pids = [os.getpid(), 1, 2**22 + 7]  # ours, one we may not read, one that does not exist
forked = ForkedScan("/proc", pids)
was_forked = forked.forked
inline = ForkedScan("/proc", pids, fork=False)
assert not inline.forked
a, b = forked.result(), inline.result()
# Sockets only: the parent's pipe to the child is in its table during one scan, not the other.
def sockets(tables):
    return {t.pid: (t.fds is None, sorted(i for i in t.inodes if i)) for t in tables}

resolver = PidResolver()
resolver.prefetch()
resolver.resolve(mine, [])
print(json.dumps({
    "forked": was_forked,
    "same": sockets(a) == sockets(b),
    "mine": sorted(i for t in a if t.pid == os.getpid() for i in t.inodes if i),
    "wanted": sorted(mine),
    "owners": [resolver.owner(i)[0] == os.getpid() for i in mine],
    "passes": resolver.stats.passes,
}))
"""


@pytest.mark.skipif(not IS_LINUX, reason="/proc is Linux-only")
def test_forked_scan_equals_the_in_process_scan() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["forked"]
    assert report["same"]
    assert set(report["wanted"]) <= set(report["mine"])
    assert all(report["owners"])
    assert report["passes"] == "A"


PROGRESS_SCRIPT = """
import json, os, resource, socket, time
from core.connections.sources import fd_scan

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
sock = socket.socket()
held = [os.dup(sock.fileno()) for _ in range(min(hard, 20000) - 100)]
before = fd_scan.scanned()
scan = fd_scan.ForkedScan("/proc", [os.getpid()])
# The child reads our table, then blocks writing its 16 bytes an fd into the pipe (far more
# than a pipe holds) until result() reads: its count must show while we only wait.
deadline, seen = time.monotonic() + 30, before
while time.monotonic() < deadline and seen - before < len(held):
    seen = fd_scan.scanned()
    time.sleep(0.01)
waiting, forked = seen - before, scan.forked
found = scan.result()
print(json.dumps({"forked": forked, "held": len(held), "seen_waiting": waiting,
                  "after": fd_scan.scanned() - before, "sockets": len(found[0].inodes)}))
"""


@pytest.mark.skipif(not IS_LINUX, reason="/proc is Linux-only")
def test_a_scanning_childs_progress_shows_while_the_parent_waits() -> None:
    """The sampler tells a slow first sample from a hung one by progress: a parent waiting for
    its forked scan of one process's tens of thousands of fds must see the child's count move
    (it did not, and a loaded host's first sample was reported hung)."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRESS_SCRIPT], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["forked"]
    assert report["seen_waiting"] >= report["held"]  # counted by the child, seen by the parent
    assert report["after"] >= report["seen_waiting"]  # kept once the child is reaped: it grows
    assert report["sockets"] >= report["held"]


def test_tables_share_one_name_per_fd_number() -> None:
    # Two processes' tables: pid 10 holds fds 3 and 4, pid 11 holds fd 3 (inodes 100, 0, 200).
    first, second = tables(array("q", [10, 2, 3, 100, 4, 0, 11, 1, 3, 200]))
    assert first.fds == ["3", "4"] and second.fds == ["3"]
    assert first.fds[0] is second.fds[0]
    assert first.inodes == [100, 0] and second.inodes == [200]


def test_bulk_ownerships_answer_as_ownership_does(tmp_path: Path) -> None:
    # A socket held by two processes (inherited across a fork), one held by us alone, one we
    # hold by two fds, one nobody holds (inode 0: TIME_WAIT), one no process has: each kind
    # of answer.
    script = tmp_path / "ownerships.py"
    script.write_text(
        "import json, os, socket, time\n"
        "from core.connections.sources.pid_resolver import PidResolver\n"
        "lst = socket.create_server(('127.0.0.1', 0))\n"
        "shared = socket.create_connection(lst.getsockname())\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "time.sleep(0.2)\n"
        "twice = socket.create_connection(lst.getsockname())\n"
        "again = os.dup(twice.fileno())\n"
        "inodes = [os.fstat(s.fileno()).st_ino for s in (lst, shared, twice)] + [0, 2**31 + 5]\n"
        "resolver = PidResolver()\n"
        "resolver.resolve([i for i in inodes if i], [])\n"
        "bulk = resolver.ownerships(inodes)\n"
        "one = [resolver.ownership(i) for i in inodes]\n"
        "os.kill(child, 9)\n"
        "os.waitpid(child, 0)\n"
        "print(json.dumps({'same': [list(t) for t in zip(*bulk)] == [list(t) for t in one],\n"
        "                  'held': list(one[1][2]), 'pids': [os.getpid(), child],\n"
        "                  'twice': [one[2][0] == os.getpid(), list(one[2][2])]}))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["same"]
    assert sorted(report["held"]) == sorted(report["pids"])  # the shared socket's two holders
    assert report["twice"] == [True, []]  # two fds of one process: one holder, that process


def test_ptrace_capable_reads_the_effective_set(tmp_path: Path) -> None:
    """CAP_SYS_PTRACE is bit 19 of CapEff: with it, a link no capability lifts is taken as
    gone (a hypervisor's init here); without it, the table is unreadable for lack of it."""
    with_it, without = tmp_path / "with", tmp_path / "without"
    with_it.write_text("Name:\tx\nCapEff:\t000001ffffffffff\n", encoding="ascii")
    without.write_text("Name:\tx\nCapEff:\t000001fffff7ffff\n", encoding="ascii")
    assert fd_scan.ptrace_capable(str(with_it)) is True
    assert fd_scan.ptrace_capable(str(without)) is False
    assert fd_scan.ptrace_capable(str(tmp_path / "missing")) is False
