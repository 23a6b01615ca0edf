"""``ip netns del`` while a process still holds sockets made in the namespace: the namespace
lives on (those sockets pin it) though no process is in it and no file names it. Its rows
stay live while the sockets do, and become ghosts when they really close.

Before: the namespace left discovery with its name, its reader was closed, and all three
rows turned into ghosts ("Listen (closed: its last state)", "Netns … (gone)") while
``/proc/PID/fd`` still held the three sockets.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.commands.feeds import FeedOptions, make_feed
from core.connections.model import TcpState
from core.connections.snapshot import Snapshot
from core.sampling.feed import Feed
from tests.netns.lab import free_port, needs_netns, netns, ready, unique

# Enters the namespace, listens, connects to itself, accepts, then returns to the host's
# namespace: no process is *in* the namespace, only its three sockets are.
VISITOR = """
import ctypes, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def enter(path):
    fd = os.open(path, os.O_RDONLY)
    assert libc.setns(fd, 0x40000000) == 0, ctypes.get_errno()
    os.close(fd)
home = os.open("/proc/self/ns/net", os.O_RDONLY)
enter(sys.argv[1])
ls = socket.socket(); ls.bind(("127.0.0.1", int(sys.argv[2]))); ls.listen()
c = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
a, _ = ls.accept()
if sys.argv[3] == "leave":
    assert libc.setns(home, 0x40000000) == 0
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def visitor(name: str, port: int, leave: bool) -> Iterator[subprocess.Popen[str]]:
    """A process holding a listener and both ends of a connection made in ``name``, back in
    the host's namespace when it ``leave``s; the sockets close when its stdin does."""
    argv = [sys.executable, "-c", VISITOR, f"/run/netns/{name}", str(port), "leave" * leave]
    with ready(argv, stdin=subprocess.PIPE) as proc:
        yield proc


def rows(snap: Snapshot, port: int) -> list[TcpState]:
    return sorted(
        (c.state for c in snap.connections.values() if port in (c.local_port, c.remote_port)),
        key=str,
    )


def ghosts(snap: Snapshot, port: int) -> int:
    return sum(port in (g.connection.local_port, g.connection.remote_port) for g in snap.ghosts)


async def watch(feed: Feed, name: str, port: int, proc: subprocess.Popen[str]) -> None:
    """Delete the name once the three rows show; ten samples later end the sockets."""
    phase, after, inode = "before", 0, None
    async for snap in feed.stream():
        live = rows(snap, port)
        assert snap.namespaces is not None
        if phase == "before":
            if len(live) == 3:
                inode = next(c.netns for c in snap.connections.values() if c.local_port == port)
                assert inode is not None and snap.namespaces.index()[inode].name == name
                subprocess.run(["ip", "netns", "del", name], check=True)
                phase = "deleted"
        elif phase == "deleted":
            after += 1
            assert ghosts(snap, port) == 0, f"sample {after}: rows called closed"
            assert len(live) == 3, f"sample {after}: {live}"
            assert inode is not None and not snap.namespaces.index()[inode].gone
            if after == 10:
                assert proc.stdin is not None
                proc.stdin.close()  # the sockets close now, for real
                proc.wait()
                phase = "closed"
        elif ghosts(snap, port) == 3 and not live:
            return


@needs_netns
@pytest.mark.parametrize("leave", [True, False], ids=["process-left", "process-in-it"])
async def test_rows_of_a_deleted_name_stay_live_while_their_sockets_do(leave: bool) -> None:
    port = free_port()
    with netns(unique("t19d")) as name, visitor(name, port, leave) as proc:
        feed = make_feed(FeedOptions(netns="all", ipsec=False, interval_s=0.1, ghost_ttl_s=60))
        try:
            await asyncio.wait_for(watch(feed, name, port, proc), 30)
        finally:
            await feed.aclose()
