"""Connection sources against the real kernel: real loopback sockets, real child processes.

Each test builds the kernel state it needs (listener, established pair, TIME_WAIT, IPv6,
v4-mapped, a socket owned by a child) and checks what the netlink and psutil sources report.
Only the test's own ports are looked at, since other processes share the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.sources import SOURCE_NAMES, get_source
from core.connections.sources.base import SourceSample
from core.connections.sources.inode_set import InodeSet
from core.connections.sources.pid_resolver import PidResolver
from tests.integration.conftest import IS_LINUX, Sampling
from tests.integration.sockets import SocketBag, wait_for

ROOT = Path(__file__).resolve().parents[2]
ME = os.getpid()


def find(
    sample: SourceSample, lport: int, rport: int = 0, laddr: str = "127.0.0.1"
) -> TcpConnection | None:
    """The connection with this local address and these ports, if the sample has it.

    The local address matters: other processes' loopback sockets may reuse a port number.
    """
    for conn in sample.connections.values():
        if (conn.local_address, conn.local_port, conn.remote_port) == (laddr, lport, rport):
            return conn
    return None


def port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


@pytest.fixture(params=["netlink", "netlink_per_family", "psutil"])
def source(request: pytest.FixtureRequest) -> Sampling:
    """Each source in turn (netlink with both kinds of dump)."""
    fixture = "psutil_source" if request.param == "psutil" else request.param
    sampling: Sampling = request.getfixturevalue(fixture)
    return sampling


def test_listener_and_established_pair(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    client, accepted = bag.pair(lst)
    sample = source()
    listen = find(sample, port(lst))
    assert listen is not None
    assert (listen.local_address, listen.remote_address) == ("127.0.0.1", "0.0.0.0")
    assert listen.state is TcpState.LISTEN
    assert (listen.owning_process, listen.owner_status) == (ME, OwnerStatus.FOUND)
    assert listen.created_before_start
    for sock, peer in ((client, lst), (accepted, client)):
        conn = find(sample, port(sock), port(peer))
        assert conn is not None
        assert conn.state is TcpState.ESTABLISHED
        assert (conn.local_address, conn.remote_address) == ("127.0.0.1", "127.0.0.1")
        assert conn.family == 4
        assert (conn.owning_process, conn.owner_status) == (ME, OwnerStatus.FOUND)
        assert sample.connections[conn.instance_id] is conn
    assert sample.processes[ME].pid == ME
    assert sample.processes[ME].create_time is not None


def test_time_wait_has_no_owner(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    cport, sport = bag.time_wait(lst)

    def settled() -> TcpConnection | None:
        conn = find(source(), cport, sport)
        return conn if conn is not None and conn.state is TcpState.TIME_WAIT else None

    conn = wait_for(settled)
    assert conn.owning_process is None
    assert conn.owner_status is OwnerStatus.NO_OWNER


def test_ipv6_pair(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener("::1")
    client, _accepted = bag.pair(lst)
    sample = source()
    conn = find(sample, port(client), port(lst), laddr="::1")
    assert conn is not None
    assert (conn.local_address, conn.remote_address, conn.family) == ("::1", "::1", 6)
    assert conn.state is TcpState.ESTABLISHED
    assert conn.owning_process == ME
    listen = find(sample, port(lst), laddr="::1")
    assert listen is not None and listen.remote_address == "::"


def test_v4_mapped_shows_as_ipv4(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener("::", v6only=False)
    v4_client = bag.keep(socket.create_connection(("127.0.0.1", port(lst))))
    accepted, _ = lst.accept()
    bag.keep(accepted)
    sample = source()
    served = find(sample, port(lst), port(v4_client))
    assert served is not None
    assert served.family == 6  # the kernel's family of the accepted socket
    assert (served.local_address, served.remote_address) == ("127.0.0.1", "127.0.0.1")
    assert served.state is TcpState.ESTABLISHED


def test_child_process_owns_its_socket(source: Sampling, bag: SocketBag) -> None:
    child, cport = bag.child_listener()
    sample = source()
    conn = find(sample, cport)
    assert conn is not None
    assert conn.state is TcpState.LISTEN
    assert (conn.owning_process, conn.owner_status) == (child.pid, OwnerStatus.FOUND)
    info = sample.processes[child.pid]
    assert info.cmdline is not None and "-c" in info.cmdline
    assert info.name is not None and "python" in info.name


def test_closed_connection_is_gone_next_sample(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    extra = bag.listener()
    source()
    assert find(source(), port(extra)) is not None
    gone_port = port(extra)
    extra.close()
    sample = source()
    assert find(sample, gone_port) is None
    assert find(sample, port(lst)) is not None


def test_unchanged_connection_is_the_same_object(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    client, _ = bag.pair(lst)
    first = source()
    second = source()
    for lport, rport in ((port(lst), 0), (port(client), port(lst))):
        before = find(first, lport, rport)
        after = find(second, lport, rport)
        assert before is not None and after is before


def test_state_change_keeps_creation_time(source: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    client, accepted = bag.pair(lst)
    before = find(source(), port(client), port(lst))
    assert before is not None and before.state_changed_at is None
    accepted.close()  # the client's end goes to CLOSE_WAIT, same socket

    def changed() -> TcpConnection | None:
        conn = find(source(), port(client), port(lst))
        return conn if conn is not None and conn.state is TcpState.CLOSE_WAIT else None

    after = wait_for(changed)
    assert after.creation_time == before.creation_time
    assert after.state_changed_at is not None and after.state_changed_at >= source.last_time
    assert after.instance_id == before.instance_id
    assert after.owning_process == ME


def _our_view(
    sample: SourceSample, listeners: set[tuple[str, int]], pairs: set[tuple[str, int, str, int]]
) -> set[tuple[str, int, str, int, TcpState]]:
    """Our sockets only: listeners by their local end, the rest by the whole 4-tuple (another
    test running in parallel may reuse one of our local ports towards another peer)."""
    return {
        (c.local_address, c.local_port, c.remote_address, c.remote_port, c.state)
        for c in sample.connections.values()
        if (c.local_address, c.local_port, c.remote_address, c.remote_port) in pairs
        or (c.state is TcpState.LISTEN and (c.local_address, c.local_port) in listeners)
    }


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
def test_netlink_and_psutil_agree(
    netlink: Sampling, psutil_source: Sampling, bag: SocketBag
) -> None:
    lst4, lst6 = bag.listener(), bag.listener("::1")
    for _ in range(3):
        bag.pair(lst4)
    bag.pair(lst6)
    listeners = {(s.getsockname()[0], port(s)) for s in (lst4, lst6)}
    pairs = {
        (s.getsockname()[0], port(s), s.getpeername()[0], s.getpeername()[1])
        for s in bag.sockets
        if s not in (lst4, lst6)
    }
    tw_port, server_port = bag.time_wait(lst4)
    pairs.add(("127.0.0.1", tw_port, "127.0.0.1", server_port))

    def agreed() -> set[tuple[str, int, str, int, TcpState]] | None:
        a = _our_view(netlink(), listeners, pairs)
        b = _our_view(psutil_source(), listeners, pairs)
        return a if a == b and len(a) == 2 + 2 * 4 + 1 else None

    view = wait_for(agreed)
    assert sum(1 for row in view if row[4] is TcpState.TIME_WAIT) == 1


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
def test_resolver_follows_churn(netlink: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    pairs = [bag.pair(lst) for _ in range(20)]
    netlink()
    for client, accepted in pairs[:10]:
        client.close()
        accepted.close()
    fresh = [bag.pair(lst) for _ in range(10)]
    sample = netlink()
    for client, accepted in fresh:
        for sock, rport in ((client, port(lst)), (accepted, port(client))):
            conn = find(sample, port(sock), rport)
            assert conn is not None
            assert (conn.owning_process, conn.owner_status) == (ME, OwnerStatus.FOUND)
            assert not conn.created_before_start


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
def test_a_steady_samples_new_sockets_are_stamped_after_the_dump(
    netlink: Sampling, bag: SocketBag
) -> None:
    """A steady sample starts its new sockets' records during the dump, before its end time
    is known (netlink.EarlyStarts): each new record still gets the sample's observed time as
    CreationTime, its owner, and the same values a record built in one step has."""
    from core.connections.records import LINUX_DEFAULTS, build_connection

    lst = bag.listener()
    netlink()
    fresh = [bag.pair(lst) for _ in range(4)]
    began = datetime.now(UTC) - timedelta(hours=1)  # a sample told it began long before
    sample = netlink.source.sample(began, first=False)
    seen, touched = sample.observed_at, sample.touched
    assert seen is not None and seen > began and touched is not None
    for client, accepted in fresh:
        for sock, rport in ((client, port(lst)), (accepted, port(client))):
            conn = find(sample, port(sock), rport)
            assert conn is not None and conn.instance_id in touched
            assert conn.creation_time == seen
            assert (conn.owning_process, conn.owner_status) == (ME, OwnerStatus.FOUND)
            at_once = build_connection(
                conn.family, conn.local_address, conn.local_port, conn.remote_address,
                conn.remote_port, conn.state, ME, OwnerStatus.FOUND, seen,
                False, LINUX_DEFAULTS, conn.inode, conn.uid, conn.source_key, None, None, 0,
                "", (), None,
            )  # fmt: skip
            assert conn == at_once and type(conn) is TcpConnection


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
def test_a_sockets_inode_is_one_int_object_in_its_record_and_the_resolver(
    netlink: Sampling, bag: SocketBag
) -> None:
    """Memory: a record keeps the inode int the resolver's fd table holds, for sockets of the
    first sample and sockets found later by a steady tick (an int of its own is 32 bytes a
    socket); the resolver's set of live sockets holds numbers, not int objects."""
    lst = bag.listener()
    pairs = [bag.pair(lst) for _ in range(3)]
    netlink()
    pairs += [bag.pair(lst) for _ in range(3)]  # found by the next tick's passes
    sample = netlink()
    resolver = netlink.source.resolver  # type: ignore[attr-defined]
    tracked = resolver._tracked
    assert isinstance(tracked, InodeSet)
    for client, accepted in pairs:
        for sock, rport in ((client, port(lst)), (accepted, port(client))):
            conn = find(sample, port(sock), rport)
            assert conn is not None and conn.owner_status is OwnerStatus.FOUND
            assert conn.inode == os.fstat(sock.fileno()).st_ino
            held = resolver.ownership(conn.inode)[3]
            assert conn.inode is held
            assert held in tracked


BORN_CLIENT = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
def test_a_process_born_during_the_first_owner_scan_gets_its_owner_next_sample(
    netlink: Sampling, bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process started after the first sample's owner scan listed /proc (a container
    started just before the app on a busy host) whose connection that sample's dump lists:
    no table the scan read holds it, so that sample says not found; the next one reads the
    new process's table whole and the record gets its owner. It used to keep "(not found)"
    for good: the resolver knew the owner but never said the record had to change."""
    from core.connections.sources.netlink import NetlinkSource

    assert isinstance(netlink.source, NetlinkSource)
    lst = bag.listener()
    resolver = netlink.source.resolver
    scan = resolver.prefetch
    born: list[tuple[int, int]] = []

    def scan_then_start() -> None:
        scan()  # lists /proc and starts the first scan: the child below is not in it
        if born:
            return
        child = subprocess.Popen(
            [sys.executable, "-c", BORN_CLIENT, str(port(lst))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        bag.children.append(child)
        assert child.stdout is not None
        born.append((child.pid, int(child.stdout.readline())))

    monkeypatch.setattr(resolver, "prefetch", scan_then_start)
    owners = []
    for _sample in range(4):
        sample = netlink()
        pid, cport = born[0]
        conn = find(sample, cport, port(lst))
        assert conn is not None
        owners.append((conn.owning_process, conn.owner_status))
    assert owners[0] == (None, OwnerStatus.NOT_FOUND)  # the interleaving the test is about
    assert owners[1:] == [(pid, OwnerStatus.FOUND)] * 3


@pytest.mark.skipif(not IS_LINUX, reason="/proc is Linux-only")
def test_pid_resolver_directly(bag: SocketBag) -> None:
    lst = bag.listener()
    resolver = PidResolver()
    old = [os.fstat(s.fileno()).st_ino for s in bag.pair(lst)]
    resolver.resolve(old, [])
    assert all(resolver.owner(i) == (ME, OwnerStatus.FOUND) for i in old)
    for sock in bag.sockets[-2:]:
        sock.close()
    new = [os.fstat(s.fileno()).st_ino for s in bag.pair(lst)]
    resolver.resolve(new, old)
    assert all(resolver.owner(i) == (ME, OwnerStatus.FOUND) for i in new)
    assert resolver.stats.passes.startswith("B")  # the vanished sockets' fds were reused
    assert resolver.owner(0) == (None, OwnerStatus.NO_OWNER)


@pytest.mark.skipif(not IS_LINUX, reason="/proc is Linux-only")
def test_an_owner_not_found_is_searched_for_less_and_less_often(bag: SocketBag) -> None:
    """A socket no fd table holds (here: its only fd in flight over a unix socket, as with
    SCM_RIGHTS fd passing) is searched for on the next tick, then at waits that double; it
    is found at the first search after its fd lands again."""
    client, _accepted = bag.pair(bag.listener())
    ino = os.fstat(client.fileno()).st_ino
    carrier, receiver = socket.socketpair(socket.AF_UNIX)
    try:
        socket.send_fds(carrier, [b"x"], [client.fileno()])
        os.close(client.detach())  # the TCP socket now lives only in the message in flight
        resolver = PidResolver()
        searched = []
        for tick in range(1, 91):
            resolver.resolve([ino] if tick == 1 else [], [])
            if resolver.stats.wanted:
                searched.append(tick)
        assert searched == [1, 2, 20, 40, 80]
        assert resolver.owner(ino) == (None, OwnerStatus.NOT_FOUND)
        _msg, fds, _flags, _addr = socket.recv_fds(receiver, 1, 1)
        bag.keep(socket.socket(fileno=fds[0]))
        for _tick in range(91, 161):
            late = resolver.resolve([], [])
            if ino in late:
                break
        assert resolver.owner(ino) == (ME, OwnerStatus.FOUND)
        assert _tick == 160  # the next search: wait 80, on a multiple of 80
    finally:
        carrier.close()
        receiver.close()


@pytest.mark.skipif(not IS_LINUX, reason="tcp_info is Linux-only")
def test_tcp_info_decodes(netlink: Sampling, bag: SocketBag) -> None:
    lst = bag.listener()
    client, accepted = bag.pair(lst)
    data = b"x" * 10_000
    client.sendall(data)
    got = 0
    while got < len(data):
        got += len(accepted.recv(65536))

    def acked() -> TcpConnection | None:
        sample = netlink()
        conn = find(sample, port(client), port(lst))
        info = sample.tcp_info.get(conn.instance_id) if conn else None
        return conn if info and info.bytes_acked and info.bytes_acked >= len(data) else None

    conn = wait_for(acked)
    sample = netlink()
    info = sample.tcp_info[conn.instance_id]
    assert info.rtt_us > 0
    assert info.snd_mss > 0
    server_end = find(sample, port(accepted), port(client))
    assert server_end is not None
    received = sample.tcp_info[server_end.instance_id].bytes_received
    assert received is not None and received >= len(data)


def test_get_source_names() -> None:
    assert SOURCE_NAMES == ("auto", "netlink", "psutil")
    auto = get_source()
    try:
        assert auto.name == ("netlink" if IS_LINUX else "psutil")
    finally:
        auto.close()
    from core.errors import UsageError

    with pytest.raises(UsageError):
        get_source("nope")


UNPRIVILEGED = """
import json, os, socket, sys
from datetime import datetime, UTC
from core.connections.sources.netlink import NetlinkSource
mine = socket.socket(); mine.bind(("127.0.0.1", 0)); mine.listen()
src = NetlinkSource()
sample = src.sample(datetime.now(UTC), first=True)
want = {int(sys.argv[1]), mine.getsockname()[1]}
rows = [[c.local_port, c.owning_process, str(c.owner_status)]
        for c in sample.connections.values() if c.local_port in want and not c.remote_port]
hidden = list(sample.privilege.hidden)
port = mine.getsockname()[1]
print(json.dumps({"rows": rows, "hidden": hidden, "me": os.getpid(), "mine": port}))
"""


@pytest.mark.root
@pytest.mark.skipif(not IS_LINUX, reason="setpriv and netlink are Linux-only")
def test_unprivileged_netlink_marks_needs_privilege(bag: SocketBag) -> None:
    lst = bag.listener()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-c",
            UNPRIVILEGED,
            str(port(lst)),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout)
    rows = {r[0]: r for r in result["rows"]}
    assert rows[port(lst)][1:] == [None, str(OwnerStatus.NEEDS_PRIVILEGE)]
    assert rows[result["mine"]][1:] == [result["me"], str(OwnerStatus.FOUND)]
    assert any(
        "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH" in line and "OwningProcess" in line
        for line in result["hidden"]
    )


@pytest.mark.skipif(not IS_LINUX, reason="sock_diag is Linux-only")
def test_tcp_info_short_struct_and_lazy_cache(bag: SocketBag) -> None:
    from core.connections.sources.inet_diag import InetDiagDumper
    from core.connections.tcpinfo import LazyTcpInfo, decode_tcp_info

    lst = bag.listener()
    client, _accepted = bag.pair(lst)
    dumper = InetDiagDumper()
    try:
        raw = next(
            s.tcp_info
            for s in dumper.sockets(socket.AF_INET)
            if s.sport == port(client) and s.dport == port(lst)
        )
    finally:
        dumper.close()
    assert raw is not None and len(raw) >= 136
    full = decode_tcp_info(raw)
    old_kernel = decode_tcp_info(raw[:128])  # a kernel from before bytes_received (4.1)
    assert full is not None and old_kernel is not None
    assert full.bytes_received is not None and old_kernel.bytes_received is None
    assert old_kernel.bytes_acked == full.bytes_acked
    assert decode_tcp_info(raw[:50]) is None
    lazy = LazyTcpInfo({"a": raw, "tw": b""})
    assert lazy["a"] is lazy["a"]
    assert "tw" not in lazy and lazy.get("tw") is None and list(lazy) == ["a"]


SHARED_LISTENER = """
import signal, socket, subprocess, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # reap the keeper at once: no zombie
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                          stdin=subprocess.DEVNULL, pass_fds=[s.fileno()])
print(s.getsockname()[1], keeper.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
def test_owner_moves_when_the_owning_process_dies(netlink: Sampling) -> None:
    """A listener held by two processes: when the one reported dies, the other is found."""
    parent = subprocess.Popen(
        [sys.executable, "-c", SHARED_LISTENER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    lport, keeper_pid = (int(x) for x in parent.stdout.readline().split())
    holders = {parent.pid, keeper_pid}
    try:
        before = find(netlink(), lport)
        assert before is not None and before.owning_process in holders
        victim = before.owning_process
        os.kill(victim, 9)
        if victim == parent.pid:
            parent.wait(timeout=10)
        else:
            wait_for(lambda: True if not os.path.exists(f"/proc/{victim}") else None)

        def moved() -> TcpConnection | None:
            conn = find(netlink(), lport)
            return conn if conn is not None and conn.owning_process != victim else None

        after = wait_for(moved)
        assert after.owning_process == (holders - {victim}).pop()
        assert after.owner_status is OwnerStatus.FOUND
        assert after.creation_time == before.creation_time
    finally:
        for pid in holders:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        parent.wait(timeout=10)
