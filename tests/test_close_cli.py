"""``tcpscope close`` run for real: refusals, the question, and real sockets being reset."""

from __future__ import annotations

import os
import pty
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.integration.netns import Netns, netns_unavailable
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


def test_nothing_matched_has_its_own_exit_code() -> None:
    """A script tells "nothing to close" (3, as ``pkill`` says no process matched) from "a
    connection was refused" (1): the first is often fine (the connection ended already),
    the second needs a look. The filter names a bound, unlistened port: no connection."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = str(unused.getsockname()[1])
        result = close("--netns", "current", "--state", "listen", "--local-port", port, "--yes")
    assert result.stderr == "tcpscope: no connection matches; nothing closed\n"
    assert result.returncode == 3 and not result.stdout


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
def test_both_ends_of_one_loopback_connection_close_and_exit_0(
    pair: tuple[socket.socket, socket.socket, socket.socket],
) -> None:
    """A filter matching both ends of a loopback connection: the first abort's reset ends
    the other end before its turn, so the kernel's "no such socket" for it is the request
    met, not a refusal (it said "no such TCP socket any more" and exited 1)."""
    listener, client, accepted = pair
    lport, cport = listener.getsockname()[1], client.getsockname()[1]
    result = close(
        "--netns", "current", "--filter", f"addr:127.0.0.1 port:{lport} port:{cport}", "--yes"
    )
    assert result.returncode == 0, result.stderr
    closed = [x for x in result.stdout.splitlines() if x.startswith("closed")]
    assert len(closed) == 2, result.stdout
    assert any(f"127.0.0.1:{cport} → 127.0.0.1:{lport}" in x for x in closed)
    assert any(f"127.0.0.1:{lport} → 127.0.0.1:{cport}" in x for x in closed)
    (second,) = [x for x in closed if "reset" in x]
    assert "ended by the reset of its other end" in second
    assert "no such TCP socket" not in result.stderr, result.stderr
    for end in (client, accepted):  # the one aborted gets ECONNABORTED, its peer a reset
        end.settimeout(5)
        with pytest.raises((ConnectionAbortedError, ConnectionResetError)):
            end.recv(1)


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
            "from core.connections.process_end import ProcessTarget, terminate\n"
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
    assert line.endswith("not known: needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"), line


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


def test_a_reset_socket_still_held_is_refused_by_its_state() -> None:
    """A connection reset while its process keeps the socket (State Closed) is in neither
    table SOCK_DESTROY searches: the kernel's "no such socket" was printed as "it closed
    since the last sample" with exit 0, and the socket stayed. Refused by State (exit 1)."""
    with SocketBag() as bag:
        listener = bag.listener()
        held = bag.reset_but_held(listener)
        port = held.getsockname()[1]
        result = close("--local-port", str(port), "--state", "Closed", "--yes")
        assert result.returncode == 1, result
        assert result.stdout.splitlines()[1].startswith("Closed ")
        assert "its connection has ended already" in result.stderr
        assert "no such TCP socket" not in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
def test_state_listen_in_the_filter_names_listeners_too() -> None:
    with SocketBag() as bag:
        listener = bag.listener()
        port = listener.getsockname()[1]
        result = close("--filter", f"state:listen lport:{port} laddr:127.0.0.1", "--yes")
        assert result.returncode == 0, result.stderr
        assert "leaving" not in result.stderr
        (line,) = [x for x in result.stdout.splitlines() if x.startswith("closed")]
        assert f"127.0.0.1:{port} → 0.0.0.0:0" in line and "Listen" in line
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_listener_says_the_connections_waiting_in_its_accept_queue_are_affected() -> None:
    """Closing a listener resets the handshakes waiting for accept() too: the list said
    one socket, as the app's dialog said "Affects 1 connection"; now both say how many."""
    with SocketBag() as bag:
        listener = bag.listener()
        port = listener.getsockname()[1]
        for _ in range(2):
            bag.keep(socket.create_connection(("127.0.0.1", port)))
        result = close("--filter", f"state:listen lport:{port} laddr:127.0.0.1")
        assert result.returncode == 2, result.stderr
        assert f"note: closing the listener 127.0.0.1:{port} → 0.0.0.0:0 affects 3 " \
            "connections: the listener and 2 waiting in its accept queue (reset too)" \
            in result.stderr, result.stderr  # fmt: skip
        assert "nothing closed" in result.stderr
        # A listener with an empty queue: nothing more to say.
        listener.accept()[0].close()
        listener.accept()[0].close()
        result = close("--filter", f"state:listen lport:{port} laddr:127.0.0.1")
        assert "accept queue" not in result.stderr, result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
def test_a_connection_gone_while_asking_is_not_a_success() -> None:
    """The connection closes while the question waits: "no such TCP socket any more" was
    followed by exit 0, which the README and run() keep for "every match was closed"."""
    with SocketBag() as bag:
        listener = bag.listener()
        client, accepted = bag.pair(listener)
        primary, secondary = pty.openpty()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        argv = [PY, "-m", "tui", "close", *exactly(client)]
        child = subprocess.Popen(
            argv, stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        try:
            assert child.stderr is not None
            asked = b""
            while not asked.endswith(b"[y/N] "):
                byte = child.stderr.read(1)
                assert byte, asked
                asked += byte
            accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            accepted.close()  # the server resets it: gone before the answer
            client.close()
            os.write(primary, b"y\n")
            _out, err = child.communicate(timeout=60)
        finally:
            child.kill()
            os.close(primary)
            os.close(secondary)
        assert child.returncode == 1, err
        assert b"no such TCP socket any more" in err


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_no_match_here_says_it_matches_in_other_namespaces() -> None:
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(reason)
    code = (
        "import socket, sys\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
        "print(s.getsockname()[1], flush=True); sys.stdin.read()\n"
    )
    with Netns("close") as ns:
        child = ns.python(code)
        try:
            assert child.stdout is not None
            port = child.stdout.readline().strip()
            result = close("--local-port", port, "--yes")
        finally:
            child.kill()
            child.wait(timeout=10)
    assert result.returncode == 3, result
    lines = result.stderr.splitlines()
    assert lines[0] == "tcpscope: no connection matches; nothing closed"
    assert lines[1] == (
        "tcpscope: 1 match(es) in other network namespaces: add --netns all "
        "(or --netns NAME) to close there"
    )


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_without_cap_net_admin_it_refuses_before_listing_or_asking(
    pair: tuple[socket.socket, socket.socket, socket.socket],
) -> None:
    """As a user without CAP_NET_ADMIN, ``close`` listed the match and asked "Close 1
    connection(s)? [y/N]", then refused every one for want of CAP_NET_ADMIN. Now one line,
    before anything is listed or asked (the check the app's ``x`` makes), and exit 1."""
    _listener, client, accepted = pair
    for yes in ((), ("--yes",)):
        result = close(*exactly(client), *yes, user="nobody")
        assert result.returncode == 1, result.stderr
        assert result.stderr == f"tcpscope: {NOT_PERMITTED}; nothing closed\n", result.stderr
        assert result.stdout == ""
    assert alive(client, accepted)
