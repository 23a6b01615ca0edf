"""The filter language composes: OR with commas, negation, CIDR, ranges, service names.

Records are built by the scripted source exactly as a real source builds them; the expected
sets are written out by hand from the rows below.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core.connections.completion import complete, field_values
from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpState
from core.connections.query import QueryError, parse_query
from core.connections.records import ifindex_of, instance_id
from core.connections.services import parse_services
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
    ScriptedConn("0.0.0.0", 80, "0.0.0.0", 0, TcpState.LISTEN, pid=10, inode=5),
    ScriptedConn("0.0.0.0", 443, "0.0.0.0", 0, TcpState.LISTEN, pid=10, inode=6),
    ScriptedConn("10.1.2.3", 443, "192.168.7.9", 50000, TcpState.ESTABLISHED, pid=10),
    ScriptedConn("10.1.2.3", 22, "172.16.0.4", 6000, TcpState.SYN_SENT, pid=20),
    ScriptedConn(
        "10.1.2.3", 22, "10.9.9.9", 6001, TcpState.TIME_WAIT, owner_status=OwnerStatus.NO_OWNER
    ),
    ScriptedConn("2001:db8::1", 8080, "2001:db8:1::7", 1500, TcpState.ESTABLISHED, pid=20),
)


def matching(text: str) -> set[tuple[int, int]]:
    query = parse_query(text)
    return {
        (c.local_port, c.remote_port)
        for c in CONNS
        if query.matches(c, PROCS.get(c.owning_process) if c.owning_process else None)
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # OR within a field (was accepted and silently ignored before)
        ("port:80,443", {(80, 0), (443, 0), (443, 50000)}),
        ("state:est,listen", {(80, 0), (443, 0), (443, 50000), (8080, 1500)}),
        # the class's numbers, as connections --state 5 and WMI output give them
        ("state:5,2", {(80, 0), (443, 0), (443, 50000), (8080, 1500)}),
        ("state:3", {(22, 6000)}),
        ("-state:2,11", {(443, 50000), (22, 6000), (8080, 1500)}),
        ("state:LISTEN,Established", {(80, 0), (443, 0), (443, 50000), (8080, 1500)}),
        ("proc:sshd,nginx pid:20", {(22, 6000), (8080, 1500)}),
        # negation with '-' (and '!')
        ("-state:listen", {(443, 50000), (22, 6000), (22, 6001), (8080, 1500)}),
        ("-state:listen,timewait !port:22", {(443, 50000), (8080, 1500)}),
        # CIDR blocks, either end or one end
        ("addr:10.0.0.0/8", {(443, 50000), (22, 6000), (22, 6001)}),
        ("raddr:10.0.0.0/8", {(22, 6001)}),
        ("raddr:172.16.0.0/12,192.168.0.0/16", {(443, 50000), (22, 6000)}),
        ("addr:2001:db8:1::/48", {(8080, 1500)}),
        ("-addr:10.0.0.0/8 state:est", {(8080, 1500)}),
        ("laddr:0.0.0.0", {(80, 0), (443, 0)}),
        # port ranges and service names
        ("port:1024-65535", {(443, 50000), (22, 6000), (22, 6001), (8080, 1500)}),
        ("lport:1-1023 -state:listen", {(443, 50000), (22, 6000), (22, 6001)}),
        ("rport:6000-6001,1500", {(22, 6000), (22, 6001), (8080, 1500)}),
        ("lport:ssh", {(22, 6000), (22, 6001)}),
        ("pid:10-15", {(80, 0), (443, 0), (443, 50000)}),
        # free text ORs too
        ("nginx,timewait", {(80, 0), (443, 0), (443, 50000), (22, 6001)}),
    ],
)
def test_words_compose(text: str, expected: set[tuple[int, int]]) -> None:
    assert matching(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("port:80,", "empty value"),
        ("port:9-1", "runs backwards"),
        ("port:70000", "out of range"),
        ("addr:10.0.0.0/33", "CIDR"),
        ("state:est,bogus", "matches no State"),
        ("state:99", "is no State value"),
        ("state:0", "is no State value"),
        ("state:0005", "is no State value"),
        ("state:\u0665", "matches no State"),
        ("state:+5", "matches no State"),
        ("prot:80", "unknown field"),
        ("-", "needs something to negate"),
        ("port:", "needs a value"),
    ],
)
def test_errors_are_one_line_and_name_the_problem(text: str, says: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert says in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ['""', "''", 'port:22 ""', "'' -state:listen"])
def test_an_empty_quoted_word_is_said_to_be_empty(text: str) -> None:
    """``""`` was told "'' needs something to negate": no ``-`` was typed; the word is
    empty, and now it says so."""
    with pytest.raises(QueryError) as info:
        parse_query(text)
    said = str(info.value)
    assert said.startswith("an empty filter word"), said
    assert "negate" not in said and "\n" not in said, said


def test_services_file_parsing() -> None:
    by_port, by_name = parse_services(
        "# comment\nhttp 80/tcp www # WorldWideWeb\nhttp 80/udp\nsyslog 514/udp\n"
        "bogus x/tcp\nhttps 443/tcp\n"
    )
    assert by_port == {80: "http", 443: "https"}
    assert by_name == {"http": 80, "www": 80, "https": 443}


VALUES = field_values(CONNS, PROCS)


@pytest.mark.parametrize(
    ("text", "cursor", "new_text", "choices"),
    [
        ("st", 2, "state:", ("state:",)),
        ("-st", 3, "-state:", ("-state:",)),
        ("p", 1, "p", ("port:", "pid:", "proc:")),
        ("state:es", 8, "state:established", ("state:established",)),
        ("state:listen,ti", 15, "state:listen,timewait", ("state:listen,timewait",)),
        ("proc:ss port:80", 7, "proc:sshd port:80", ("proc:sshd",)),
        ("proc:zz", 7, "proc:zz", ()),
        ("bogus:x", 7, "bogus:x", ()),
    ],
)
def test_completion(text: str, cursor: int, new_text: str, choices: tuple[str, ...]) -> None:
    done = complete(text, cursor, VALUES)
    assert done.text == new_text
    assert set(done.choices) == set(choices)
    word_end = done.text.find(" ", done.cursor - 1)
    assert done.cursor == (len(done.text) if word_end < 0 else word_end)


def test_completion_offers_values_on_screen() -> None:
    assert "nginx" in VALUES["proc"] and "root" in VALUES["user"]
    assert {"22", "443", "8080"} <= set(VALUES["port"])
    assert "10.1.2.3" in VALUES["addr"]


ZONED = build(
    ScriptedConn("fe80::1%eth0", 9000, "fe80::2%eth0", 9001, TcpState.ESTABLISHED, pid=10),
    ScriptedConn("fe80::1%eth1", 9002, "fe80::2%eth1", 9003, TcpState.ESTABLISHED, pid=10),
    ScriptedConn("10.1.2.3", 443, "192.168.7.9", 50000, TcpState.ESTABLISHED, pid=10),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A link-local address without its zone is on any link (it matched none: the
        # rows carry the zone, as ss writes it); with one, on that link only.
        ("laddr:fe80::1", {9000, 9002}),
        ("laddr:fe80::1%eth1", {9002}),
        ("raddr:fe80::2%eth0", {9000}),
        ("addr:fe80::/10", {9000, 9002}),
        # An IPv4-mapped form is the IPv4 address every row shows (it matched nothing).
        ("raddr:::ffff:192.168.7.9", {443}),
        ("raddr:::ffff:192.168.0.0/112", {443}),
        ("addr:::ffff:0:0/96", {443}),
    ],
)
def test_zones_and_mapped_addresses(text: str, expected: set[int]) -> None:
    query = parse_query(text)
    assert {c.local_port for c in ZONED if query.matches(c, PROCS[10])} == expected


# The rows as the netlink source makes them: the kernel's interface index after the ports in
# the InstanceID (eth0 is 2, eth1 is 3 in the socket's namespace); a third link whose name
# could not be read shows its index as the zone.
INDEXED = [
    replace(c, instance_id=f"{c.instance_id}%{index}")
    for c, index in zip(
        build(
            ScriptedConn("fe80::1%eth0", 9000, "fe80::2%eth0", 9001, TcpState.ESTABLISHED),
            ScriptedConn("fe80::1%eth1", 9002, "fe80::2%eth1", 9003, TcpState.ESTABLISHED),
            ScriptedConn("fe80::1%7", 9004, "fe80::2%7", 9005, TcpState.ESTABLISHED),
        ),
        (2, 3, 7),
        strict=True,
    )
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 4007's numeric zone is the interface index (it matched nothing: the rows write
        # the interface's name, and only the InstanceID carries its index).
        ("laddr:fe80::1%3", {9002}),
        ("raddr:fe80::2%2", {9000}),
        ("addr:fe80::2%2,fe80::1%7", {9000, 9004}),
        ("laddr:fe80::1%03", {9002}),
        ("-laddr:fe80::1%3", {9000, 9004}),
        ("laddr:fe80::1%4", set()),
        ("laddr:fe80::9%3", set()),
        ("laddr:fe80::1%eth1", {9002}),
        ("laddr:fe80::1", {9000, 9002, 9004}),
    ],
)
def test_a_numeric_zone_is_the_interface_index(text: str, expected: set[int]) -> None:
    query = parse_query(text)
    assert {c.local_port for c in INDEXED if query.matches(c, None)} == expected


def test_the_index_is_read_back_from_what_instance_id_writes() -> None:
    iid = instance_id("fe80::1%eth0", 22, "fe80::2%eth0", 5000, 77, ifindex=12, netns=4026531840)
    assert ifindex_of(iid) == 12
    assert ifindex_of(instance_id("fe80::1", 22, "::", 0, 77, ifindex=5)) == 5
    assert ifindex_of(instance_id("10.0.0.1", 22, "10.0.0.2", 5000, 77)) == 0
    assert ifindex_of(instance_id("::1", 22, "::1", 5000, 77, generation="t123")) == 0
