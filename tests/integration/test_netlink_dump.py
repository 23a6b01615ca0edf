"""The netlink source's own mechanics against the real kernel: both kinds of dump, the
TIME_WAIT swap, tcp_info on demand, a socket listed twice, and the sampler's prompt fetch."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable, Iterable, Iterator

import pytest

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.sources.inet_diag import TCP_ALL_STATES, InetDiagDumper, reply_type
from core.sampling.sampler import Sampler
from tests.integration.conftest import IS_LINUX, Sampling
from tests.integration.sockets import SocketBag, wait_for
from tests.integration.test_sources import find, port

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")


@pytest.fixture
def on_demand() -> Iterator[Sampling]:
    """The netlink source as the live app runs it: no tcp_info in the dump."""
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=False)
    yield Sampling(source)
    source.close()


def pair_with_data(bag: SocketBag, size: int) -> tuple[socket.socket, socket.socket]:
    """An established pair (client, accepted) after ``size`` bytes went client → server."""
    client, accepted = bag.pair(bag.listener())
    client.sendall(b"x" * size)
    assert accepted.recv(8192)
    return client, accepted


def accepted_end(
    conns: Iterable[TcpConnection], client: socket.socket, accepted: socket.socket
) -> TcpConnection:
    """The server end's record among ``conns``."""
    return next(c for c in conns if (c.local_port, c.remote_port) == (port(accepted), port(client)))


def ours(sampling: Sampling, ports: set[int]) -> dict[str, tuple[TcpState, int | None]]:
    sample = sampling()
    return {
        c.instance_id: (c.state, c.owning_process)
        for c in sample.connections.values()
        if c.local_port in ports and c.local_address in ("127.0.0.1", "::1")
    }


def test_both_dumps_list_the_same_sockets(
    netlink: Sampling, netlink_per_family: Sampling, bag: SocketBag
) -> None:
    lst, lst6 = bag.listener(), bag.listener("::1")
    bag.pair(lst)
    bag.pair(lst6)
    cport, _sport = bag.time_wait(lst)
    ports = {port(lst), port(lst6), cport} | {port(s) for s in bag.sockets if s.fileno() >= 0}
    compat = ours(netlink, ports)
    v2 = ours(netlink_per_family, ports)
    assert compat == v2
    states = {state for state, _pid in compat.values()}
    assert {TcpState.LISTEN, TcpState.ESTABLISHED, TcpState.TIME_WAIT} <= states


def test_time_wait_swap_keeps_the_connection(netlink: Sampling, bag: SocketBag) -> None:
    """The kernel replaces a closing socket by a TIME_WAIT minisock (no inode, no owner):
    the same InstanceID and CreationTime go on, State changes, the owner goes."""
    lst = bag.listener()
    client, accepted = bag.pair(lst)
    before = find(netlink(), port(client), port(lst))
    assert before is not None and before.owner_status is OwnerStatus.FOUND
    client.close()
    assert accepted.recv(1) == b""
    accepted.close()

    def swapped() -> TcpConnection | None:
        found = find(netlink(), before.local_port, port(lst))
        return found if found is not None and found.state is TcpState.TIME_WAIT else None

    after = wait_for(swapped)
    assert after.instance_id == before.instance_id
    assert after.creation_time == before.creation_time
    assert after.state_changed_at is not None
    assert after.owner_status is OwnerStatus.NO_OWNER


def test_tcp_info_on_demand(on_demand: Sampling, bag: SocketBag) -> None:
    from core.connections.sources.netlink import NetlinkSource

    client, accepted = pair_with_data(bag, 5000)
    sample = on_demand()
    conn = accepted_end(sample.connections.values(), client, accepted)
    assert sample.tcp_info.get(conn.instance_id) is None  # not dumped, not watched
    source = on_demand.source
    assert isinstance(source, NetlinkSource) and source.tcp_info_on_demand
    source.watch([conn.instance_id])
    info = on_demand().tcp_info.get(conn.instance_id)
    assert info is not None and info.bytes_received is not None and info.bytes_received > 0
    assert info.rtt_us > 0
    accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    accepted.close()  # a reset: the socket is destroyed at once
    assert source.tcp_info_of([conn]) == {}


def test_a_socket_listed_twice_is_neither_gone_nor_new(
    netlink: Sampling, bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel may list a socket twice when its hash chain changes between two replies;
    the toggle bookkeeping must notice and compare whole sets."""
    lst = bag.listener()
    bag.pair(lst)
    first = netlink()
    real = InetDiagDumper.chunks

    def twice(
        self: InetDiagDumper, family: int, states: int = TCP_ALL_STATES, *wait: Callable[[], None]
    ) -> Iterator[bytes]:
        want = reply_type(family)
        for chunk in real(self, family, states, *wait):
            off = 0
            while (
                off + 88 <= len(chunk)
                and int.from_bytes(chunk[off + 4 : off + 6], "little") == want
            ):
                off += (int.from_bytes(chunk[off : off + 4], "little") + 3) & ~3
            if off:
                yield chunk[:off]  # every socket message of this reply, once more
            yield chunk

    monkeypatch.setattr(InetDiagDumper, "chunks", twice)
    again = netlink()
    assert find(again, port(lst)) is find(first, port(lst))
    common = first.connections.keys() & again.connections.keys()
    mine = [i for i in common if f":{port(lst)}" in i]
    assert len(mine) == 3  # listener and both ends, the same records
    assert all(first.connections[i] is again.connections[i] for i in mine)


async def test_sampler_fetches_watched_tcp_info_at_once(bag: SocketBag) -> None:
    from core.connections.sources.netlink import NetlinkSource

    client, accepted = pair_with_data(bag, 3000)
    sampler = Sampler(NetlinkSource(tcp_info=False), interval_s=60)
    stream = sampler.stream()
    try:
        snap = await anext(stream)
        conn = accepted_end(snap.connections.values(), client, accepted)
        assert snap.tcp_info.get(conn.instance_id) is None
        sampler.watch_tcp_info([conn.instance_id])
        fetched = await asyncio.wait_for(anext(stream), 10)  # far less than the 60 s interval
        info = fetched.tcp_info.get(conn.instance_id)
        assert info is not None and info.bytes_received is not None and info.bytes_received > 0
        assert fetched.seq == snap.seq and not fetched.diff.added
    finally:
        await sampler.aclose()


async def test_redacting_feed_forwards_the_watch(bag: SocketBag) -> None:
    from core.connections.sources.netlink import NetlinkSource
    from core.recording.redact import RedactingFeed

    client, accepted = pair_with_data(bag, 2000)
    feed = RedactingFeed(Sampler(NetlinkSource(tcp_info=False), interval_s=60))
    stream = feed.stream()
    try:
        snap = await anext(stream)
        conn = accepted_end(snap.connections.values(), client, accepted)
        feed.watch_tcp_info([conn.instance_id])
        fetched = await asyncio.wait_for(anext(stream), 10)
        info = fetched.tcp_info.get(conn.instance_id)
        assert info is not None and info.bytes_received is not None and info.bytes_received > 0
    finally:
        await feed.aclose()


def replies_of_one_dump() -> int:
    """How many replies a bare dump of every socket takes (read as they come)."""
    from core.netlink import NLMSG_DONE, NLMSG_HDR

    done = NLMSG_HDR.size + 4  # NLMSG_DONE carries an int
    dumper = InetDiagDumper(tcp_info=False)
    count = 0
    try:
        for chunk in dumper.chunks(socket.AF_UNSPEC):
            count += 1
            length, mtype, *_rest = NLMSG_HDR.unpack_from(chunk, max(0, len(chunk) - done))
            if length == done and mtype == NLMSG_DONE:
                dumper.finish(chunk, len(chunk) - done)
    finally:
        dumper.close()
    return count


def test_a_dump_of_many_replies_lists_every_socket(on_demand: Sampling, bag: SocketBag) -> None:
    # The reader thread hands each reply over as it comes: 1,600 sockets of ours fill
    # several replies (~260 a reply), and each of them is listed once.
    lst = bag.listener()
    server = port(lst)
    clients = [port(client) for client, _accepted in (bag.pair(lst) for _ in range(800))]
    ends = {(c, server) for c in clients} | {(server, c) for c in clients}
    assert replies_of_one_dump() > 4
    listed = [
        (c.local_port, c.remote_port)
        for c in on_demand().connections.values()
        if c.local_address == "127.0.0.1" and c.state is TcpState.ESTABLISHED
    ]
    assert sorted(e for e in listed if e in ends) == sorted(ends)
