"""Which socket is which connection, against the real kernel.

* Link-local addresses: the same ``fe80::`` pair on two links, two connections from the same
  local port (two network namespaces joined by two veth pairs, built here): both rows, each
  address with its zone as ``ss`` writes it, and two InstanceIDs that carry the interface index;
  a filter on ``fe80::1%N`` finds the connection on the link of index N.
* A new socket on a reused 4-tuple (a reconnect from the same port with SO_REUSEADDR, answered
  by the server's TIME_WAIT end): a new connection, with an InstanceID and history of its own,
  while the TIME_WAIT one closes into a ghost.
* A reset socket its process still holds (State Closed) and a new connection on its 4-tuple:
  two rows, two InstanceIDs.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator

import pytest

from core.connections.model import TcpConnection, TcpState
from core.connections.snapshot import Snapshot
from core.connections.sources.base import ConnectionSource
from core.sampling.sampler import Sampler
from tests.integration.conftest import IS_LINUX
from tests.integration.netns import Netns, netns_unavailable
from tests.integration.sockets import SocketBag
from tests.test_cli import ROOT

SERVER = """
import json, socket, sys
s = socket.socket(socket.AF_INET6); s.bind(("::", 0)); s.listen()
print(s.getsockname()[1], flush=True)
kept = [s.accept()[0] for _ in range(2)]
sys.stdin.read()
"""

CLIENT = """
import json, socket, sys
port = int(sys.argv[1])
socks, local = [], 0
for link in ("one", "two"):
    scope = socket.if_nametoindex(link)
    c = socket.socket(socket.AF_INET6)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("fe80::1", local, 0, scope))
    local = c.getsockname()[1]
    c.connect(("fe80::2", port, 0, scope))
    socks.append(c)
print(json.dumps({"port": local, "index": {n: socket.if_nametoindex(n) for n in ("one", "two")}}),
      flush=True)
sys.stdin.read()
"""


@pytest.fixture
def two_links() -> Iterator[tuple[Netns, Netns]]:
    """Namespaces A and B joined by veth pairs ``one`` and ``two``: fe80::1 on both of A's
    ends, fe80::2 on both of B's."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with Netns("lla") as a, Netns("llb") as b:
        for link in ("one", "two"):
            ends = ("peer", "name", link, "netns", b.name)
            subprocess.run(
                ["ip", "link", "add", link, "netns", a.name, "type", "veth", *ends], check=True
            )
            for ns, addr in ((a, "fe80::1/64"), (b, "fe80::2/64")):
                ns.ip("-6", "addr", "add", addr, "dev", link, "nodad")
                ns.ip("link", "set", link, "up")
        yield a, b


def test_the_same_link_local_pair_on_two_links_is_two_connections(
    two_links: tuple[Netns, Netns],
) -> None:
    a, b = two_links
    server = b.python(SERVER)
    client: subprocess.Popen[str] | None = None
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = a.python(CLIENT, str(port))
        assert client.stdout is not None
        setup = json.loads(client.stdout.readline())
        rows = [r for r in a.tcpscope_json() if r["LocalPort"] == setup["port"]]
        ss = a.run("ss", "-tanH", "sport", "=", f":{setup['port']}")
        # Read from the host's namespace (--netns NAME): the zones are a's interfaces still,
        # not whatever the host's interfaces of the same index are called.
        outside = subprocess.run(
            [sys.executable, "-m", "tui", "connections", "--json", "--netns", a.name,
             "--local-port", str(setup["port"])],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    finally:
        for child in (server, client):
            if child is not None:
                child.kill()
                child.wait(timeout=10)
    assert len(rows) == 2
    by_link = {str(r["LocalAddress"]).split("%")[1]: r for r in rows}
    assert set(by_link) == {"one", "two"}
    for link, row in by_link.items():
        assert row["LocalAddress"] == f"fe80::1%{link}"
        assert row["RemoteAddress"] == f"fe80::2%{link}"
        assert (row["RemotePort"], row["State"]) == (port, int(TcpState.ESTABLISHED))
        assert f"%{setup['index'][link]}" in str(row["InstanceID"])
        # ss writes the same address and zone as [fe80::1]%one:port
        assert f"[fe80::1]%{link}:{setup['port']}" in ss
    assert by_link["one"]["InstanceID"] != by_link["two"]["InstanceID"]
    assert outside.returncode == 0, outside.stderr
    assert sorted(str(r["LocalAddress"]) for r in json.loads(outside.stdout)) == [
        "fe80::1%one",
        "fe80::1%two",
    ]


def test_a_numeric_zone_filters_by_the_interface_index_in_the_sockets_namespace(
    two_links: tuple[Netns, Netns],
) -> None:
    """``laddr:fe80::1%N`` (RFC 4007's numeric zone) found nothing although ``%one`` did and the
    row's own InstanceID ends in ``%N``. Read from the host's namespace (``--netns``), where
    index N is another interface or none: the index is the socket's namespace's."""
    a, b = two_links
    server = b.python(SERVER)
    client: subprocess.Popen[str] | None = None
    found: dict[str, list[str]] = {}
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = a.python(CLIENT, str(port))
        assert client.stdout is not None
        setup = json.loads(client.stdout.readline())
        lport = str(setup["port"])
        for link, index in setup["index"].items():
            for how in (
                ("--filter", f"laddr:fe80::1%{index} lport:{lport}"),
                ("--filter", f"raddr:fe80::2%{index} lport:{lport}"),
                ("--filter", f"addr:fe80::1%{index} lport:{lport}"),
                ("--local-address", f"fe80::1%{index}", "--local-port", lport),
            ):
                out = subprocess.run(
                    [sys.executable, "-m", "tui", "connections", "--json", "--netns", a.name,
                     *how],
                    capture_output=True, text=True, timeout=60,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )  # fmt: skip
                assert out.returncode == 0, out.stderr
                rows = json.loads(out.stdout)
                found.setdefault(link, []).extend(
                    f"{r['LocalAddress']} {r['InstanceID']}" for r in rows
                )
    finally:
        for child in (server, client):
            if child is not None:
                child.kill()
                child.wait(timeout=10)
    for link, index in setup["index"].items():
        assert len(found[link]) == 4, found
        for row in found[link]:
            assert row.startswith(f"fe80::1%{link} ") and row.endswith(f"%{index}"), row


def _find(snap: Snapshot, lport: int, rport: int) -> TcpConnection | None:
    for conn in snap.connections.values():
        if (conn.local_address, conn.local_port, conn.remote_port) == ("127.0.0.1", lport, rport):
            return conn
    return None


async def _until(sampler: Sampler, test: object, tries: int = 200) -> Snapshot:
    for _ in range(tries):
        snap = await sampler.sample_once()
        if callable(test) and test(snap):
            return snap
    listed = sorted((c.local_port, c.remote_port, c.state.name) for c in snap.connections.values())
    raise AssertionError(f"condition not reached; the last sample: {listed}")


def _source(name: str) -> ConnectionSource:
    if name == "netlink":
        from core.connections.sources.netlink import NetlinkSource

        return NetlinkSource()
    from core.connections.sources.psutil_source import PsutilSource

    return PsutilSource()


@pytest.mark.skipif(not IS_LINUX, reason="needs the Linux TIME_WAIT behaviour on loopback")
@pytest.mark.parametrize("source", ["netlink", "psutil"])
async def test_a_reconnect_on_a_reused_tuple_is_a_new_connection(
    source: str, bag: SocketBag
) -> None:
    lst = bag.listener()
    lport = lst.getsockname()[1]
    client = bag.keep(socket.socket())
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", 0))
    cport = client.getsockname()[1]
    client.connect(("127.0.0.1", lport))
    accepted, _ = lst.accept()
    sampler = Sampler(_source(source), interval_s=1, timeout_s=120)  # psutil: slow when busy
    try:
        first = await sampler.sample_once()
        old = _find(first, lport, cport)
        assert old is not None and old.state is TcpState.ESTABLISHED
        accepted.close()  # the server closes first: its end waits in TIME_WAIT
        assert client.recv(1) == b""
        client.close()

        def in_time_wait(snap: Snapshot) -> bool:
            conn = _find(snap, lport, cport)
            return conn is not None and conn.state is TcpState.TIME_WAIT

        waiting = await _until(sampler, in_time_wait)
        tw = _find(waiting, lport, cport)
        assert tw is not None and tw.instance_id == old.instance_id  # the same connection
        again = bag.keep(socket.socket())
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", cport))
        again.connect(("127.0.0.1", lport))  # the SYN takes over the TIME_WAIT tuple
        bag.keep(lst.accept()[0])

        def reconnected(snap: Snapshot) -> bool:
            conn = _find(snap, lport, cport)
            return conn is not None and conn.state is TcpState.ESTABLISHED

        snap = await _until(sampler, reconnected)
    finally:
        await sampler.aclose()
    new = _find(snap, lport, cport)
    assert new is not None
    assert new.instance_id != old.instance_id
    assert re.fullmatch(re.escape(old.instance_id) + r"#\w+", new.instance_id)
    assert new.creation_time is not None and old.creation_time is not None
    assert new.creation_time > old.creation_time and not new.created_before_start
    assert new.state_changed_at is None  # its own history: no TimeWait -> Established
    assert not any(ch.instance_id == new.instance_id for ch in snap.diff.state_changed)
    ghosts = {g.connection.instance_id: g.connection for g in snap.ghosts}
    assert ghosts[old.instance_id].state is TcpState.TIME_WAIT


def _rows(snap: Snapshot, lport: int, rport: int) -> list[TcpConnection]:
    return [
        c
        for c in snap.connections.values()
        if (c.local_address, c.local_port, c.remote_port) == ("127.0.0.1", lport, rport)
    ]


def _bind_explicitly(sock: socket.socket) -> int:
    """Bind to a port named outright, not port 0: only a socket bound so keeps its port when
    reset (the kernel then lists it as Closed). The port is probed first, and taken by another
    test meanwhile now and then: probed again."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise AssertionError("no free port to bind to")


@pytest.mark.skipif(not IS_LINUX, reason="the kernel's bind table: Linux")
async def test_a_reset_socket_still_held_and_a_new_connection_on_its_tuple_are_two_rows(
    bag: SocketBag,
) -> None:
    """A connection reset while its process keeps the socket is State Closed and keeps its
    4-tuple; SO_REUSEADDR lets a new connection take the same 4-tuple meanwhile. Both were
    listed under one InstanceID, so one hid the other (found closing a socket with ``ss -K``
    and reconnecting). Each is a row: the live sampler's and a one-shot's."""
    lst = bag.listener()
    lport = lst.getsockname()[1]
    client = bag.keep(socket.socket())
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sampler = Sampler(_source("netlink"), interval_s=1, timeout_s=60)
    try:
        cport = _bind_explicitly(client)
        client.connect(("127.0.0.1", lport))
        accepted, _ = lst.accept()
        first = await sampler.sample_once()
        (before,) = _rows(first, cport, lport)
        assert before.state is TcpState.ESTABLISHED
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        accepted.close()

        def closed(snap: Snapshot) -> bool:
            return [c.state for c in _rows(snap, cport, lport)] == [TcpState.CLOSED]

        reset = await _until(sampler, closed)
        (held,) = _rows(reset, cport, lport)
        assert held.instance_id == before.instance_id  # the same socket, now Closed
        assert held.state_changed_at is not None
        again = bag.keep(socket.socket())
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", cport))
        again.connect(("127.0.0.1", lport))
        bag.keep(lst.accept()[0])

        def both(snap: Snapshot) -> bool:
            return len(_rows(snap, cport, lport)) == 2

        snap = await _until(sampler, both)
    finally:
        await sampler.aclose()
    rows = {c.state: c for c in _rows(snap, cport, lport)}
    assert set(rows) == {TcpState.CLOSED, TcpState.ESTABLISHED}
    assert rows[TcpState.CLOSED].instance_id == before.instance_id
    assert rows[TcpState.ESTABLISHED].instance_id != before.instance_id
    assert rows[TcpState.ESTABLISHED].creation_time != rows[TcpState.CLOSED].creation_time
    # A one-shot (a first sample, where both are new) lists both too, as two InstanceIDs.
    done = subprocess.run(
        [sys.executable, "-m", "tui", "connections", "--json", "--netns", "current",
         "--local-port", str(cport), "--remote-port", str(lport)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert sorted(r["State"] for r in listed) == sorted(
        [int(TcpState.CLOSED), int(TcpState.ESTABLISHED)]
    )
    assert len({r["InstanceID"] for r in listed}) == 2
