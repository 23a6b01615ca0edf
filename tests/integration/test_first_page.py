"""A first page from the raw dump is the top of the whole first sample, in the table's order.

Real kernel, real sockets: the page worked out from socket keys alone (before any record of
the rest is built, before the /proc scan) must list exactly the rows the whole sample puts
first by State, with the whole sample's counts, and owners marked as being looked up.
"""

from __future__ import annotations

import socket
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest

from core.connections.first_page import FirstPage, PageRequest
from core.connections.model import OwnerStatus, TcpState
from core.connections.sort_keys import key_func
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink")


@pytest.mark.parametrize("reverse", [False, True])
def test_the_page_is_the_top_of_the_whole_sample(bag: SocketBag, reverse: bool) -> None:
    from core.connections.sources.netlink import NetlinkSource

    for _ in range(3):
        listener = bag.listener()
        for _ in range(20):
            bag.pair(listener)
    bag.listener("::1")
    bag.time_wait(listener)
    for _ in range(3):  # bound, neither listening nor connected: Linux lists them as TCP_CLOSE
        bag.keep(socket.socket()).bind(("127.0.0.1", 0))
    source = NetlinkSource(tcp_info=False)
    pages: list[FirstPage] = []
    try:
        whole = source.sample_paged(
            datetime.now(UTC), PageRequest(rows=25, reverse=reverse), pages.append
        )
    finally:
        source.close()
    (page,) = pages
    ordered = sorted(whole.connections.values(), key=key_func("state"), reverse=reverse)
    assert [c.instance_id for c in page.rows] == [c.instance_id for c in ordered[:25]]
    assert page.total == len(whole.connections)
    assert page.counts == Counter(c.state for c in whole.connections.values())
    assert page.counts[TcpState.BOUND] >= 3
    assert all(c.owner_status is OwnerStatus.RESOLVING for c in page.rows)
    assert all(c.owning_process is None for c in page.rows)
    assert not any(c.owner_status is OwnerStatus.RESOLVING for c in whole.connections.values())
    for row in page.rows:  # the same connection, the same facts, but for its owner
        full = whole.connections[row.instance_id]
        assert (row.local_address, row.local_port, row.state) == (
            full.local_address,
            full.local_port,
            full.state,
        )


def test_a_page_longer_than_the_sample_lists_everything(bag: SocketBag) -> None:
    from core.connections.sources.netlink import NetlinkSource

    bag.pair(bag.listener())
    source = NetlinkSource(tcp_info=False)
    pages: list[FirstPage] = []
    try:
        whole = source.sample_paged(datetime.now(UTC), PageRequest(rows=100_000), pages.append)
    finally:
        source.close()
    assert {c.instance_id for c in pages[0].rows} == set(whole.connections)


def test_the_probe_proves_the_dump_without_walking_sockets(bag: SocketBag) -> None:
    """The app's probe asks for no State: the kernel answers the same request kind (so a
    refusal still shows) but lists no socket, so it costs nothing at 50k sockets."""
    from core.connections.sources.inet_diag import InetDiagDumper, offsets
    from core.connections.sources.netlink import NetlinkSource

    bag.pair(bag.listener())
    dumper = InetDiagDumper(tcp_info=False)
    try:
        for family in (socket.AF_UNSPEC, socket.AF_INET):
            empty = sum(len(list(offsets(c, end))) for c, end in dumper.dump(family, states=0))
            full = sum(len(list(offsets(c, end))) for c, end in dumper.dump(family))
            assert empty == 0 and full >= 3
    finally:
        dumper.close()
    source = NetlinkSource(tcp_info=False)
    try:
        source.probe()
        assert source.dump_mode == "unspec"
    finally:
        source.close()
