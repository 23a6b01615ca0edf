"""Closing connections and ending processes, against real sockets and real processes."""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import socket
import subprocess
import sys

import pytest

from core.connections.actions import (
    TIME_WAIT_REFUSED,
    Closer,
    Refusal,
    close_connections,
    close_targets,
)
from core.connections.model import TcpConnection, TcpState
from core.connections.process_end import ProcessTarget, kill, process_target, terminate
from core.connections.sources.inet_diag import InetDiagDumper
from core.connections.sources.procinfo import fetch_process
from tests.integration.conftest import IS_LINUX, Sampling
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="sock_diag and pidfd are Linux-only")


def one(sample: Sampling, local_port: int, remote_port: int) -> TcpConnection:
    (conn,) = [
        c
        for c in sample().connections.values()
        if c.local_port == local_port and c.remote_port == remote_port
    ]
    return conn


def server_side(
    bag: SocketBag, netlink: Sampling, host: str = "127.0.0.1"
) -> tuple[socket.socket, socket.socket, socket.socket, TcpConnection]:
    """A listener, a connection to it, and the record of the accepted end."""
    listener = bag.listener(host)
    client, accepted = bag.pair(listener)
    conn = one(netlink, listener.getsockname()[1], client.getsockname()[1])
    return listener, client, accepted, conn


@pytest.fixture
def can_destroy(bag: SocketBag, netlink: Sampling) -> None:
    """Skip unless this process may close sockets and the kernel can."""
    if os.geteuid() != 0:
        pytest.skip("closing a socket needs CAP_NET_ADMIN (root)")
    *_, conn = server_side(bag, netlink)
    if Closer().close(conn).refusal is Refusal.UNSUPPORTED:
        pytest.skip("kernel built without CONFIG_INET_DIAG_DESTROY")


@pytest.mark.root
@pytest.mark.usefixtures("can_destroy")
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_close_resets_the_peer_and_leaves_the_listener(
    bag: SocketBag, netlink: Sampling, host: str
) -> None:
    listener, client, accepted, conn = server_side(bag, netlink, host)
    [(_, outcome)] = close_connections([conn])
    assert outcome.done, outcome.message
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1)
    with pytest.raises(OSError) as aborted:
        accepted.recv(1)
    assert aborted.value.errno == errno.ECONNABORTED
    # The listener on the same port still accepts, and the closed connection is gone.
    again, _ = bag.pair(listener)
    port = listener.getsockname()[1]
    listed = netlink().connections.values()
    assert any(c.local_port == port and c.state is TcpState.LISTEN for c in listed)
    assert not any((c.local_port, c.remote_port) == (port, conn.remote_port) for c in listed)
    assert again.send(b"x") == 1


@pytest.mark.root
@pytest.mark.usefixtures("can_destroy")
def test_closing_a_closed_connection_says_it_is_gone(bag: SocketBag, netlink: Sampling) -> None:
    *_, conn = server_side(bag, netlink)
    first, second = (close_connections([conn])[0][1] for _ in range(2))
    assert first.done
    assert second.refusal is Refusal.GONE
    assert "no such TCP socket any more" in second.message


@pytest.mark.root
@pytest.mark.usefixtures("can_destroy")
def test_a_record_without_socket_id_is_found_by_its_endpoints(
    bag: SocketBag, netlink: Sampling
) -> None:
    _, client, _, conn = server_side(bag, netlink)
    psutil_like = dataclasses.replace(conn, source_key=b"")
    [(_, outcome)] = close_connections([psutil_like])
    assert outcome.done, outcome.message
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1)


def test_a_kernel_without_destroy_is_explained(
    bag: SocketBag, netlink: Sampling, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake only for the fault this kernel cannot show: CONFIG_INET_DIAG_DESTROY=n answers
    # EOPNOTSUPP (inet_diag_cmd_exact: no handler->destroy).
    monkeypatch.setattr(InetDiagDumper, "destroy", lambda *_: errno.EOPNOTSUPP)
    *_, conn = server_side(bag, netlink)
    results = close_connections([conn, conn])
    assert len(results) == 1  # the same refusal would repeat: stop
    outcome = results[0][1]
    assert outcome.refusal is Refusal.UNSUPPORTED
    assert "built without CONFIG_INET_DIAG_DESTROY" in outcome.message


def test_a_shared_socket_names_every_holder(bag: SocketBag, netlink: Sampling) -> None:
    listener = bag.listener()
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        pass_fds=(listener.fileno(),),
        text=True,
    )
    bag.children.append(child)
    sample = netlink()
    (conn,) = [c for c in sample.connections.values() if c.inode == listener_inode(listener)]
    (target,) = close_targets([conn])
    assert target.shared and target.holders == {os.getpid(), child.pid}
    owner = conn.owning_process
    assert owner in target.holders
    process = process_target(owner, sample.connections.values(), sample.processes)
    assert conn in process.connections
    assert process.shared[listener_inode(listener)] == target.holders - {owner}


def listener_inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def test_terminate_ends_the_process_and_lists_its_connections(
    bag: SocketBag, netlink: Sampling
) -> None:
    child, port = bag.child_listener()
    sample = netlink()
    target = process_target(child.pid, sample.connections.values(), sample.processes)
    assert [c.local_port for c in target.connections] == [port]
    assert target.label.startswith(f"PID {child.pid} (python")
    outcome = terminate(target)
    assert outcome.done, outcome.message
    assert child.wait(timeout=5) == -signal.SIGTERM


def test_sigterm_ignored_then_sigkill(bag: SocketBag) -> None:
    child, _ = bag.child_listener(ignore_term=True)
    target = ProcessTarget(child.pid, fetch_process(child.pid), ())
    outcome = terminate(target, grace_s=0.3)
    assert not outcome.done and outcome.refusal is None
    assert "still running 0.3 s after SIGTERM" in outcome.message
    assert child.poll() is None
    assert kill(target).done
    assert child.wait(timeout=5) == -signal.SIGKILL
    gone = terminate(target)
    assert gone.refusal is Refusal.GONE


def test_a_reused_pid_is_not_signalled(bag: SocketBag) -> None:
    child, _ = bag.child_listener()
    info = fetch_process(child.pid)
    assert info is not None and info.create_time is not None
    earlier = dataclasses.replace(info, create_time=info.create_time - 3600)
    outcome = terminate(ProcessTarget(child.pid, earlier, ()))
    assert outcome.refusal is Refusal.REPLACED
    assert "nothing was sent" in outcome.message
    assert child.poll() is None


def time_wait(bag: SocketBag, netlink: Sampling) -> TcpConnection:
    """A real TIME_WAIT socket: the client closes first, then the server; the client's end
    waits (no process holds it any more)."""
    listener = bag.listener()
    client, accepted = bag.pair(listener)
    ports = client.getsockname()[1], listener.getsockname()[1]
    client.close()
    assert accepted.recv(1) == b""
    accepted.close()
    for _ in range(100):
        found = [
            c
            for c in netlink().connections.values()
            if (c.local_port, c.remote_port) == ports and c.state is TcpState.TIME_WAIT
        ]
        if found:
            return found[0]
    raise AssertionError("no TIME_WAIT socket appeared")


@pytest.mark.root
@pytest.mark.usefixtures("can_destroy")
def test_a_time_wait_socket_is_dropped_or_refused_for_itself(
    bag: SocketBag, netlink: Sampling
) -> None:
    """Kernels that destroy TIME_WAIT sockets drop it (this one does); older ones refuse
    only that socket (see the next test), never as "this kernel cannot close sockets"."""
    conn = time_wait(bag, netlink)
    [(_, outcome)] = close_connections([conn])
    if outcome.done:
        ports = conn.local_port, conn.remote_port
        assert not any(
            (c.local_port, c.remote_port) == ports for c in netlink().connections.values()
        )
    else:
        assert outcome.message == TIME_WAIT_REFUSED


def test_an_older_kernel_refusing_time_wait_stops_nothing_else(
    bag: SocketBag, netlink: Sampling, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake only for the fault this kernel cannot show: before TIME_WAIT support in
    tcp_abort, a TIME_WAIT socket answers EOPNOTSUPP while full sockets close. That refusal
    is that socket's: the next connection is still tried."""
    tried: list[int] = []

    def destroy(_self: InetDiagDumper, _family: int, _sockid: bytes) -> int:
        tried.append(1)
        return errno.EOPNOTSUPP if len(tried) == 1 else 0

    waiting = time_wait(bag, netlink)
    *_, established = server_side(bag, netlink)
    monkeypatch.setattr(InetDiagDumper, "destroy", destroy)
    (_, first), (_, second) = close_connections([waiting, established])
    assert not first.done and first.message == TIME_WAIT_REFUSED
    assert first.refusal is Refusal.FAILED and second.done


def test_close_effect_names_what_the_kernel_sends_in_each_state() -> None:
    """One sentence per state, after tcp_abort: a reset only where tcp_need_reset sends one."""
    from core.connections.actions import close_effect

    said = {state: close_effect(state) for state in TcpState}
    resets = {s for s, text in said.items() if "the peer gets a reset" in text}
    assert resets == {
        TcpState.ESTABLISHED, TcpState.CLOSE_WAIT, TcpState.FIN_WAIT1, TcpState.FIN_WAIT2
    }  # fmt: skip
    assert "nothing is sent" in said[TcpState.TIME_WAIT]
    assert "without a packet" in said[TcpState.SYN_RECEIVED]
    assert "accept queue are reset" in said[TcpState.LISTEN]
    assert "no reset" in said[TcpState.LAST_ACK] and "no reset" in said[TcpState.CLOSING]


def protected_beyond_capability() -> list[int]:
    """PIDs whose fd links root cannot read even with CAP_SYS_PTRACE (a hypervisor's init
    here, see fd_scan.ptrace_capable): their tables list, their links refuse everyone."""
    from core.connections.sources.fd_scan import ptrace_capable

    if not ptrace_capable():
        return []
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{name}/fd")
            os.readlink(f"/proc/{name}/fd/{fds[0]}")
        except PermissionError:
            found.append(int(name))
        except (OSError, IndexError):
            continue
    return found


def test_a_socket_held_beyond_any_capability_is_not_found_as_in_its_row(
    netlink: Sampling,
) -> None:
    """A listener whose holder's fd links no capability lets root read (PID 1 here): its row
    says "not found", and the look-up x runs said "needs CAP_SYS_PTRACE and
    CAP_DAC_READ_SEARCH", privileges root has, and so "changed since the row was sampled".
    Both read the fd tables by one rule now and agree."""
    if not protected_beyond_capability():
        pytest.skip("no process here whose fd links a capable root cannot read")
    from core.connections.model import OwnerStatus

    rows = [
        c
        for c in netlink().connections.values()
        if c.state is TcpState.LISTEN and c.inode and c.owner_status is OwnerStatus.NOT_FOUND
    ]
    if not rows:
        pytest.skip("no listener here held only by such a process")
    for target in close_targets(rows):
        assert target.looked and target.state is TcpState.LISTEN, target
        assert target.owner is OwnerStatus.NOT_FOUND, target
        assert not target.holders, target
