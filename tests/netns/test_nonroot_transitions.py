"""A namespace of root's, watched by ``nobody`` while nobody's own processes enter and leave it.

Root's processes' ``/proc/PID/ns/net`` cannot be read by nobody, so their namespace is first
keyed by a stand-in; nobody's own process in it gives away its inode. That change lost the
namespace for good (the nsfs file, once found unreadable, was never tried again while the
stand-in's reader was closed), and the way back (nobody's process gone) listed the same
sockets twice. Here a long-running source runs as nobody, for real, across each change and
past the discoverer's recheck; every sample must list each socket once, under one InstanceID
for the run, and never show a stand-in as an inode.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sysconfig
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.netns.discover import RECHECK_EVERY
from tests.integration.sockets import SYSTEM_PYTHON
from tests.netns.lab import free_port, netns, ready, unique
from tests.netns.test_nonroot import NOBODY, REPO, inode, pytestmark  # noqa: F401

HOLDER = (
    "import socket, sys, time\n"
    "l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "l.bind(('127.0.0.1', int(sys.argv[1]))); l.listen()\n"
    "c = socket.create_connection(l.getsockname()); a, _ = l.accept()\n"
    "print('ready', flush=True); time.sleep(300)\n"
)
"""A listener and an established pair on one port: three sockets."""
INTERVAL_S = 0.05
WATCH = f"""
import json, sys, time
from datetime import UTC, datetime
from core.connections.namespaces import label, namespace_in
from core.connections.sources import get_source
from core.netns.select import namespace_dumps
ports = {{int(p) for p in sys.argv[1].split(",")}}
source = get_source("netlink", tcp_info=False, namespaces=namespace_dumps("all", tcp_info=False))
first = True
try:
    while True:
        sample = source.sample(datetime.now(UTC), first=first)
        first = False
        rows = []
        for iid, c in sample.connections.items():
            if c.local_port in ports or c.remote_port in ports:
                ns = namespace_in(c.netns, sample.namespaces)
                rows.append({{"iid": iid, "ports": [c.local_port, c.remote_port],
                             "state": int(c.state), "label": label(ns),
                             "inode": None if ns is None else ns.own_inode}})
        print(json.dumps(rows), flush=True)
        time.sleep({INTERVAL_S})
finally:
    source.close()
"""
Rows = list[dict[str, object]]


@contextmanager
def holder(name: str, port: int, *, as_nobody: bool) -> Iterator[subprocess.Popen[str]]:
    """A process in namespace ``name`` holding three sockets on ``port``: root's, or nobody's."""
    who = [*NOBODY] if as_nobody else []
    argv = ["ip", "netns", "exec", name, *who, SYSTEM_PYTHON, "-c", HOLDER, str(port)]
    with ready(argv, cwd="/") as proc:
        yield proc


class Watcher:
    """A netlink source sampling ``--netns all`` as nobody, one JSON line per sample."""

    def __init__(self, ports: list[int]) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/",
            "PYTHONPATH": f"{REPO}:{sysconfig.get_paths()['purelib']}",
        }
        self.proc = subprocess.Popen(
            [*NOBODY, SYSTEM_PYTHON, "-c", WATCH, ",".join(map(str, ports))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            cwd=REPO,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def next(self) -> Rows:
        try:
            line = self.lines.get(timeout=30)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(self.proc.stderr.read() if self.proc.stderr else "") from None
        return json.loads(line)  # type: ignore[no-any-return]

    def until(self, check: object, timeout_s: float = 20) -> Rows:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rows = self.next()
            if check(rows):  # type: ignore[operator]
                return rows
        raise AssertionError(f"not seen in {timeout_s} s: {rows}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def of(rows: Rows, port: int) -> Rows:
    return [r for r in rows if port in r["ports"]]  # type: ignore[operator]


def established(rows: Rows, port: int) -> int:
    return sum(r["state"] != 11 for r in of(rows, port))  # TimeWait lingers after a kill


def check_sample(rows: Rows, port: int, ids: set[str], ns_inode: int) -> None:
    """Root's three sockets, once each, under the InstanceIDs they had; nothing claims an
    inode that is not the namespace's."""
    mine = of(rows, port)
    assert {str(r["iid"]) for r in mine} == ids and len(mine) == 3, rows
    for row in rows:
        iid = str(row["iid"])
        prefix = iid.split(":", 1)[1].split("/", 1)[0]
        assert prefix == f"ns{ns_inode}" or prefix.startswith("nspid"), iid
        assert row["inode"] in (ns_inode, None), row
        assert f"netns {row['inode']}" not in str(row["label"])


def samples(watch: Watcher, port: int, ids: set[str], ns_inode: int) -> Rows:
    """Past the discoverer's recheck (every process looked at again), every sample checked."""
    rows: Rows = []
    for _ in range(RECHECK_EVERY + 10):
        rows = watch.next()
        check_sample(rows, port, ids, ns_inode)
    return rows


@pytest.fixture
def lab() -> Iterator[tuple[str, list[int]]]:
    ports = [free_port() for _ in range(3)]
    with netns(unique("nsrT")) as name:
        yield name, ports


def test_a_namespace_stays_read_as_nobody_enters_and_leaves_it(
    lab: tuple[str, list[int]],
) -> None:
    """Root's sockets, then nobody's process enters (the namespace was lost: "2 closed",
    then gone, nobody's own sockets never shown), leaves, another enters, root's leaves."""
    name, (root_port, mine, again) = lab
    ns_inode = inode(name)
    with holder(name, root_port, as_nobody=False) as root:
        watch = Watcher([root_port, mine, again])
        try:
            rows = watch.until(lambda r: len(of(r, root_port)) == 3)
            ids = {str(r["iid"]) for r in of(rows, root_port)}
            check_sample(rows, root_port, ids, ns_inode)
            with holder(name, mine, as_nobody=True):
                rows = watch.until(lambda r: len(of(r, mine)) == 3)
                rows = samples(watch, root_port, ids, ns_inode)
                assert established(rows, mine) == 3, rows
                assert all(r["label"] == name and r["inode"] == ns_inode for r in rows), rows
            samples(watch, root_port, ids, ns_inode)  # nobody's process gone: not doubled
            with holder(name, again, as_nobody=True):
                rows = watch.until(lambda r: established(r, again) == 3)
                samples(watch, root_port, ids, ns_inode)
                mine_ids = {str(r["iid"]) for r in of(rows, again)}
                root.kill()
                root.wait()
                rows = watch.until(lambda r: established(r, root_port) == 0)
                for _ in range(RECHECK_EVERY + 10):  # root's process gone: nobody's stay
                    rows = watch.next()
                    ours = [r for r in of(rows, again) if r["state"] != 11]
                    assert {str(r["iid"]) for r in ours} == mine_ids, rows
        finally:
            watch.close()


def test_a_namespace_is_listed_once_after_nobody_leaves_it(lab: tuple[str, list[int]]) -> None:
    """nobody's process in it first (the namespace is known by its inode), then root's; once
    nobody's leaves, root's sockets were listed twice: the stale last read of the inode's
    reader, and again under a stand-in."""
    name, (root_port, mine, _) = lab
    ns_inode = inode(name)
    with holder(name, mine, as_nobody=True) as own, holder(name, root_port, as_nobody=False):
        watch = Watcher([root_port, mine])
        try:
            rows = watch.until(lambda r: len(of(r, root_port)) == 3 and len(of(r, mine)) == 3)
            ids = {str(r["iid"]) for r in of(rows, root_port)}
            assert all(str(i).startswith(f"tcpscope:ns{ns_inode}/") for i in ids), ids
            own.kill()
            own.wait()
            watch.until(lambda r: established(r, mine) == 0)
            samples(watch, root_port, ids, ns_inode)
            samples(watch, root_port, ids, ns_inode)
        finally:
            watch.close()
