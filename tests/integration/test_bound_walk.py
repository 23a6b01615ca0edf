"""Bound sockets while the bind-table walk is skipped (real sockets, real dumps): the last
walk's bound sockets stay listed in place, one that listens or connects changes State at
once, and a walk every REFRESH_S catches up with the ones that came or went."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.connections.model import TcpState
from core.connections.sources.base import SourceSample
from core.connections.sources.bound_walk import REFRESH_S, WALK_ALWAYS_BELOW, BoundWalk
from core.connections.sources.inet_diag import TCP_ALL_STATES
from core.connections.sources.netlink import NetlinkSource
from core.connections.tcpinfo import LazyTcpInfo
from tests.integration.conftest import IS_LINUX
from tests.integration.sockets import SocketBag
from tests.integration.test_sources import find, port

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def skipping_source(tcp_info: bool, dump: str) -> Iterator[tuple[NetlinkSource, Clock]]:
    """A source that skips the walk whatever the host's size, and the clock it reads."""
    clock = Clock()
    source = NetlinkSource(resolve_owners=False, tcp_info=tcp_info, dump=dump)
    source.bound_walk = BoundWalk(clock, walk_always_below=0)
    yield source, clock
    source.close()


@pytest.fixture(params=["unspec", "per-family"])
def skipping(request: pytest.FixtureRequest) -> Iterator[tuple[NetlinkSource, Clock]]:
    """A live app's source (no tcp_info dumped)."""
    yield from skipping_source(False, request.param)


def sample(source: NetlinkSource, first: bool = False) -> SourceSample:
    return source.sample(datetime.now(UTC), first=first)


def lazy(sample: SourceSample) -> LazyTcpInfo:
    """A recording source's tcp_info (every socket's, in every dump)."""
    assert isinstance(sample.tcp_info, LazyTcpInfo)
    return sample.tcp_info


def bound(bag: SocketBag, family: int = socket.AF_INET) -> socket.socket:
    sock = bag.keep(socket.socket(family))
    sock.bind(("127.0.0.1", 0) if family == socket.AF_INET else ("::1", 0))
    return sock


def test_skipped_walks_keep_bound_sockets_and_see_them_listen_or_connect(
    skipping: tuple[NetlinkSource, Clock], bag: SocketBag
) -> None:
    source, clock = skipping
    listener = bag.listener()
    stays, listens, connects = bound(bag), bound(bag), bound(bag)
    six = bound(bag, socket.AF_INET6)
    first = sample(source, first=True)
    assert source.bound_walk.walking
    was = {s: find(first, port(s)) for s in (stays, listens, connects)}
    assert all(c is not None and c.state is TcpState.BOUND for c in was.values())
    assert find(first, port(six), laddr="::1") is not None

    listens.listen()
    connects.connect(listener.getsockname())
    late = bound(bag)
    second = sample(source)
    assert not source.bound_walk.walking
    assert find(second, port(stays)) is was[stays]  # put back in place: the same record
    assert find(second, port(six), laddr="::1") is not None
    assert find(second, port(listens)).state is TcpState.LISTEN
    assert find(second, port(connects), port(listener)) is not None
    assert find(second, port(connects)) is None  # no Bound row left behind
    assert find(second, port(late)) is None  # the documented delay: up to REFRESH_S
    for sock in (listens, connects):  # each listed once: no Bound row beside its new one
        rows = [c for c in second.connections.values() if c.local_port == port(sock)]
        assert len([c for c in rows if c.local_address == "127.0.0.1"]) == 1

    third = sample(source)  # nothing of ours changed: none of ours touched
    assert not source.bound_walk.walking
    assert not {
        c.instance_id
        for c in second.connections.values()
        if c.local_port in {port(s) for s in bag.sockets}
    } & (third.touched or set())

    stays_port = port(stays)
    stays.close()
    assert find(sample(source), stays_port) is not None  # the documented delay again
    clock.now += REFRESH_S
    fourth = sample(source)
    assert source.bound_walk.walking
    assert find(fourth, port(late)) is not None and find(fourth, stays_port) is None
    assert find(fourth, port(six), laddr="::1") is find(second, port(six), laddr="::1")


def test_skipped_walks_keep_a_reset_socket_still_held_and_the_bound_ones_after_it(
    skipping: tuple[NetlinkSource, Clock], bag: SocketBag
) -> None:
    """The walk also finds sockets whose connection was reset while their process holds them
    (State Closed, with their peer's address). Such a socket ended what was taken for the
    walk's part of the dump: it, and the bound sockets listed after it, vanished from every
    sample that skipped the walk, and came back with the next walk."""
    source, _clock = skipping
    listener = bag.listener()
    held = bag.reset_but_held(listener)
    stays = [bound(bag) for _ in range(3)]
    first = sample(source, first=True)
    assert source.bound_walk.walking
    closed = find(first, port(held), port(listener))
    assert closed is not None and closed.state is TcpState.CLOSED
    second = sample(source)
    assert not source.bound_walk.walking
    assert find(second, port(held), port(listener)) is closed  # put back: the same record
    for sock in stays:
        assert find(second, port(sock)) is find(first, port(sock)) is not None


def ours(sample: SourceSample, bag: SocketBag) -> dict[str, object]:
    """This test's records (the host's other sockets may come and go meanwhile)."""
    ends = set()
    for sock in bag.sockets:
        try:
            ends.add((port(sock), sock.getpeername()[1]))
        except OSError:  # not connected
            ends.add((port(sock), 0))
    return {
        i: c
        for i, c in sample.connections.items()
        if (c.local_port, c.remote_port) in ends and c.state is not TcpState.TIME_WAIT
    }


def test_samples_with_and_without_the_walk_keep_the_same_records(
    skipping: tuple[NetlinkSource, Clock], bag: SocketBag
) -> None:
    source, clock = skipping
    listener = bag.listener()
    for _ in range(300):
        bag.pair(listener)
    for _ in range(5):
        bound(bag)
    walked = ours(sample(source, first=True), bag)
    assert len(walked) == 606
    skipped = sample(source)
    assert not source.bound_walk.walking
    assert ours(skipped, bag) == walked and not set(walked) & (skipped.touched or set())
    assert all(skipped.connections[i] is c for i, c in walked.items())  # same objects
    clock.now += REFRESH_S
    again = sample(source)
    assert source.bound_walk.walking
    assert all(again.connections[i] is c for i, c in walked.items())
    assert not set(walked) & (again.touched or set())


def test_a_small_host_walks_every_sample_and_a_large_one_every_refresh() -> None:
    clock = Clock()
    walk = BoundWalk(clock)
    walk.plan(True, 0)
    walk.done()
    assert walk.plan(False, WALK_ALWAYS_BELOW - 1) == TCP_ALL_STATES and walk.walking
    walk.done()
    assert walk.plan(False, WALK_ALWAYS_BELOW) != TCP_ALL_STATES and not walk.walking
    walk.done()
    clock.now += REFRESH_S - 0.1
    assert not (walk.plan(False, WALK_ALWAYS_BELOW), walk.walking)[1]
    clock.now += 0.1
    assert walk.plan(False, WALK_ALWAYS_BELOW) == TCP_ALL_STATES
    walk.done()
    clock.now -= 60  # a clock that went back walks rather than wait
    assert walk.plan(False, WALK_ALWAYS_BELOW) == TCP_ALL_STATES


def test_a_failed_walk_is_not_taken_for_one() -> None:
    walk = BoundWalk(Clock(), walk_always_below=0)
    walk.plan(True, 0)  # its dump fails: done() is never called
    assert walk.plan(False, 50_000) == TCP_ALL_STATES


@pytest.fixture(params=["unspec", "per-family"])
def recording(request: pytest.FixtureRequest) -> Iterator[tuple[NetlinkSource, Clock]]:
    """A recorder's source (every tcp_info in every dump)."""
    yield from skipping_source(True, request.param)


def test_a_recording_skips_the_walk_and_bound_sockets_lose_no_tcp_info(
    recording: tuple[NetlinkSource, Clock], bag: SocketBag
) -> None:
    source, clock = recording
    listener = bag.listener()
    stays, listens = bound(bag), bound(bag)
    six = bound(bag, socket.AF_INET6)
    pair = bag.pair(listener)
    first = sample(source, first=True)
    assert source.bound_walk.walking
    was = {s: find(first, port(s)) for s in (stays, listens)}
    was[six] = find(first, port(six), laddr="::1")
    # The kernel lists bound sockets without tcp_info: nothing of theirs to put back. (Were
    # this to change, skipping the walk would drop their tcp_info between two walks.)
    for conn in was.values():
        assert conn is not None and conn.state is TcpState.BOUND
        assert conn.instance_id not in first.tcp_info
    talking = find(first, port(pair[0]), port(listener))
    assert talking is not None and talking.instance_id in first.tcp_info
    trail = lazy(first).changes(None).trail

    second = sample(source)
    assert not source.bound_walk.walking
    changes = lazy(second).changes(trail)
    assert all(second.connections[c.instance_id] is c for c in was.values() if c is not None)
    assert talking.instance_id in second.tcp_info
    assert talking.instance_id not in changes.gone

    listens.listen(7)
    third = sample(source)
    assert not source.bound_walk.walking
    changes = lazy(third).changes(changes.trail)
    now = find(third, port(listens))
    assert now is not None and now.state is TcpState.LISTEN
    assert changes.moved[now.instance_id].send_q == 7  # its backlog: a LISTEN socket's tcp_info

    clock.now += REFRESH_S
    fourth = sample(source)
    assert source.bound_walk.walking
    changes = lazy(fourth).changes(changes.trail)
    assert now.instance_id not in changes.gone and now.instance_id not in changes.moved
    assert fourth.tcp_info[now.instance_id].send_q == 7
