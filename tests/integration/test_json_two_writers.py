"""Output encoded by two processes in turn: for ``--json`` the reference bytes (and by its
default single process, a chunk's rows in one ``writev`` by a writing thread), for the table
and ``--csv`` the bytes of one process, in order, on a real pipe.

Run in a fresh interpreter: the writer forks only from a single-threaded process, and a test
runner may have threads of its own. Small chunks, so a few hundred rows of a real sample make
dozens of turns between the two processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import IS_LINUX

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import hashlib, io, json, os, subprocess, sys, threading
from core.connections.oneshot import take_snapshot
from tests.integration.sockets import SocketBag

with SocketBag() as bag:
    v4, v6 = bag.listener(), bag.listener("::1")
    bag.pair(v4)
    bag.pair(v6)
    bag.time_wait(v4)
    ports = {v4.getsockname()[1], v6.getsockname()[1]}
    snap = take_snapshot("netlink", tcp_info=True)
forks = []
real_fork = os.fork
def counted_fork():
    pid = real_fork()
    if pid:
        forks.append(pid)
    return pid
os.fork = counted_fork
def children_left():
    try:
        return os.waitpid(-1, os.WNOHANG) != (0, 0) or 1
    except ChildProcessError:
        return 0
"""

SCRIPT = (
    PRELUDE
    + """
from core.connections.report import json_writer, write_json
from tests.integration.test_report_stream import reference_doc
# Ours only: other processes' text is made printable, which the reference encoder skips.
conns = sorted((c for c in snap.connections.values() if {c.local_port, c.remote_port} & ports),
               key=lambda c: c.instance_id)
many = (conns * (400 // len(conns) + 1))[:400]
json_writer.CHUNK_ROWS = 5
expected = (json.dumps([reference_doc(c, snap) for c in many], indent=2) + "\\n").encode()

def through_pipe(rows):
    reader = subprocess.Popen(["sha256sum"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    write_json(rows, snap, reader.stdin)
    reader.stdin.close()
    found = reader.stdout.read().split()[0].decode()
    reader.wait()
    return found

def early_errno():
    head = subprocess.Popen(["head", "-c", "600000"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)
    try:
        write_json(many * 4, snap, head.stdin)
        found = None
    except OSError as err:
        found = err.errno
    head.wait()
    try:
        head.stdin.close()
    except OSError:
        pass
    return found

# 0. One process (the default), each chunk's rows in one writev by a writing thread, through
# a pipe; a reader that leaves early.
alone = through_pipe(many)
alone_early = early_errno()
alone_forks = len(forks)
alone_threads = threading.active_count()

# 1. Two processes: the whole output through a pipe to a reader process.
json_writer.SPLIT_ROWS = len(many)
got = through_pipe(many)

# 2. A reader that leaves early (| head): a clear OSError, no hang, no stray writer.
early = early_errno()
print(json.dumps({
    "forks": len(forks),
    "alone_forks": alone_forks,
    "alone_early": alone_early,
    "alone_threads": alone_threads,
    "alone": alone,
    "got": got,
    "expected": hashlib.sha256(expected).hexdigest(),
    "size": len(expected),
    "early": early,
    "children_left": children_left(),
}))
"""
)


TABLE_CSV = (
    PRELUDE
    + """
from core.connections import ENUMS
from core.connections.report import csv_writer, table_writer

conns = list(snap.connections.values())
many = (conns * (400 // len(conns) + 1))[:400]
names = {int(v.value): v.name for v in ENUMS["State"].values}
writers = {
    "table": lambda out: table_writer.write_table(many, snap, names, out),
    "csv": lambda out: csv_writer.write_csv(many, snap, out),
}
report = {}
for name, write in writers.items():
    alone = io.BytesIO()  # one process: no file descriptor under a BytesIO
    write(alone)
    for module in (table_writer, csv_writer):  # two processes, tiny chunks
        module.SPLIT_ROWS, module.CHUNK = len(many), 5
    before = len(forks)
    reader = subprocess.Popen(["sha256sum"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    write(reader.stdin)
    reader.stdin.close()
    got = reader.stdout.read().split()[0].decode()
    reader.wait()
    for module in (table_writer, csv_writer):
        module.SPLIT_ROWS, module.CHUNK = 8192, 2048
    report[name] = {
        "forked": len(forks) - before,
        "same": got == hashlib.sha256(alone.getvalue()).hexdigest(),
        "lines": alone.getvalue().count(b"\\n"),
    }
report["children_left"] = children_left()
print(json.dumps(report))
"""
)


def _run(script_text: str, tmp_path: Path) -> dict[str, Any]:
    # A script file, not ``-c``: the owner's command line is in the output, and the reference
    # encoder does not escape the newlines a ``-c`` program would put there.
    script = tmp_path / "two_writers.py"
    script.write_text(script_text)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.skipif(not IS_LINUX, reason="a real netlink sample is Linux-only")
def test_one_and_two_writers_give_the_reference_bytes_and_stop_on_a_closed_pipe(
    tmp_path: Path,
) -> None:
    report = _run(SCRIPT, tmp_path)
    assert report["alone_forks"] == 0, "--json forked by default"
    assert report["alone"] == report["expected"], "one writer's bytes differ from the reference"
    assert report["alone_early"] == 32  # EPIPE from the writing thread, raised here
    assert report["alone_threads"] == 1  # the writing thread ended with its output
    assert report["forks"] >= 2, "the second encoder was not forked"
    assert report["got"] == report["expected"], "the two writers' bytes differ from the reference"
    assert report["size"] > 400 * 1000  # dozens of chunks
    assert report["early"] == 32  # EPIPE, raised in the parent whichever process met it
    assert report["children_left"] == 0


@pytest.mark.skipif(not IS_LINUX, reason="a real netlink sample is Linux-only")
def test_table_and_csv_two_writers_give_the_bytes_of_one(tmp_path: Path) -> None:
    report = _run(TABLE_CSV, tmp_path)
    for name in ("table", "csv"):
        found = report[name]
        assert found["forked"] >= 1, f"{name}: the second encoder was not forked"
        assert found["same"], f"{name}: two writers' bytes differ from one writer's"
        assert found["lines"] == 401  # the header and every row
    assert report["children_left"] == 0
