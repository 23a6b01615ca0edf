"""``--netns`` takes what the app shows, and ``close`` says which namespace each line is about:
real namespaces (``ip netns add``), real listeners, a real podman container, real closes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from core.commands import close as close_cli
from core.connections import TcpState, close_connections, take_snapshot
from core.netns.select import namespace_dumps, sock_diag_in
from core.netns.setns import run_in
from core.textsafe import printable
from tests.netns import containers
from tests.netns.lab import free_port, listener, needs_netns, netns, unique

pytestmark = needs_netns
REPO = Path(__file__).resolve().parents[2]


def tcpscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


def listed(done: subprocess.CompletedProcess[str]) -> list[tuple[int, str | None]]:
    """(local port, namespace name) of each row of ``connections --json``."""
    assert done.returncode == 0, done.stderr
    return [(d["LocalPort"], d["tcpscope"]["namespace"]["name"]) for d in json.loads(done.stdout)]


def test_the_labels_the_table_shows_select_their_namespace() -> None:
    """``ns:INODE`` (an unnamed namespace's label), the bare inode ("no process …") and the
    escaped name the table shows for a hostile name ("not found") were refused."""
    port = free_port()
    hostile = unique("nswE") + "\x1b[7mE"
    with netns(hostile) as name, listener(name, port):
        ino = os.stat(f"/run/netns/{name}").st_ino
        table = tcpscope("connections", "--local-port", str(port))
        assert printable(name) in table.stdout and "\x1b" not in table.stdout
        for word in (f"ns:{ino}", str(ino), printable(name), name):
            done = tcpscope("connections", "--json", "--local-port", str(port), "--netns", word)
            assert listed(done) == [(port, printable(name))], word


def test_a_missing_inode_or_number_is_one_line() -> None:
    for word, says in [
        ("ns:123", "no network namespace with inode 123"),
        ("4026000000", "4026000000 is no process, network namespace inode or container id here"),
    ]:
        done = tcpscope("connections", "--netns", word)
        assert (done.returncode, done.stderr) == (2, f"tcpscope: --netns: {says}\n")


OTHER_DIGITS = [
    (["connections", "--netns", "²"], "'²' is not a whole number (digits 0-9) nor a "
     "network namespace or container name"),
    (["connections", "--netns", "٤"], "'٤' is not a whole number (digits 0-9) nor a "
     "network namespace or container name"),
    (["connections", "--netns", "ns:²"], "'ns:²': '²' is not a whole number (digits 0-9)"),
    (["connections", "--netns", "ns:٤٤"], "'ns:٤٤': '٤٤' is not a whole number (digits 0-9)"),
    (["connections", "--netns", "pid:²"], "'pid:²': '²' is not a whole number (digits 0-9)"),
    (["connections", "--netns", "pid:٤"], "'pid:٤': '٤' is not a whole number (digits 0-9)"),
    (["connections", "--netns", "ns of pid ²"],
     "'ns of pid ²': '²' is not a whole number (digits 0-9)"),
    (["--netns", "pid:²", "record", "-", "--samples", "1"],
     "'pid:²': '²' is not a whole number (digits 0-9)"),
    (["--netns", "ns:²", "metrics", "--listen", "127.0.0.1:0"],
     "'ns:²': '²' is not a whole number (digits 0-9)"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "says"), OTHER_DIGITS, ids=[" ".join(a) for a, _ in OTHER_DIGITS])
def test_digits_other_than_0_to_9_are_no_number(argv: list[str], says: str) -> None:
    """``str.isdigit()`` let ``²`` reach ``int()`` (a traceback, exit 1) and read ``٤`` as 4
    (PID 4's namespace, silently; "no namespace with inode 44"): now one line, exit 2."""
    done = tcpscope(*argv)
    assert (done.returncode, done.stderr, done.stdout) == (2, f"tcpscope: --netns: {says}\n", "")


def test_an_ip_netns_name_of_digits_is_typed_back() -> None:
    """``ip netns add 99999999``: the table showed ``99999999``, which typed back was "is no
    process, network namespace inode or container id here" (only a PID, inode or container
    was looked for); a name that is also a live PID silently took the PID's namespace."""
    port = free_port()
    digits = f"9{os.getpid() % 10_000_000:07d}"  # above any pid_max, below any inode
    with netns(digits) as name, listener(name, port):
        assert listed(tcpscope("connections", "--json", "--netns", name)) == [(port, name)]
    pid = str(os.getpid())  # the test runner: a live PID in another namespace
    with netns(pid) as name, listener(name, port):
        done = tcpscope("connections", "--netns", name)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert done.stderr == (
            f"tcpscope: --netns: {pid} could be any of pid:{pid}, /run/netns/{pid}: "
            "give one of those\n"
        )
        chosen = tcpscope("connections", "--json", "--netns", f"/run/netns/{pid}")
        assert listed(chosen) == [(port, pid)]


@pytest.fixture
def digit_named(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """A podman container whose name is a PID of the host: (name, id, pid in it)."""
    with containers.podman_container(tmp_path) as (cname, cid, pid):
        digits = str(os.getpid())
        containers.run("podman", "rename", cname, digits)
        try:
            yield digits, cid, pid
        finally:  # (the helper removes it by its first name)
            subprocess.run(["podman", "rename", digits, cname], capture_output=True, check=False)


def test_digits_that_are_a_pid_and_a_container_are_refused_with_both(
    digit_named: tuple[str, str, int],
) -> None:
    """An all-digit word was taken for a PID, whatever container it named: now one
    namespace is taken, or the candidates are listed, each as it can be typed."""
    cname, cid, _pid = digit_named
    done = tcpscope("connections", "--netns", cname)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr == (
        f"tcpscope: --netns: {cname} could be any of pid:{cname}, podman:{cid[:12]}: "
        "give one of those\n"
    )
    for word in (f"podman:{cid[:12]}", cid[:5]):  # the label, and an id prefix
        rows = listed(tcpscope("connections", "--json", "--netns", word, "--local-port", "8080"))
        assert [port for port, _ in rows] == [8080], word
    mine = listed(tcpscope("connections", "--json", "--netns", f"pid:{cname}"))
    assert 8080 not in [port for port, _ in mine]  # the test runner's namespace


ESTABLISH = 45000, 7201


def pair() -> list[socket.socket]:
    """Run inside a namespace: a listener on :7201 and a connection to it from :45000."""
    server = socket.socket()
    server.bind(("127.0.0.1", ESTABLISH[1]))
    server.listen()
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", ESTABLISH[0]))
    client.connect(("127.0.0.1", ESTABLISH[1]))
    accepted, _ = server.accept()
    return [server, client, accepted]


@pytest.fixture
def two_pairs() -> Iterator[tuple[str, Callable[[], list[socket.socket]]]]:
    """Two namespaces (``A,B``) and a call that makes the same connection in each (held
    here)."""
    with ExitStack() as stack:
        names = [stack.enter_context(netns(unique(p))) for p in ("nswC", "nswD")]
        held: list[socket.socket] = []

        def make() -> list[socket.socket]:
            made = [s for n in names for s in run_in(f"/run/netns/{n}", pair)]
            held.extend(made)
            return made

        try:
            yield ",".join(names), make
        finally:
            for s in held:
                s.close()


def test_close_names_the_namespace_of_each_connection(
    two_pairs: tuple[str, Callable[[], list[socket.socket]]],
) -> None:
    """The same 4-tuple in two namespaces gave two identical "closed" lines."""
    both, make = two_pairs
    make()
    done = tcpscope("close", "--netns", both, "--local-port", "45000", "--yes")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("closed ")]
    assert len(lines) == 2 and len(set(lines)) == 2, done.stdout
    for line in lines:
        assert f"PID {os.getpid()}" in line, line
        assert " in nswC" in line or " in nswD" in line, line


def test_a_refusal_names_the_process_and_the_namespace(
    two_pairs: tuple[str, Callable[[], list[socket.socket]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refusals said only the 4-tuple: two identical lines, no PID, no namespace."""
    both, make = two_pairs
    made = make()
    snap = take_snapshot(
        "netlink", tcp_info=False, namespaces=lambda: namespace_dumps(both, tcp_info=False)
    )
    chosen = [
        c
        for c in snap.connections.values()
        if c.local_port == ESTABLISH[0] and c.state is TcpState.ESTABLISHED
    ]
    assert len(chosen) == 2
    for s in made:  # gone before the close: each one is refused
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    code = close_cli._close(chosen, snap, lambda cs: close_connections(cs, sock_diag_in))
    assert code == close_cli.EXIT_REFUSED
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and len(set(lines)) == 2, lines
    for line in lines:
        assert f"(PID {os.getpid()} (" in line, line
        assert ", in nswC" in line or ", in nswD" in line, line
        assert line.endswith(
            "no such TCP socket any more: it closed (or changed) since the last sample"
        )
