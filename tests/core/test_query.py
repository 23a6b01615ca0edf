"""Filter parsing/matching and sort keys (core.connections.query), on records built like a real
source's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpState
from core.connections.query import QueryError, parse_query
from core.connections.sort_keys import SORT_COLUMNS, sort_key
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROCS = {
    10: ProcessInfo(10, "nginx", "www-data", ("nginx",), "/usr/sbin/nginx", 1.0),
    20: ProcessInfo(20, "sshd", "root", ("sshd",), "/usr/sbin/sshd", 1.0),
}


def build(*rows: ScriptedConn) -> list[TcpConnection]:
    sample = ScriptedSource([ScriptedFrame(rows, PROCS)]).sample(NOW, first=True)
    return list(sample.connections.values())


CONNS = build(
    ScriptedConn("0.0.0.0", 80, "0.0.0.0", 0, TcpState.LISTEN, pid=10, inode=5, offload_state=0),
    ScriptedConn("10.0.0.1", 80, "10.0.0.9", 5000, TcpState.ESTABLISHED, pid=10, offload_state=2),
    ScriptedConn("10.0.0.1", 22, "10.0.0.10", 6000, TcpState.SYN_SENT, pid=20, offload_state=1),
    ScriptedConn(
        "10.0.0.1", 22, "10.0.0.2", 6001, TcpState.TIME_WAIT, owner_status=OwnerStatus.NO_OWNER
    ),
)


def matching(text: str) -> set[tuple[int, int]]:
    query = parse_query(text)
    procs = PROCS
    return {
        (c.local_port, c.remote_port)
        for c in CONNS
        if query.matches(c, procs.get(c.owning_process) if c.owning_process else None)
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {(80, 0), (80, 5000), (22, 6000), (22, 6001)}),
        ("state:est", {(80, 5000)}),
        ("state:Listen", {(80, 0)}),
        ("state:syn", {(22, 6000)}),  # prefix: SynSent and SynReceived
        ("!state:timewait", {(80, 0), (80, 5000), (22, 6000)}),
        ("port:6000", {(22, 6000)}),
        ("port:80", {(80, 0), (80, 5000)}),
        ("lport:22", {(22, 6000), (22, 6001)}),
        ("rport:5000", {(80, 5000)}),
        ("pid:20", {(22, 6000)}),
        ("proc:NGI", {(80, 0), (80, 5000)}),
        ("user:root", {(22, 6000)}),
        ("addr:10.0.0.10", {(22, 6000)}),
        ("lport:22 !state:timewait", {(22, 6000)}),
        ("nginx", {(80, 0), (80, 5000)}),  # free text: process name
        ("established", {(80, 5000)}),  # free text: state name
        ("offloaded", {(80, 5000)}),  # free text: OffloadState name
        ("10.0.0.2:6001", {(22, 6001)}),  # free text: endpoint
    ],
)
def test_filter_tokens(text: str, expected: set[tuple[int, int]]) -> None:
    assert matching(text) == expected


@pytest.mark.parametrize(
    "text", ["state:nosuch", "port:nosuchservice", "pid:-1", "colour:red", "!", "pid:"]
)
def test_bad_filters_raise_one_line(text: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert "\n" not in str(info.value)


def test_state_sorts_by_seed_value_not_name() -> None:
    ordered = sorted(CONNS, key=lambda c: sort_key("state", c, None))
    assert [int(c.state) for c in ordered] == sorted(int(c.state) for c in CONNS)
    # Alphabetically Established < Listen < SynSent < TimeWait; by value Listen(2) comes first.
    assert ordered[0].state is TcpState.LISTEN


@pytest.mark.parametrize("column", SORT_COLUMNS)
def test_every_sort_key_is_total_and_deterministic(column: str) -> None:
    keys = [sort_key(column, c, PROCS.get(c.owning_process or -1)) for c in CONNS]
    assert len(set(keys)) == len(keys)
    assert sorted(keys) == sorted(reversed(keys))


README_TIES = (
    "ties are broken by local port, then remote port (by remote port, then local port, when "
    "sorting by Remote), then by InstanceID"
)


def test_ties_are_broken_as_the_readme_says() -> None:
    """The README said "the endpoints as secondary key"; the keys break ties by the ports,
    then InstanceID, never by address (comparing addresses too would slow a 50k re-sort)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert README_TIES in " ".join(readme.split())
    low, high = build(
        ScriptedConn("10.0.0.1", 5000, "10.0.0.9", 443, TcpState.ESTABLISHED),
        ScriptedConn("10.0.0.2", 5000, "10.0.0.1", 443, TcpState.ESTABLISHED),
    )
    # Same state and ports: InstanceID decides, whatever the addresses say.
    expected = sorted((low, high), key=lambda c: c.instance_id)
    for column in ("state", "pid", "process", "service", "age"):
        assert sorted((high, low), key=lambda c: sort_key(column, c, None)) == expected
    remote_first, local_first = build(
        ScriptedConn("10.0.0.1", 2, "10.0.0.1", 1, TcpState.ESTABLISHED),
        ScriptedConn("10.0.0.1", 1, "10.0.0.1", 2, TcpState.ESTABLISHED),
    )
    assert sorted((local_first, remote_first), key=lambda c: sort_key("state", c, None)) == [
        local_first,
        remote_first,
    ]
    assert sorted((local_first, remote_first), key=lambda c: sort_key("remote", c, None)) == [
        remote_first,
        local_first,
    ]


def test_addresses_sort_numerically() -> None:
    conns = build(
        ScriptedConn("10.0.0.10", 1, "1.1.1.1", 1, TcpState.ESTABLISHED),
        ScriptedConn("10.0.0.9", 1, "1.1.1.1", 1, TcpState.ESTABLISHED),
        ScriptedConn("::1", 1, "::1", 2, TcpState.ESTABLISHED, family=6),
    )
    ordered = sorted(conns, key=lambda c: sort_key("local", c, None))
    assert [c.local_address for c in ordered] == ["10.0.0.9", "10.0.0.10", "::1"]
