"""The owner of a socket whose process ends between a sample's dump and its owner scan.

Why: the netlink dump and the /proc fd scan of one sample are not one instant. A process
that exits between the two leaves its sockets in the dump while no fd table holds them any
more; that sample is their last one alive, and the ghost row they become keeps its record.
It must name the process that held them, not "? (not found)". The seam: the source's real
dump runs, then the test kills the real process (SIGKILL, waited for), then the real scan.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.snapshot import Snapshot
from core.sampling.sampler import Sampler
from tests.integration.sockets import SocketBag, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink, /proc")

HOLDER = """
import socket, sys
held = [socket.create_server(("127.0.0.1", 0))]
print(held[0].getsockname()[1], flush=True)
for line in sys.stdin:
    if line.strip() == "more":  # one more listener (a socket new to the next sample)
        held.append(socket.create_server(("127.0.0.1", 0)))
        print(held[-1].getsockname()[1], flush=True)
    else:  # "close": the first listener
        held[0].close()
        print("closed", flush=True)
"""


def _spawn() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _ask(child: subprocess.Popen[str], command: str) -> str:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{command}\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    """A child holding a loopback listener (its port is the first line it prints)."""
    child = _spawn()
    try:
        yield child
    finally:
        child.kill()
        child.wait(timeout=10)


def _state(pid: int) -> str | None:
    """The State letter of ``/proc/<pid>/stat`` (None: no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    return data[data.rfind(b")") + 2 :].split()[0].decode()


def _listener(snap: Snapshot, port: int) -> TcpConnection | None:
    for conn in snap.connections.values():
        if conn.local_port == port and conn.state is TcpState.LISTEN:
            return conn
    return None


def _ghost(snap: Snapshot, instance_id: str) -> TcpConnection | None:
    ghosts = (g.connection for g in snap.ghosts)
    return next((conn for conn in ghosts if conn.instance_id == instance_id), None)


def _kill_after_dump(sampler: Sampler, kill: Callable[[], None]) -> None:
    """Run ``kill`` once, right after the next sample's real dump, before its owner scan."""
    source = sampler._source
    dump = source._dump  # type: ignore[attr-defined]

    def dump_then_kill(*args: object) -> None:
        dump(*args)
        source._dump = dump  # type: ignore[attr-defined]
        kill()

    source._dump = dump_then_kill  # type: ignore[attr-defined]


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
async def test_a_process_killed_between_dump_and_scan_stays_its_sockets_owner(
    holder: subprocess.Popen[str], reaped: bool
) -> None:
    """Reaped: its PID left /proc before the scan. Zombie: its parent has not waited yet (as
    after the app's K on a child of the test), its fd table lists nothing; a socket new to the
    sample makes the scan list every table."""
    from core.connections.sources.netlink import NetlinkSource

    assert holder.stdout is not None
    port = int(holder.stdout.readline())
    sampler = Sampler(NetlinkSource(), interval_s=1, timeout_s=60)
    try:
        first = await sampler.sample_once()
        alive = _listener(first, port)
        assert alive is not None and alive.owning_process == holder.pid, alive
        name = first.processes[holder.pid].name
        _ask(holder, "more")

        def kill() -> None:
            holder.kill()
            if reaped:
                holder.wait(timeout=10)
            else:
                wait_for(lambda: _state(holder.pid) == "Z" or None)

        _kill_after_dump(sampler, kill)
        last = await sampler.sample_once()
        kept = _listener(last, port)
        assert kept is not None, "the dump came before the kill: the socket is listed"
        assert (kept.owning_process, kept.owner_status) == (holder.pid, OwnerStatus.FOUND), kept
        assert last.processes[holder.pid].name == name  # (the ghost row's name comes from here)
        after = await sampler.sample_once()
    finally:
        await sampler.aclose()
    assert _listener(after, port) is None
    ghost = _ghost(after, alive.instance_id)
    assert ghost is not None
    assert (ghost.owning_process, ghost.owner_status) == (holder.pid, OwnerStatus.FOUND)


async def test_a_shared_socket_whose_owner_is_killed_between_dump_and_scan_changes_owner(
    bag: SocketBag,
) -> None:
    """The owner did change here: the socket lives on in the fork that shares it."""
    from core.connections.sources.netlink import NetlinkSource

    parent, fork_pid, port = bag.forked_close_wait()
    sampler = Sampler(NetlinkSource(), interval_s=1, timeout_s=60)
    try:
        first = await sampler.sample_once()
        before = _listener(first, port)
        assert before is not None and before.owning_process == parent.pid, before

        def kill() -> None:
            parent.kill()
            parent.wait(timeout=10)

        _kill_after_dump(sampler, kill)
        last = await sampler.sample_once()
    finally:
        await sampler.aclose()
        os.kill(fork_pid, 9)
    after = _listener(last, port)
    assert after is not None
    assert (after.owning_process, after.owner_status) == (fork_pid, OwnerStatus.FOUND), after


async def test_a_live_process_that_closed_its_socket_between_dump_and_scan_is_not_named(
    holder: subprocess.Popen[str],
) -> None:
    """Only an exit keeps the owner: a process still running at that PID (here the one that
    closed the socket; as well a new one that reused the PID) is not named. A second child,
    killed and reaped at the same time, leaves a socket no table holds: the scan lists every
    table, the holder's too."""
    from core.connections.sources.netlink import NetlinkSource

    assert holder.stdout is not None
    port = int(holder.stdout.readline())
    other = _spawn()
    sampler = Sampler(NetlinkSource(), interval_s=1, timeout_s=60)
    try:
        assert other.stdout is not None
        other.stdout.readline()
        first = await sampler.sample_once()
        alive = _listener(first, port)
        assert alive is not None and alive.owning_process == holder.pid, alive
        _ask(other, "more")  # new to the next sample: looked for in every table

        def close_and_kill() -> None:
            assert _ask(holder, "close") == "closed"
            other.kill()
            other.wait(timeout=10)

        _kill_after_dump(sampler, close_and_kill)
        last = await sampler.sample_once()
    finally:
        await sampler.aclose()
        other.kill()
        other.wait(timeout=10)
    kept = _listener(last, port)
    assert kept is not None, "the dump came before the close: the socket is listed"
    assert (kept.owning_process, kept.owner_status) == (None, OwnerStatus.NOT_FOUND), kept
