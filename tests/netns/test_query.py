"""``ns:`` and ``container:`` filter tokens and the group-by-container view, UI-free."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.namespaces import ContainerInfo, NamespaceInfo, NamespaceView, ReadBy
from core.connections.query import QueryError, parse_query
from core.connections.records import LINUX_DEFAULTS, new_connection
from core.connections.row_index import RowIndex
from core.connections.snapshot import ConnectionDiff, Snapshot

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEB = NamespaceInfo(
    4026532001,
    False,
    ReadBy.SOCK_DIAG,
    container=ContainerInfo("docker", "ab" * 32, "shop-web", None),
)
BLUE = NamespaceInfo(4026532002, False, ReadBy.PROCFS, name="blue")
HOST = NamespaceInfo(4026531840, True, ReadBy.SOCK_DIAG)
VIEW = NamespaceView((HOST, WEB, BLUE))


def conn(port: int, netns: int | None) -> TcpConnection:
    return new_connection(
        family=4,
        local_address="127.0.0.1",
        local_port=port,
        remote_address="0.0.0.0",
        remote_port=0,
        state=TcpState.LISTEN,
        owning_process=None,
        owner_status=OwnerStatus.NOT_FOUND,
        first_seen=T0,
        created_before_start=True,
        defaults=LINUX_DEFAULTS,
        inode=port,
        netns=netns,
    )


CONNS = [conn(80, WEB.inode), conn(80, BLUE.inode), conn(80, None)]


@pytest.mark.parametrize(
    ("text", "ports_ns"),
    [
        ("ns:blue", {BLUE.inode}),
        ("ns:shop", {WEB.inode}),
        (f"ns:{WEB.inode}", {WEB.inode}),
        ("ns:current", {None}),
        ("container:docker", {WEB.inode}),
        ("container:abab", {WEB.inode}),
        ("container:blue", set()),
        ("!container:shop", {BLUE.inode, None}),
    ],
)
def test_namespace_tokens(text: str, ports_ns: set[int | None]) -> None:
    query = parse_query(text)
    index = VIEW.index()
    kept = {
        c.netns
        for c in CONNS
        if query.matches(c, None, index.get(c.netns) if c.netns is not None else HOST)
    }
    assert kept == ports_ns


def test_unknown_namespace_key_is_still_a_usage_error() -> None:
    with pytest.raises(QueryError):
        parse_query("nss:blue")


def test_same_tuple_in_two_namespaces_has_two_ids_and_groups_by_container() -> None:
    assert len({c.instance_id for c in CONNS}) == 3
    snap = Snapshot(
        seq=1,
        time=T0,
        started_at=T0,
        source="netlink",
        interval_s=1.0,
        connections={c.instance_id: c for c in CONNS},
        diff=ConnectionDiff(),
        namespaces=VIEW,
    )
    index = RowIndex()
    index.update(snap, 5.0)
    groups = index.groups("container")
    assert sorted(g.name for g in groups) == ["(this)", "blue", "shop-web"]
    index.set_query(parse_query("ns:blue"))
    assert len(index) == 1
    # A name that arrives later applies to the filter at once.
    renamed = NamespaceView((HOST, WEB, dataclasses.replace(BLUE, name="green")))
    index.update(dataclasses.replace(snap, seq=2, namespaces=renamed), 5.0)
    assert len(index) == 0
