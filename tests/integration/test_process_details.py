"""Owning-process details on Linux come from /proc (core.connections.sources.procfs), not
psutil: the remote agent has no psutil, and a one-shot then skips psutil's import. They must
be what psutil gives, field for field: checked here against psutil on every process of this
host, on a process whose name the kernel cut at 15 characters, and a container-like PID
namespace (the container's own PID, ``ns_pid``, which the /proc path once left out)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.connections.model import ProcessInfo
from core.connections.sources import procinfo

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc: Linux")


def both(pid: int) -> tuple[ProcessInfo | None, ProcessInfo | None]:
    """(the /proc reading tcpscope uses, psutil's), read back to back."""
    return procinfo.fetch_process(pid), procinfo.psutil_process(psutil, pid)


def test_every_process_here_reads_as_psutil_reads_it() -> None:
    compared = 0
    for pid in psutil.pids():
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                continue  # owns no sockets; psutil reads it as gone
        except psutil.Error:
            continue
        ours, theirs = both(pid)
        if ours is None or theirs is None:
            continue  # exited in between
        if ours != theirs:  # a field may move between two reads (a process renaming itself)
            ours, theirs = both(pid)
        assert ours == theirs, pid
        compared += 1
    assert compared >= 3  # at least pytest, its parent and init


def test_a_long_name_is_completed_from_the_command_line(tmp_path: Path) -> None:
    """The kernel keeps 15 characters of a name; psutil takes the command line's program
    name when it starts with them, and so does the /proc reader."""
    program = tmp_path / "a-very-long-program-name"
    program.symlink_to(sys.executable)
    child = subprocess.Popen([str(program), "-c", "import time; time.sleep(60)"])
    try:
        for _ in range(100):  # until the exec is done
            if Path(f"/proc/{child.pid}/comm").read_text().strip() == program.name[:15]:
                break
            time.sleep(0.02)
        ours, theirs = both(child.pid)
        assert ours is not None and ours == theirs
        assert ours.name == "a-very-long-program-name"
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_a_process_in_its_own_pid_namespace_gets_its_inner_pid() -> None:
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "sleep", "60"])
    try:
        inner = None
        for _ in range(100):  # the forked sleep: PID 1 of its namespace
            kids = psutil.Process(outer.pid).children()
            if kids and kids[0].name() == "sleep":
                inner = kids[0].pid
                break
            time.sleep(0.02)
        assert inner is not None
        info = procinfo.fetch_process(inner)
        assert info is not None and info.ns_pid == 1 and info.name == "sleep"
    finally:
        outer.kill()
        outer.wait()
