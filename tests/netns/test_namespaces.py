"""Reading other network namespaces for real: ``ip netns`` namespaces the tests create, the
same port listening in two of them, a namespace with no process, and the /proc fallback
without CAP_SYS_ADMIN (root with that one capability dropped by ``setpriv``)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.connections.namespaces import ReadBy
from core.connections.sources import get_source
from core.connections.sources.base import SourceSample
from core.connections.sources.netlink import NetlinkSource
from core.netns.reader import FORCE_EVERY, SockDiagReader
from core.netns.select import namespace_dumps, sock_diag_in
from core.netns.setns import run_in
from tests.netns.lab import free_port, listener, needs_netns, netns, settle, unique

pytestmark = needs_netns
TCPSCOPE = [sys.executable, "-m", "tui"]


def open_source(netns: str, *, tcp_info: bool) -> NetlinkSource:
    """The netlink source reading ``--netns netns``, as the CLI builds it."""
    source = get_source(
        "netlink", tcp_info=tcp_info, namespaces=namespace_dumps(netns, tcp_info=tcp_info)
    )
    assert isinstance(source, NetlinkSource)
    return source


def inode(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


def sample(source: NetlinkSource, first: bool = False) -> SourceSample:
    return source.sample(datetime.now(UTC), first=first)


@pytest.fixture
def two() -> Iterator[tuple[str, str, int]]:
    """Two namespaces, each with a process listening on the same port."""
    port = free_port()
    with (
        netns(unique("t16a")) as a,
        netns(unique("t16b")) as b,
        listener(a, port),
        listener(b, port),
    ):
        yield a, b, port


def test_same_port_in_two_namespaces_is_two_rows(two: tuple[str, str, int]) -> None:
    a, b, port = two
    source = open_source("all", tcp_info=True)
    try:
        result = sample(source, first=True)
        rows = [c for c in result.connections.values() if c.local_port == port]
        by_ns = {c.netns: c for c in rows if c.netns in (inode(a), inode(b))}
        assert len(by_ns) == 2, rows
        assert len({c.instance_id for c in by_ns.values()}) == 2
        for conn in by_ns.values():
            assert conn.instance_id.startswith(f"tcpscope:ns{conn.netns}/")
            assert conn.owning_process is not None  # the host PID of the listener
            assert conn.instance_id in result.tcp_info
        view = result.namespaces
        assert view is not None
        index = view.index()
        assert index[inode(a)].name == a and index[inode(b)].name == b
        assert index[inode(a)].read_by is ReadBy.SOCK_DIAG
        assert view.current is not None and view.current.current
        # Exact tcp_info queries go to the right namespace's socket.
        assert set(source.tcp_info_of(list(by_ns.values()))) == {
            c.instance_id for c in by_ns.values()
        }
    finally:
        source.close()


def test_a_name_selects_that_namespace_only(two: tuple[str, str, int]) -> None:
    a, _b, port = two
    source = open_source(a, tcp_info=False)
    try:
        result = sample(source, first=True)
        assert {c.netns for c in result.connections.values()} == {inode(a)}
        assert [c.local_port for c in result.connections.values()] == [port]
    finally:
        source.close()
    # What an action on one socket there (close) uses: a sock_diag socket inside a.
    dumper = sock_diag_in(inode(a))
    try:
        assert [s.sport for s in dumper.sockets(socket.AF_UNSPEC)] == [port]
    finally:
        dumper.close()


def test_a_named_namespace_with_no_process_is_read_through_its_mount() -> None:
    with netns(unique("t16c")) as c:
        # This process stays in its own namespace; only the socket lives in c.
        sock = run_in(f"/run/netns/{c}", socket.socket)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            port = sock.getsockname()[1]
            source = open_source("all", tcp_info=False)
            try:
                result = sample(source, first=True)
                found = [
                    x
                    for x in result.connections.values()
                    if x.local_port == port and x.netns == inode(c)
                ]
                assert len(found) == 1
                assert found[0].owning_process == os.getpid()
                assert result.namespaces is not None
                info = result.namespaces.index()[inode(c)]
                assert info.processes == 0 and info.name == c
            finally:
                source.close()
        finally:
            sock.close()


def test_idle_namespaces_are_replayed_and_changes_still_seen() -> None:
    with netns(unique("t16d")) as d:
        source = open_source(d, tcp_info=False)
        plan = source.namespaces
        try:
            sample(source, first=True)
            readers = [r for r in plan._readers.values()]  # type: ignore[union-attr]
            assert len(readers) == 1 and isinstance(readers[0], SockDiagReader)
            reader = readers[0]
            settle(d, len(reader._dumpers))  # the sockets its start closed are freed
            sample(source)
            forced = reader._since + 1 >= FORCE_EVERY
            sample(source)
            # Nothing moved in d since its last dump: replayed, not dumped.
            if not forced:  # the forced dump may fall on this very sample
                assert not reader.dumped
            sock = run_in(f"/run/netns/{d}", socket.socket)
            with sock:
                sock.bind(("127.0.0.1", 0))
                sock.listen()  # hashes the socket: sockstat's inuse moves
                port = sock.getsockname()[1]
                got = sample(source)
                assert reader.dumped
                assert [c.local_port for c in got.connections.values()] == [port]
            # A bound-only socket moves no counter: the forced dump finds it.
            bound = run_in(f"/run/netns/{d}", socket.socket)
            with bound:
                bound.bind(("127.0.0.1", 0))
                bport = bound.getsockname()[1]
                seen = False
                for _ in range(FORCE_EVERY + 1):
                    got = sample(source)
                    if any(c.local_port == bport for c in got.connections.values()):
                        seen = True
                        break
                assert seen
        finally:
            source.close()


def test_tcp_elsewhere_does_not_dump_an_idle_namespace() -> None:
    """Connections opened in another namespace move the host-wide TCP counters (sockstat's
    alloc), not the idle namespace's own: it is replayed, not walked again."""
    with netns(unique("t16i")) as idle, netns(unique("t16j")) as busy:
        source = open_source(idle, tcp_info=False)
        plan = source.namespaces
        held: list[socket.socket] = []
        try:
            sample(source, first=True)
            (reader,) = plan._readers.values()  # type: ignore[union-attr]
            assert isinstance(reader, SockDiagReader)
            settle(idle, len(reader._dumpers))  # the sockets its start closed are freed
            sample(source)
            server = run_in(f"/run/netns/{busy}", socket.socket)
            held.append(server)
            server.bind(("127.0.0.1", 0))
            server.listen()
            checked = 0
            for _ in range(4):
                client = run_in(f"/run/netns/{busy}", socket.socket)
                held.append(client)
                client.connect(server.getsockname())
                held.append(server.accept()[0])
                forced = reader._since + 1 >= FORCE_EVERY
                sample(source)
                if not forced:
                    assert not reader.dumped
                    checked += 1
            assert checked
        finally:
            for sock in held:
                sock.close()
            source.close()


def test_in_container_pid_is_an_extension_field() -> None:
    port = free_port()
    script = (
        f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); "
        "print('ready', flush=True); time.sleep(60)"
    )
    with netns(unique("t16p")) as p:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", p, "unshare", "--pid", "--fork", sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            source = open_source(p, tcp_info=False)
            try:
                result = source.sample(datetime.now(UTC), first=True)
                (conn,) = result.connections.values()
                assert conn.owning_process is not None
                owner = result.processes[conn.owning_process]
                assert owner.pid != 1 and owner.ns_pid == 1  # host PID stays OwningProcess
            finally:
                source.close()
        finally:
            proc.kill()
            proc.wait()


def run_cli(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *TCPSCOPE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


def test_connections_json_names_each_namespace(two: tuple[str, str, int]) -> None:
    a, b, port = two
    done = run_cli("connections", "--json", "--local-port", str(port), "--netns", f"{a},{b}")
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    spaces = {d["tcpscope"]["namespace"]["name"]: d["tcpscope"]["namespace"] for d in docs}
    assert set(spaces) == {a, b}
    assert spaces[a]["inode"] == inode(a) and spaces[a]["read_by"] == "sock_diag"
    assert spaces[a]["container"] is None
    table = run_cli("connections", "--local-port", str(port), "--netns", f"{a},{b}")
    assert "Namespace" in table.stdout.splitlines()[0]
    assert a in table.stdout and b in table.stdout
    sheet = run_cli("connections", "--csv", "--local-port", str(port), "--netns", f"{a},{b}")
    rows = list(csv.DictReader(io.StringIO(sheet.stdout)))
    assert {row["Namespace"] for row in rows} == {a, b}
    assert {row["LocalPort"] for row in rows} == {str(port)}


@pytest.mark.parametrize("path", ["/proc/self/ns/mnt", "/etc/hostname", "/dev/null", "/tmp"])
def test_a_path_that_is_no_network_namespace_is_refused(path: str) -> None:
    """Any file's inode was taken for a namespace's: another kind of namespace, a regular
    file or a device read as an empty host with exit 0, and close said nothing matched."""
    for command in (("connections",), ("close", "--yes")):
        done = run_cli(*command, "--netns", path, "--local-port", "1")
        assert done.returncode == 2, done
        assert done.stderr == f"tcpscope: --netns: {path} is not a network namespace " + (
            "(give an nsfs file such as /run/netns/NAME or /proc/PID/ns/net)\n"
        )


def test_a_network_namespace_path_is_taken(two: tuple[str, str, int]) -> None:
    a, _b, port = two
    for path in (f"/run/netns/{a}", "/proc/self/ns/net"):
        done = run_cli("connections", "--json", "--local-port", str(port), "--netns", path)
        assert done.returncode == 0, done.stderr
        rows = [r for r in json.loads(done.stdout) if r["State"] == 2]  # Listen
        assert len(rows) == (1 if path.startswith("/run") else 0)


def test_a_named_namespace_needs_netlink(two: tuple[str, str, int]) -> None:
    """psutil lists its own namespace only: fine for ``all``, refused for a named one."""
    a, _b, _port = two
    done = run_cli("--source", "psutil", "connections", "--netns", a)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "tcpscope: reading other network namespaces needs the netlink source (Linux)"
    ]
    assert not done.stdout


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_without_cap_sys_admin_namespaces_are_read_from_proc(two: tuple[str, str, int]) -> None:
    a, _b, port = two
    with netns(unique("t16e")) as empty:
        drop = ("setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--")
        done = run_cli(
            "connections",
            "--json",
            "--local-port",
            str(port),
            "--netns",
            a,
            prefix=drop,
        )
        unread = run_cli("connections", "--netns", f"{a},{empty}", prefix=drop)
    assert done.returncode == 0, done.stderr
    (doc,) = json.loads(done.stdout)
    assert doc["tcpscope"]["namespace"]["read_by"] == "procfs"
    assert doc["tcpscope"]["namespace"]["name"] == a
    assert doc["tcpscope"]["tcp_info"] is None
    assert doc["tcpscope"]["owner_status"] == "found"
    assert "read from /proc/PID/net/tcp" in done.stderr
    # A named namespace no process is in cannot be entered: sockets may still be there (made
    # by a process now elsewhere, TIME_WAIT), so an empty answer would be a false "none".
    assert unread.returncode == 1, (unread.stdout, unread.stderr)
    assert not unread.stdout
    assert unread.stderr.strip().splitlines()[-1] == (
        f"tcpscope: network namespace {empty} could not be read: "
        "entering a namespace no process is in needs CAP_SYS_ADMIN"
    )


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_record_metrics_and_the_app_fail_at_start_on_an_unreadable_named_namespace(
    tmp_path: Path,
) -> None:
    """Only ``connections`` failed: ``record`` exited 0 writing samples that all carried the
    error, ``metrics`` served (as if it had no connections), the app ran. Now each stops
    at start, one line, exit 1, nothing written or served."""
    drop = ("setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--")
    file = tmp_path / "x.tsr"
    with netns(unique("t16e")) as empty:
        runs = {
            "record": ["--netns", empty, "record", str(file), "--samples", "2"],
            "metrics": ["--netns", empty, "metrics", "--listen", "127.0.0.1:0"],
            "app": ["--netns", empty],
        }
        for what, argv in runs.items():
            done = subprocess.run(
                [*drop, *TCPSCOPE, *argv],
                capture_output=True, text=True, timeout=30, check=False,
                stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2],
            )  # fmt: skip
            assert (done.returncode, done.stdout) == (1, ""), (what, done.stderr)
            assert done.stderr == (
                f"tcpscope: network namespace {empty} could not be read: "
                "entering a namespace no process is in needs CAP_SYS_ADMIN\n"
            ), what
    assert not file.exists()


def test_close_acts_in_the_named_namespace_only(two: tuple[str, str, int]) -> None:
    a, b, port = two
    # The same connection shape in a and b; close --netns a closes a's listener only.
    with_state = ("--local-port", str(port), "--state", "Listen", "--yes")
    done = run_cli("close", *with_state)  # default: only tcpscope's own namespace
    assert done.returncode == 3 and "no connection matches" in done.stderr
    done = run_cli("close", *with_state, "--netns", a)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("closed ") == 1 and a in done.stdout  # the listing names it
    left = run_cli("connections", "--json", "--local-port", str(port), "--netns", f"{a},{b}")
    listening = [d for d in json.loads(left.stdout) if d["State"] == 2]  # Listen
    assert [d["tcpscope"]["namespace"]["name"] for d in listening] == [b]


BINDER = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))
print("bound", flush=True)
sys.stdin.readline()
s.listen()
print("listening", flush=True)
sys.stdin.read()
"""


def test_a_bound_socket_in_another_namespace_between_walks() -> None:
    """With the bind-table walk skipped (see core.connections.sources.bound_walk), another
    namespace's bound socket stays listed, and shows LISTEN as soon as it listens."""
    from core.connections.model import TcpState
    from core.connections.sources.bound_walk import BoundWalk

    port = free_port()
    with netns(unique("t15b")) as name:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, "-c", BINDER, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        source = open_source("all", tcp_info=False)
        source.bound_walk = BoundWalk(lambda: 0.0, walk_always_below=0)
        try:
            assert proc.stdout.readline().strip() == "bound"

            def states() -> list[TcpState]:
                rows = sample(source).connections.values()
                return [c.state for c in rows if c.local_port == port and c.netns == inode(name)]

            source.sample(datetime.now(UTC), first=True)
            assert states() == [TcpState.BOUND] and not source.bound_walk.walking
            proc.stdin.write("listen\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "listening"
            assert states() == [TcpState.LISTEN]
        finally:
            source.close()
            proc.kill()
            proc.wait()
