"""``tcpscope close`` run for real: refusals, the question, and real sockets being reset."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.integration.sockets import WITHOUT_PTRACE, SocketBag, listener_held_by_nobody
from tests.test_cli import PY, ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag: Linux")
NOT_PERMITTED = "not permitted: closing a socket needs CAP_NET_ADMIN (run as root)"


def close(
    *args: str, stdin: int | None = subprocess.DEVNULL, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``tcpscope close ARGS`` in a fresh interpreter; stdin is not a terminal by default."""
    argv = [PY, "-m", "tui", "close", *args]
    if user:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        argv, stdin=stdin, capture_output=True, text=True, timeout=120, env=env, cwd="/"
    )


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    """(listener, client, accepted) on loopback."""
    with SocketBag() as bag:
        listener = bag.listener()
        yield (listener, *bag.pair(listener))


def exactly(client: socket.socket) -> tuple[str, ...]:
    """Filters naming only this connection's server end (other tests' sockets stay alone)."""
    (_, cport), (_, sport) = client.getsockname(), client.getpeername()
    return ("--local-port", str(sport), "--remote-port", str(cport))


def alive(client: socket.socket, accepted: socket.socket) -> bool:
    """The connection still carries data both ways."""
    client.sendall(b"ping")
    return accepted.recv(4) == b"ping"


def test_no_filter_is_refused() -> None:
    result = close("--yes")
    assert result.returncode == 2
    assert "give a filter" in result.stderr and "closing every connection is refused" in (
        result.stderr
    )
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("language", [False, True], ids=["options", "filter-language"])
def test_without_yes_and_no_terminal_nothing_is_closed(
    pair: tuple[socket.socket, socket.socket, socket.socket], language: bool
) -> None:
    _listener, client, accepted = pair
    if language:  # the same selection in --filter's language
        _, sport, _, cport = exactly(client)
        result = close("--filter", f"lport:{sport} rport:{cport}")
    else:
        result = close(*exactly(client))
    assert result.returncode == 2, result.stderr
    assert "stdin is not a terminal (use --yes); nothing closed" in result.stderr
    assert f":{client.getsockname()[1]}" in result.stdout  # what would have been closed
    assert alive(client, accepted)


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
def test_yes_closes_the_connection_and_keeps_the_listener(
    pair: tuple[socket.socket, socket.socket, socket.socket],
) -> None:
    listener, client, _accepted = pair
    port = listener.getsockname()[1]
    # Only our listener and its connections are bound to 127.0.0.1:port.
    result = close("--local-address", "127.0.0.1", "--local-port", str(port), "--yes")
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("closed")]
    assert f"127.0.0.1:{port} → 127.0.0.1:{client.getsockname()[1]}" in line
    assert "Established" in line and f"PID {os.getpid()}" in line
    assert "leaving 1 listening socket(s) open (add --state Listen" in result.stderr
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1)
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        listener.accept()[0].close()


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
def test_the_question_on_a_terminal(
    pair: tuple[socket.socket, socket.socket, socket.socket],
) -> None:
    _listener, client, accepted = pair
    for answer, code in ((b"n\n", 1), (b"y\n", 0)):
        primary, secondary = pty.openpty()
        try:
            os.write(primary, answer)
            result = close(*exactly(client), stdin=secondary)
        finally:
            os.close(primary)
            os.close(secondary)
        assert "Close 1 connection(s)? [y/N]" in result.stderr
        assert result.returncode == code, result.stderr
        if code:
            assert "nothing closed" in result.stderr and alive(client, accepted)
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1)


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_not_permitted_says_why_and_exits_1(
    pair: tuple[socket.socket, socket.socket, socket.socket],
) -> None:
    _listener, client, accepted = pair
    result = close(*exactly(client), "--yes", user="nobody")
    assert result.returncode == 1, result.stderr
    assert NOT_PERMITTED in result.stderr
    assert "Traceback" not in result.stderr
    assert alive(client, accepted)


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_another_users_process_is_not_signalled() -> None:
    with SocketBag() as bag:
        child = subprocess.Popen(
            [PY, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, text=True
        )
        bag.children.append(child)
        code = (
            "from core.connections.actions import ProcessTarget, terminate\n"
            f"print(terminate(ProcessTarget({child.pid}, None, ())).message)\n"
        )
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PY, "-c", code]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd="/")
        assert result.returncode == 0, result.stderr
        assert f"not permitted to signal PID {child.pid}" in result.stdout
        assert "needs root or CAP_KILL" in result.stdout
        assert child.poll() is None


@pytest.mark.root
@pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/usr/bin/python3"),
    reason="needs root (drops CAP_SYS_PTRACE) and a system python3 for user nobody",
)
def test_an_owner_not_looked_up_is_not_called_no_owner() -> None:
    """Root without CAP_SYS_PTRACE closes a listener held by nobody: the owner could not be
    read, and the 'closed' line says so instead of 'no owning process' (which would tell the
    user no process lost anything)."""
    with listener_held_by_nobody() as port:
        argv = [*WITHOUT_PTRACE, PY, "-m", "tui", "close", "--local-port", str(port),
                "--state", "Listen", "--local-address", "127.0.0.1", "--yes"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("closed")]
    assert f"127.0.0.1:{port} → 0.0.0.0:0" in line and "Listen" in line
    assert line.endswith("not known: needs root or CAP_SYS_PTRACE"), line


@pytest.mark.skipif(os.geteuid() != 0, reason="the close is tried as root (CAP_NET_ADMIN)")
def test_a_bound_only_socket_is_refused_not_said_to_have_closed_meanwhile() -> None:
    """SOCK_DESTROY finds connected and listening sockets only: for a socket only bound the
    kernel answered "no such socket", printed as "it closed since the last sample" with exit
    0 while the socket stayed. It is refused by its State instead (exit 1) and stays bound."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        result = close("--local-port", str(port), "--yes")
        assert result.returncode == 1, result
        assert result.stdout.splitlines()[1].startswith("Bound ")
        assert "only bound to a port cannot be closed from outside" in result.stderr
        assert "closed" not in result.stderr.replace("be closed", "")
        bound.listen()  # still the process's own bound socket
