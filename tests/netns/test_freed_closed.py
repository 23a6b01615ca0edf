"""A Closed socket (reset while its process held it) leaves another namespace's rows once its
process ends, within a bounded time.

What a reviewer met: in ``ip netns`` namespace NS a process held a connection that ``close``
aborted (State Closed, listed by the kernel's bind-table walk only); the process was killed,
``ss`` and ``connections --netns NS`` listed nothing, yet the app showed the Closed row for
minutes. Two causes: freeing a socket already Closed moves none of NS's TCP counters, so NS's
last dump was replayed until its forced dump 20 samples later; and on a host where the walk is
skipped (many sockets), a dump of NS in a sample that did not walk put the last walk's Closed
key back, while the samples that walked replayed NS (its counters had not moved since). Real
namespaces, real sockets, the real netlink source.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.connections.model import TcpState
from core.connections.sources import get_source
from core.connections.sources.base import SourceSample
from core.connections.sources.bound_walk import REFRESH_S, BoundWalk
from core.connections.sources.netlink import NetlinkSource
from core.netns.reader import FORCE_EVERY, SockDiagReader
from core.netns.select import namespace_dumps
from tests.netns.lab import needs_netns, netns, unique

pytestmark = needs_netns
LISTEN, CLIENT = 7000, 40000
SOON = 5
"""Samples a freed socket may stay listed (fewer than FORCE_EVERY: not the forced dump)."""
HOLDS_CLOSED = (
    "import socket,struct,sys,time\n"
    "srv=socket.socket(); srv.bind(('127.0.0.1', 7000)); srv.listen()\n"
    # Bound to a port it chose: the kernel keeps it in the bind table once reset (Closed).
    "cli=socket.socket(); cli.bind(('127.0.0.1', 40000)); cli.connect(('127.0.0.1', 7000))\n"
    "acc,_=srv.accept()\n"
    "acc.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n"
    "acc.close()\n"  # a reset: cli is Closed, still held
    "try:\n"
    "    cli.recv(1)\n"
    "except ConnectionResetError:\n"
    "    pass\n"
    "if sys.argv[1] == 'alone':\n"
    "    srv.close()\n"  # only the Closed socket is left
    "print('ready', flush=True); time.sleep(120)\n"
)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def space() -> Iterator[str]:
    with netns(unique("fc")) as name:
        yield name


def holder(name: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", name, sys.executable, "-c", HOLDS_CLOSED, mode],
        stdout=subprocess.PIPE,
        text=True,
    )


def open_source(name: str) -> NetlinkSource:
    source = get_source("netlink", tcp_info=False, namespaces=namespace_dumps(name, tcp_info=False))
    assert isinstance(source, NetlinkSource)
    return source


def sample(source: NetlinkSource, first: bool = False) -> SourceSample:
    return source.sample(datetime.now(UTC), first=first)


def closed_listed(got: SourceSample) -> bool:
    return any(
        (c.local_port, c.remote_port, c.state) == (CLIENT, LISTEN, TcpState.CLOSED)
        for c in got.connections.values()
    )


def reader_of(source: NetlinkSource) -> SockDiagReader:
    (reader,) = source.namespaces._readers.values()  # type: ignore[union-attr]
    assert isinstance(reader, SockDiagReader)
    return reader


def test_a_freed_closed_socket_leaves_at_the_next_sample(space: str) -> None:
    """Nothing else in the namespace: the process holds only the Closed socket, and its end
    frees it without moving a TCP counter."""
    proc = holder(space, "alone")
    source = open_source(space)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert closed_listed(sample(source, first=True))
        reader = reader_of(source)
        for _ in range(FORCE_EVERY + 1):  # up to a dump made with nothing moved (forced)
            assert closed_listed(sample(source))
            if reader.dumped:
                break
        assert reader.dumped
        proc.kill()
        proc.wait()
        # The kernel may free the socket a little later (a timer of its may hold it), so a
        # few samples; its next forced dump is FORCE_EVERY samples away.
        for _ in range(SOON):
            if not closed_listed(sample(source)):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the Closed socket still listed {SOON} samples after it went")
    finally:
        source.close()
        proc.kill()
        proc.wait()


def test_a_freed_closed_socket_leaves_when_the_walk_is_skipped(space: str) -> None:
    """A host with many sockets (the walk runs every REFRESH_S only); the process also holds
    the listener, whose end moves the namespace's counters."""
    clock = Clock()
    proc = holder(space, "listening")
    source = open_source(space)
    source.bound_walk = BoundWalk(clock, walk_always_below=0)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert closed_listed(sample(source, first=True))
        reader_of(source)._since = 0  # its forced dump far off (not the one that fixes it)
        assert closed_listed(sample(source)) and not source.bound_walk.walking
        proc.kill()
        proc.wait()
        sample(source)  # dumped (the listener went): the walk's keys are put back meanwhile
        clock.now += REFRESH_S
        got = sample(source)
        assert source.bound_walk.walking
        assert not closed_listed(got)  # the documented delay: REFRESH_S at most
        clock.now += 1.0
        assert not closed_listed(sample(source))
    finally:
        source.close()
        proc.kill()
        proc.wait()
