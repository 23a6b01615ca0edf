"""Recv-Q and Send-Q against ``ss -tan`` on the same live loopback sockets.

A listener with two connections it never accepted (its Recv-Q is that accept queue, its
Send-Q the backlog it was given) and a pair whose server never reads what it was sent (its
Recv-Q is the unread bytes). Both ways the netlink source reads them: from the dump (every
socket's tcp_info: ``--json``, recordings) and on demand for watched rows (the live table).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest

from core.connections.sources.base import SourceSample
from tests.integration.conftest import IS_LINUX, Sampling
from tests.integration.sockets import SocketBag, wait_for

pytestmark = pytest.mark.skipif(
    not IS_LINUX or shutil.which("ss") is None,
    reason="netlink is Linux-only; comparing needs ss (Debian package iproute2)",
)

BACKLOG = 7
WAITING = 2
UNREAD = 5000


def ss_queues(ports: set[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """``ss -tan``'s (Recv-Q, Send-Q) per (local port, remote port) among ``ports``."""
    out = subprocess.run(["ss", "-tanH"], capture_output=True, text=True, check=True).stdout
    rows: dict[tuple[int, int], tuple[int, int]] = {}
    for line in out.splitlines():
        cols = line.split()
        local, peer = cols[3], cols[4]
        lport = int(local.rsplit(":", 1)[1])
        if lport not in ports or not local.startswith("127.0.0.1:"):
            continue
        rport = 0 if peer.endswith(":*") else int(peer.rsplit(":", 1)[1])
        rows[(lport, rport)] = (int(cols[1]), int(cols[2]))
    return rows


def ours(sample: SourceSample, ports: set[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """tcpscope's (Recv-Q, Send-Q) per (local port, remote port) among ``ports``."""
    rows: dict[tuple[int, int], tuple[int, int]] = {}
    for conn in sample.connections.values():
        if conn.local_port not in ports or conn.local_address != "127.0.0.1":
            continue
        info = sample.tcp_info.get(conn.instance_id)
        if info is not None and info.recv_q is not None and info.send_q is not None:
            rows[(conn.local_port, conn.remote_port)] = (info.recv_q, info.send_q)
    return rows


@pytest.fixture(params=[True, False], ids=["dumped", "on-demand"])
def sampling(request: pytest.FixtureRequest) -> Iterator[Sampling]:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=request.param, resolve_owners=False)
    yield Sampling(source)
    source.close()


def test_queues_match_ss(sampling: Sampling, bag: SocketBag) -> None:
    from core.connections.sources.netlink import NetlinkSource

    queue = bag.keep(socket.socket())
    queue.bind(("127.0.0.1", 0))
    queue.listen(BACKLOG)
    for _ in range(WAITING):
        bag.keep(socket.create_connection(queue.getsockname()))
    client, accepted = bag.pair(bag.listener())
    client.sendall(b"u" * UNREAD)
    ports = {queue.getsockname()[1], accepted.getsockname()[1], client.getsockname()[1]}
    listener_key = (queue.getsockname()[1], 0)
    unread_key = (accepted.getsockname()[1], client.getsockname()[1])
    expected = {listener_key: (WAITING, BACKLOG), unread_key: (UNREAD, 0)}

    def settled() -> dict[tuple[int, int], tuple[int, int]] | None:
        rows = ss_queues(ports)
        return rows if all(rows.get(k) == v for k, v in expected.items()) else None

    seen_by_ss = wait_for(settled)  # the kernel's own view, as users read it
    source = sampling.source
    assert isinstance(source, NetlinkSource)
    first = sampling()
    if source.tcp_info_on_demand:
        assert ours(first, ports) == {}  # nothing watched: not read at all
        source.watch([c.instance_id for c in first.connections.values() if c.local_port in ports])
    got = ours(sampling(), ports)
    assert got[listener_key] == seen_by_ss[listener_key] == (WAITING, BACKLOG)
    assert got[unread_key] == seen_by_ss[unread_key] == (UNREAD, 0)
    assert got == {k: v for k, v in ss_queues(ports).items() if k in got}
