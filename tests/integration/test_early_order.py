"""A one-shot sorts its rows while the owner scan runs (core.commands.connections.EarlyOrder):
on real sockets the netlink source shows it the records it is building, the order it finds is
the one sorting afterwards gives, and it is used only for exactly the sample's records."""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest

from core.commands.connections import EarlyOrder, by_endpoints
from core.connections.oneshot import take_snapshot
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink dump")


def test_the_records_sorted_meanwhile_are_the_samples_in_the_output_order() -> None:
    order = EarlyOrder()
    with SocketBag() as bag:
        v4, v6 = bag.listener(), bag.listener("::1")
        for _ in range(5):
            bag.pair(v4)
            bag.pair(v6)
        snap = take_snapshot("netlink", tcp_info=False, meanwhile=order)
        inodes = {os.fstat(s.fileno()).st_ino for s in bag.sockets}
    rows = order.of(snap.connections)
    assert rows is not None
    # The same objects as the snapshot's, in the order sorting them afterwards gives.
    assert sorted(map(id, rows)) == sorted(map(id, snap.connections.values()))
    assert list(map(id, rows)) == list(map(id, by_endpoints(list(snap.connections.values()))))
    # Finished records (owners in), among them every socket this test opened.
    mine = [c for c in rows if c.inode in inodes]
    assert {c.inode for c in mine} == inodes
    assert {c.owning_process for c in mine} == {os.getpid()}


def test_a_replaced_or_missing_record_sends_the_rows_to_the_ordinary_sort() -> None:
    order = EarlyOrder()
    with SocketBag() as bag:
        bag.pair(bag.listener())
        snap = take_snapshot("netlink", tcp_info=False, meanwhile=order)
    conns = dict(snap.connections)
    assert order.of(conns) is not None
    first = next(iter(conns))
    replaced = {**conns, first: dataclasses.replace(conns[first])}
    assert order.of(replaced) is None  # equal, but not the record sorted
    assert order.of({k: v for k, v in conns.items() if k != first}) is None


def test_a_source_that_does_not_wait_for_owners_never_calls() -> None:
    order = EarlyOrder()
    with SocketBag() as bag:
        bag.pair(bag.listener())
        snap = take_snapshot("psutil", tcp_info=False, meanwhile=order)
    assert snap.connections
    assert order.of(snap.connections) is None
