"""Values as the kernel means them, on real sockets: Bound, a failed connect, the holders of a
shared socket, and a CreationTime bound that is never earlier than the socket."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.property_rules import cell_rule
from core.connections.snapshot import Snapshot
from core.sampling.sampler import Sampler
from tests.integration.conftest import IS_LINUX, Sampling
from tests.integration.sockets import SocketBag, wait_for
from tests.integration.test_sources import ROOT, find, port

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")


def test_a_bound_only_socket_is_bound_and_a_failed_connect_is_not_listed(
    netlink: Sampling, bag: SocketBag
) -> None:
    bound = bag.keep(socket.socket())
    bound.bind(("127.0.0.1", 0))
    refused = bag.keep(socket.socket())
    refused.bind(("127.0.0.1", 0))
    closed_port = port(bag.listener())
    bag.sockets[-1].close()  # nothing listens there any more
    with pytest.raises(ConnectionRefusedError):
        refused.connect(("127.0.0.1", closed_port))
    sample = netlink()
    conn = find(sample, port(bound))
    assert conn is not None
    assert conn.state is TcpState.BOUND  # TCP_CLOSE with no peer: the class's Bound (100)
    assert (conn.remote_address, conn.remote_port) == ("0.0.0.0", 0)
    # The kernel unhashes a socket whose connect failed: nothing to list (README says so).
    assert find(sample, port(refused)) is None
    assert find(sample, port(refused), closed_port) is None


HOLDER = """
import signal, socket, subprocess, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.readline()
keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                          stdin=subprocess.DEVNULL, pass_fds=[s.fileno()])
print(keeper.pid, flush=True)
sys.stdin.read()
"""


def test_every_holder_of_a_shared_socket_is_listed_and_the_lowest_owns_it(
    netlink: Sampling,
) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdin is not None and parent.stdout is not None
    keeper = 0
    try:
        lport = int(parent.stdout.readline())
        alone = find(netlink(), lport)
        assert alone is not None and alone.owning_process == parent.pid
        assert alone.holders == ()  # held by one process: OwningProcess says who
        parent.stdin.write("share\n")
        parent.stdin.flush()
        keeper = int(parent.stdout.readline())

        def shared() -> TcpConnection | None:
            conn = find(netlink(), lport)
            return conn if conn is not None and len(conn.holders) == 2 else None

        conn = wait_for(shared)  # the keeper appeared after the first sample: read whole
        assert conn.holders == tuple(sorted((parent.pid, keeper)))
        assert conn.owning_process == min(parent.pid, keeper)
        assert conn.owner_status is OwnerStatus.FOUND
        assert conn.instance_id == alone.instance_id
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui",
                "connections",
                "--json",
                "--local-port",
                str(lport),
                "--netns",
                "current",
            ],  # another namespace may use the same port number
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        (doc,) = json.loads(out.stdout)
        assert doc["OwningProcess"] == min(parent.pid, keeper)
        assert doc["tcpscope"]["holders"] == sorted((parent.pid, keeper))
        rule = cell_rule(conn, "OwningProcess", "netlink", datetime.now(UTC)).text
        assert "the lowest PID is shown" in rule
    finally:
        for pid in (parent.pid, keeper):
            if pid:
                os.kill(pid, 9)
        parent.wait(timeout=10)


def test_creation_time_is_read_after_the_dump_that_saw_the_socket(bag: SocketBag) -> None:
    """A clock that opens a socket right after it is read: the dump then lists a socket
    younger than the sample's start. Its CreationTime must not be earlier than its socket()
    call, and the bound is stated to the microsecond."""
    from core.connections.sources.netlink import NetlinkSource

    opened: list[tuple[datetime, int]] = []

    def clock() -> datetime:
        now = datetime.now(UTC)
        created = datetime.now(UTC)
        opened.append((created, port(bag.listener())))
        return now

    async def two() -> list[Snapshot]:
        sampler = Sampler(NetlinkSource(), clock=clock)
        try:
            return [await sampler.sample_once() for _ in range(2)]
        finally:
            await sampler.aclose()

    first, second = asyncio.run(two())
    for snap, (created, lport), before_start in (
        (first, opened[0], True),
        (second, opened[1], False),
    ):
        conn = next(
            c for c in snap.connections.values() if (c.local_port, c.remote_port) == (lport, 0)
        )
        assert conn.created_before_start is before_start
        assert conn.creation_time is not None and conn.creation_time >= created
        assert conn.creation_time == snap.time
        text = cell_rule(conn, "CreationTime", snap.source, snap.started_at).text
        assert "at or before" in text and "after the" in text  # the value is the bound, to the µs
    assert first.started_at == first.time
