"""Close and Kill in the real app: a live netlink feed on real sockets; the demo/replay refusal."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

import core.connections.actions as core_actions
import core.connections.process_end as process_end
import tui.connections.actions as tui_actions
from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.demo import demo_feed
from core.recording.replay import open_replay
from core.sampling.feed import Feed
from core.sampling.sampler import Sampler
from tests.integration.sockets import SocketBag, fill
from tests.recording.util import demo_snapshots_async, write_recording
from tests.tui.keys import send
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.connections.actions import FINDING, ConfirmScreen, FindingScreen
from tui.connections.conn_table import ConnTable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")
WAIT_S = 60.0
"""Give up waiting for the app after this long (a busy host's dump can take seconds)."""


async def until(pilot: Pilot[int], ok: Callable[[], object]) -> None:
    """Pump the app until ``ok()`` is truthy (real sockets and threads need real time)."""
    deadline = time.monotonic() + WAIT_S
    while not ok():
        assert time.monotonic() < deadline, "the app never got there"
        await pilot.pause(0.02)


def toasts(app: TcpscopeApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def live_app() -> TcpscopeApp:
    from core.connections.sources.netlink import NetlinkSource

    feed = Sampler(NetlinkSource(tcp_info=False), interval_s=0.5)
    return TcpscopeApp(feed, hostname="test-host")


def psutil_app(bag: SocketBag) -> tuple[TcpscopeApp, socket.socket]:
    """The app on the psutil source (no inodes), and the client end of a fresh connection."""
    from core.connections.sources.psutil_source import PsutilSource

    client, _ = bag.pair(bag.listener())
    return TcpscopeApp(Sampler(PsutilSource(), interval_s=0.5), hostname="test-host"), client


def _ports(client: socket.socket) -> tuple[int, int]:
    """(the listener's port, the client's port): the accepted end's row, local first."""
    return client.getpeername()[1], client.getsockname()[1]


def row(app: TcpscopeApp, local_port: int, remote_port: int) -> TcpConnection | None:
    snap = app.snapshot
    if snap is None:
        return None
    found = [
        c
        for c in snap.connections.values()
        if (c.local_port, c.remote_port) == (local_port, remote_port)
    ]
    return found[0] if found else None


async def select(pilot: Pilot[int], app: TcpscopeApp, local: int, remote: int) -> TcpConnection:
    """Wait for the connection to be sampled and put the cursor on it."""
    await until(pilot, lambda: row(app, local, remote) and app.screen.query(ConnTable))
    conn = row(app, local, remote)
    assert conn is not None
    table = app.screen.query_one(ConnTable)
    await until(pilot, lambda: table.move_cursor_to(conn.instance_id) or table.cursor_id)
    assert table.cursor_id == conn.instance_id
    return conn


async def confirm(pilot: Pilot[int], app: TcpscopeApp) -> str:
    """The dialog's text once it is up."""
    await until(
        pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.query("#confirm-body")
    )
    return "".join(
        static_text(app.screen.query_one(f"#confirm-{p}", Static)) for p in ("title", "body")
    )


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
async def test_x_confirms_exactly_what_and_resets_the_peer(bag: SocketBag) -> None:
    listener = bag.listener()
    client, _ = bag.pair(listener)
    port, cport = listener.getsockname()[1], client.getsockname()[1]
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, port, cport)
        await pilot.press("x")
        text = await confirm(pilot, app)
        assert "Close this connection?" in text
        assert f"127.0.0.1:{port} → 127.0.0.1:{cport}" in text
        assert "Established" in text and f"PID {os.getpid()} (python" in text
        assert "1 connection; the socket is held by 1 process" in text
        assert "the peer gets a reset, the process ECONNABORTED" in text
        await pilot.press("y")
        await until(pilot, lambda: any(t.startswith("closed ") for t in toasts(app)))
        assert f"closed 127.0.0.1:{port} → 127.0.0.1:{cport}" in toasts(app)
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1)
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        assert listener.accept()[0].fileno() >= 0  # the listener still accepts


def waiting_listener(bag: SocketBag, waiting: int) -> socket.socket:
    """A loopback listener that never accepts, with ``waiting`` finished handshakes in its
    accept queue (their clients kept open in ``bag``)."""
    listener = bag.listener()
    port = listener.getsockname()[1]
    for _ in range(waiting):
        bag.keep(socket.create_connection(("127.0.0.1", port)))
    return listener


@pytest.mark.parametrize("tcp_info", [False, True], ids=["rows", "recv-q"])
async def test_closing_a_listener_counts_the_connections_waiting_in_its_accept_queue(
    bag: SocketBag, tcp_info: bool
) -> None:
    """The dialog on a listener with 2 handshakes waiting for accept() said "Affects 1
    connection" while the text below it said those waiting are reset too. Counted from the
    kernel's Recv-Q of the listener where tcp_info was read, else from the rows."""
    from core.connections.sources.netlink import NetlinkSource

    listener = waiting_listener(bag, 2)
    port = listener.getsockname()[1]
    feed = Sampler(NetlinkSource(tcp_info=tcp_info), interval_s=0.5)
    app = TcpscopeApp(feed, hostname="test-host")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.snapshot and sum(  # the two queued ones sampled too
            1 for c in app.snapshot.connections.values() if c.local_port == port) == 3)  # fmt: skip
        conn = await select(pilot, app, port, 0)
        await pilot.press("x")
        text = await confirm(pilot, app)
        await pilot.press("n")
        assert app.snapshot is not None
        info = app.snapshot.tcp_info.get(conn.instance_id)
        assert (info is not None and info.recv_q == 2) == tcp_info, info
    assert "Affects   3 connections: the listener and 2 waiting in its accept queue; " \
        "the socket is held by 1 process" in text, text  # fmt: skip
    assert "connections still waiting in its accept queue are reset" in text, text
    assert text.startswith("Close this listener?"), text  # not "this connection"


async def test_an_orphaned_socket_is_said_to_have_no_owner_because_it_has_no_file(
    bag: SocketBag,
) -> None:
    """A closed client whose peer has not closed stays in FIN_WAIT2 with no file (an orphan):
    the one case where "no owning process" and "no process holds the socket" are true, said
    from the connection's owner status (the dialog said so for every missing PID before)."""
    client, accepted = bag.pair(bag.listener())
    ports = client.getsockname()[1], client.getpeername()[1]
    client.close()  # FIN sent; the accepted end never closes, so this end waits in FIN_WAIT2
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        conn = await select(pilot, app, *ports)
        assert conn.owning_process is None and accepted.fileno() >= 0
        await pilot.press("x")
        text = await confirm(pilot, app)
        assert "no owning process (the kernel holds it without a file)" in text
        assert "1 connection; no process holds the socket (no file)" in text
        # Dropped without a packet (a minisocket): "the peer gets a reset" was false.
        assert "nothing is sent, the peer is not reset" in text
        assert "the peer gets a reset" not in text
        await pilot.press("n")


async def test_a_time_wait_row_is_not_said_to_reset_anyone(bag: SocketBag) -> None:
    """The kernel drops a TIME_WAIT socket without a packet (tcp_abort): the dialog says so
    instead of the abort's "the peer gets a reset" (it said that for every state)."""
    client, accepted = bag.pair(bag.listener())
    ports = client.getsockname()[1], client.getpeername()[1]
    client.close()
    assert accepted.recv(1) == b""
    accepted.close()  # the client's end now waits in TIME_WAIT
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, *ports)
        await pilot.press("x")
        text = await confirm(pilot, app)
        assert "TimeWait" in text
        assert "The kernel drops it at once (its TIME_WAIT ends; nothing is sent)" in text
        assert "reset" not in text
        await pilot.press("n")


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
async def test_with_psutil_the_dialog_says_the_holders_are_unknown(bag: SocketBag) -> None:
    """psutil gives no inode, so who else holds the socket cannot be told: the dialog says
    so (it used to say the socket "is no file"), and closing still works by endpoints."""
    app, client = psutil_app(bag)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, *_ports(client))
        await pilot.press("x")
        text = await confirm(pilot, app)
        assert "1 connection; its holders are not known (no socket inode)" in text
        assert "no file" not in text
        await pilot.press("y")
        await until(pilot, lambda: any(t.startswith("closed ") for t in toasts(app)))
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(1)


async def test_with_psutil_ending_a_process_claims_no_certainty(bag: SocketBag) -> None:
    """The K dialog says every connection closes with the process only where the source can
    tell that no other process holds them: psutil gives no inode, so it says so (cancelled:
    the process here is the test itself)."""
    app, client = psutil_app(bag)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, *_ports(client))
        await pilot.press("K")
        text = await confirm(pilot, app)
        assert f"Terminate PID {os.getpid()} (python" in text
        assert "connections close when it exits (unless shared: no socket inode to tell)" in text
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
    client.sendall(b"still here")


async def test_palette_close_then_cancel_closes_nothing(bag: SocketBag) -> None:
    listener = bag.listener()
    client, accepted = bag.pair(listener)
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, listener.getsockname()[1], client.getsockname()[1])
        await pilot.press("ctrl+p", *"Close connection")  # the palette's way in
        await pilot.pause(0.3)
        await pilot.press("enter")
        await confirm(pilot, app)
        await pilot.press("enter")  # Cancel has the focus
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
    client.sendall(b"ping")
    assert accepted.recv(4) == b"ping"


async def test_k_terminates_then_offers_sigkill(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_end, "TERM_GRACE_S", 0.3)
    child, port = bag.child_listener(ignore_term=True)
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await select(pilot, app, port, 0)
        await pilot.press("K")
        text = await confirm(pilot, app)
        first = app.screen
        assert f"Terminate PID {child.pid} (python" in text
        assert "Holds     1 connection: 1 Listen" in text
        await pilot.press("y")
        await until(pilot, lambda: app.screen is not first)
        text = await confirm(pilot, app)
        assert f"Kill PID {child.pid} (python" in text
        assert "still running 0.3 s after SIGTERM" in text
        assert child.poll() is None
        await pilot.press("y")
        await until(pilot, lambda: any("exited after SIGKILL" in t for t in toasts(app)))
    assert child.wait(timeout=5) == -signal.SIGKILL


async def test_ghost_of_a_terminated_process_keeps_its_name(bag: SocketBag) -> None:
    """After K the process is gone and its sockets stay as ghosts: each ghost row still
    names the process it had while alive (it read "- " where the name was: the name was
    looked up in the current sample's processes, which no longer hold it)."""
    child, port = bag.child_listener()
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        conn = await select(pilot, app, port, 0)
        table = app.screen.query_one(ConnTable)
        alive = table.render_line(table.cursor_row - int(table.scroll_offset.y) + 1).text
        name = column_text(table, "process", alive)
        assert name.startswith("python"), alive
        await pilot.press("K")
        await confirm(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: conn.instance_id in table.index.ghosts)
        assert child.wait(timeout=5) == -signal.SIGTERM
        await until(pilot, lambda: table.move_cursor_to(conn.instance_id))
        await pilot.pause()
        ghost = table.render_line(table.cursor_row - int(table.scroll_offset.y) + 1).text
        assert ghost.startswith("x"), ghost
        assert column_text(table, "process", ghost) == name, ghost
        assert column_text(table, "pid", ghost) == str(child.pid), ghost


def column_text(table: ConnTable, key: str, line: str) -> str:
    """The cell of column ``key`` in a drawn table line."""
    left = 0
    for col, width in table.layout_columns:
        if col.key == key:
            return line[left : left + width].strip()
        left += width + 1
    raise AssertionError(f"no {key} column")


async def _replay_feed(tmp_path: Path) -> Feed:
    path = tmp_path / "r.tsr"
    write_recording(path, await demo_snapshots_async(1, 3))
    return open_replay(path)


async def _demo_feed(tmp_path: Path) -> Feed:
    return demo_feed(1)


@pytest.mark.parametrize(
    ("make", "reason"),
    [(_demo_feed, "not available in the demo"), (_replay_feed, "not available in replay")],
)
async def test_replay_and_demo_refuse_the_keys_and_say_why(
    tmp_path: Path, make: Callable[[Path], asyncio.Future[Feed]], reason: str
) -> None:
    app = TcpscopeApp(await make(tmp_path), hostname="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.screen.query(ConnTable))
        bindings = app.screen.active_bindings
        if "demo" in reason:  # dimmed: the demo shows what the keys are
            assert bindings["x"].binding.description == "Close" and not bindings["x"].enabled
            assert bindings["K"].binding.description == "Kill" and not bindings["K"].enabled
        else:  # left out: a replay's footer needs the room for its own keys
            assert bindings["x"].binding.description != "Close"
            assert bindings["K"].binding.description != "Kill"
        for key in "xK":
            await pilot.press(key)
            await until(pilot, lambda: any(reason in t for t in toasts(app)))
            assert not isinstance(app.screen, ConfirmScreen)


async def test_x_on_a_bound_only_socket_says_why_without_a_dialog() -> None:
    """The kernel cannot close a socket only bound (SOCK_DESTROY finds connected and
    listening sockets only): no confirmation for it, one toast naming what can be done."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        app = live_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await select(pilot, app, bound.getsockname()[1], 0)
            await pilot.press("x")
            await until(pilot, lambda: toasts(app))
            assert not isinstance(app.screen, ConfirmScreen)
            (toast,) = toasts(app)
            assert toast.startswith("not closed: a socket only bound to a port")
            assert toast.endswith("end its process instead (K)")


async def test_x_on_a_reset_socket_still_held_says_why_without_a_dialog(bag: SocketBag) -> None:
    """A connection reset while its process holds the socket (State Closed) is in no table
    SOCK_DESTROY searches: the dialog promised a close the kernel then answered with "no such
    socket". One toast instead."""
    listener = bag.listener()
    held = bag.reset_but_held(listener)
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, held.getsockname()[1], listener.getsockname()[1])
        await pilot.press("x")
        await until(pilot, lambda: toasts(app))
        assert not isinstance(app.screen, ConfirmScreen)
        (toast,) = toasts(app)
        assert toast.startswith("not closed: its connection has ended already")
        assert toast.endswith("(K)")


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
async def test_x_in_an_expanded_group_leaves_a_ghost_in_the_group(bag: SocketBag) -> None:
    """Grouped by process, a closed connection stays in its group as a ghost under the
    cursor, as it does ungrouped; the group row counts it as closed (it vanished)."""
    child, port = bag.child_listener()
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        conn = await select(pilot, app, port, 0)
        table = app.screen.query_one(ConnTable)
        await pilot.press("g")
        group = f"group:{child.pid}"
        assert table.cursor_id == group
        await pilot.press("enter")
        assert table.move_cursor_to(conn.instance_id)
        await pilot.press("x")
        await confirm(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: conn.instance_id in table.index.ghosts)
        await pilot.pause()
        assert table.cursor_id == conn.instance_id
        ghost = table.render_line(table.cursor_row - int(table.scroll_offset.y) + 1).text
        assert ghost.startswith("x"), ghost
        position = table.position_of(group)
        assert position is not None
        line = table.render_line(position - int(table.scroll_offset.y) + 1).text
        assert "1 closed" in line, line


async def test_k_on_a_process_whose_sockets_a_fork_shares_says_none_close(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that fork()ed after accepting: its fork holds the same listener and CloseWait
    socket, so ending it closes neither. The dialog said "all 2 connections close when it
    exits" above "2 of its sockets are shared ... they stay open"; it now says none closes,
    and after SIGKILL both sockets are indeed still open, held by the fork."""
    monkeypatch.setattr(process_end, "TERM_GRACE_S", 0.3)
    child, fork, port = bag.forked_close_wait()
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:

        def close_wait() -> TcpConnection | None:
            snap = app.snapshot
            found = [
                c
                for c in (snap.connections.values() if snap else ())
                if c.local_port == port and c.state is TcpState.CLOSE_WAIT and c.owning_process
            ]
            return found[0] if found else None

        await until(pilot, close_wait)
        conn = close_wait()
        assert conn is not None
        conn = await select(pilot, app, port, conn.remote_port)
        owner, (other,) = conn.owning_process, {child.pid, fork} - {conn.owning_process}
        assert owner in (child.pid, fork)
        assert app.snapshot is not None
        inodes = [c.inode or 0 for c in app.snapshot.connections.values() if c.local_port == port]
        await pilot.press("K")
        text = await confirm(pilot, app)
        assert "Holds     2 connections: 1 CloseWait, 1 Listen" in text
        assert "no connection closes when it exits: all 2 sockets are shared" in text
        assert f"2 of its sockets are shared with PID {other}:" in text  # one PID: singular
        assert "all 2 connections close" not in text
        first = app.screen
        await pilot.press("y")
        await until(pilot, lambda: app.screen is not first)
        await confirm(pilot, app)  # SIGTERM is ignored: offered SIGKILL
        await pilot.press("y")
        await until(pilot, lambda: any("exited after SIGKILL" in t for t in toasts(app)))
    # As the dialog said: both sockets stay open, held by the other process alone, and the
    # listener still accepts.
    assert len(inodes) == 2 and all(inodes)
    assert core_actions.socket_holders(inodes) == {inode: {other} for inode in inodes}
    with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
        probe.settimeout(1)
        with pytest.raises(TimeoutError):
            probe.recv(1)  # connected, not refused; nobody accepts, nothing sent


def test_k_counts_the_connections_that_close_apart_from_those_a_child_shares(
    bag: SocketBag,
) -> None:
    """This process holds a listener a child also holds (passed on exec) and a connection
    of its own: ending it would close the connection only. The dialog counts just that one."""
    from core.connections import process_target, take_snapshot
    from tui.connections.dialog_bodies import terminate_body

    listener = bag.listener()
    client, _ = bag.pair(listener)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        pass_fds=[listener.fileno()],
    )
    try:
        port = listener.getsockname()[1]
        ours = {(port, 0), (client.getsockname()[1], port)}
        snap = take_snapshot("netlink", tcp_info=False)
        conns = [c for c in snap.connections.values() if (c.local_port, c.remote_port) in ours]
        target = process_target(os.getpid(), conns, snap.processes)
        text = terminate_body(target).plain
        # The shared listener's OwningProcess is the lowest of its holders' PIDs: the child
        # when PIDs wrapped. It is still one of ours (it was left out, PID order decided).
        pids = tuple(sorted((os.getpid(), holder.pid)))
        as_child = [
            dataclasses.replace(c, owning_process=holder.pid, holders=pids)
            if c.state is TcpState.LISTEN
            else c
            for c in conns
        ]
        wrapped = terminate_body(process_target(os.getpid(), as_child, snap.processes)).plain
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert "Holds     2 connections: 1 Established, 1 Listen" in wrapped
    assert "Holds     2 connections: 1 Established, 1 Listen" in text
    assert "⚠ 1 of its 2 connections closes when it exits\n" in text
    assert f"1 of its sockets is shared with PID {holder.pid}: it stays open" in text


def slow_holders(monkeypatch: pytest.MonkeyPatch, slow_s: float) -> None:
    """The real walk over /proc/*/fd, made as slow as a busy host's (``_holders_walk``: the
    walk under both ``socket_holders``, which ``K`` asks, and ``close_targets``, ``x``'s)."""
    real = core_actions._holders_walk

    def walk(inodes: Collection[int], proc: str) -> tuple[dict[int, set[int]], bool]:
        time.sleep(slow_s)
        return real(inodes, proc)

    monkeypatch.setattr(core_actions, "_holders_walk", walk)


def footer_keys(screen: Screen[object]) -> list[str]:
    """The keys the footer of the screen on top shows (the one drawn over the table's)."""
    return [f"{k.key_display} {k.description}" for k in screen.query(FooterKey)]


@pytest.mark.parametrize("key", ["x", "K"])
async def test_keys_typed_while_the_holders_are_looked_up_do_not_reach_the_table(
    bag: SocketBag, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy host the walk over every /proc/*/fd before the dialog took 1.5-2.2 s with
    nothing shown, and the keys typed meanwhile went to the table (an ``n`` toggled host
    names). Now a notice says what is being looked up at once, and the keys typed before the
    dialog is up are kept from the table. The real walk, made as slow as a busy host's."""
    slow_holders(monkeypatch, 0.6)
    client, _ = bag.pair(bag.listener())
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await select(pilot, app, *_ports(client))
        table = app.screen.query_one(ConnTable)
        send(app, key)
        send(app, "n")
        await until(pilot, lambda: toasts(app) or isinstance(app.screen, ConfirmScreen))
        assert not isinstance(app.screen, ConfirmScreen), "the walk was not slow: no test"
        assert toasts(app) == [FINDING]
        await until(pilot, lambda: app.screen.query("#textual-toastrack Toast"))  # drawn
        assert not isinstance(app.screen, ConfirmScreen)
        await confirm(pilot, app)
        assert table.dns is None  # the `n` did not turn host names on
        await pilot.press("n")  # the dialog answers keys typed once it is up
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))


@pytest.mark.parametrize("key", ["x", "K"])
async def test_esc_while_the_holders_are_looked_up_gives_up_the_dialog(
    bag: SocketBag, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README says ``Esc`` gives up while the holders are looked up: it did nothing (the
    screen that kept the keys from the table kept its own Esc from its binding too) and the
    dialog opened once the walk ended; the footer showed the table's keys, none of which
    worked. Now Esc gives up (no dialog follows), and the footer shows what works."""
    slow_s = 1.0
    slow_holders(monkeypatch, slow_s)
    client, _ = bag.pair(bag.listener())
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await select(pilot, app, *_ports(client))
        send(app, key)
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        await pilot.pause()
        assert footer_keys(app.screen) == ["esc Give up", "q Quit"]
        send(app, "escape")
        await until(pilot, lambda: not isinstance(app.screen, FindingScreen))
        gave_up = time.monotonic()
        while time.monotonic() - gave_up < slow_s + 0.5:  # past the walk's end
            assert not isinstance(app.screen, ConfirmScreen), "Esc did not give up"
            await pilot.pause(0.05)
        assert any(t.startswith("gave up") for t in toasts(app)), toasts(app)
        assert app.is_running


def failing_holders(monkeypatch: pytest.MonkeyPatch, slow_s: float) -> None:
    """The walk over /proc/*/fd failing after ``slow_s`` (a fault not caused for real: the
    real walk skips what it cannot read)."""

    def walk(inodes: Collection[int], proc: str) -> tuple[dict[int, set[int]], bool]:
        time.sleep(slow_s)
        raise OSError("the walk failed")

    monkeypatch.setattr(core_actions, "_holders_walk", walk)


@pytest.mark.parametrize("ending", ["escape", "dialog", "error"])
@pytest.mark.parametrize("key", ["x", "K"])
async def test_the_finding_toast_goes_when_the_look_up_ends(
    bag: SocketBag, key: str, ending: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The toast saying the holders are being looked up stayed its full 8 s after the look-up
    ended: beside the "gave up" toast after ``Esc``, and alone after a failed walk, still
    saying "finding…" of a look-up that was over. Now it goes as soon as the look-up ends,
    however it ends."""
    slow_s = 1.0
    (failing_holders if ending == "error" else slow_holders)(monkeypatch, slow_s)
    # Its own timeout past any walk on a loaded host: gone before it means taken away.
    monkeypatch.setattr(tui_actions, "FINDING_S", 120.0)
    client, _ = bag.pair(bag.listener())
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await select(pilot, app, *_ports(client))
        send(app, key)
        await until(pilot, lambda: isinstance(app.screen, FindingScreen) and toasts(app))
        assert toasts(app) == [FINDING]
        (notice,) = app._notifications
        if ending == "escape":
            send(app, "escape")
            await until(pilot, lambda: not isinstance(app.screen, FindingScreen))
            await until(pilot, lambda: any(t.startswith("gave up") for t in toasts(app)))
        elif ending == "dialog":
            await confirm(pilot, app)
        else:
            await until(pilot, lambda: not isinstance(app.screen, FindingScreen))
        await pilot.pause(0.2)
        assert not notice.has_expired, "too slow to tell from the toast's own timeout"
        assert FINDING not in toasts(app), toasts(app)
        drawn = [str(t._notification.message) for t in app.screen.query(Toast)]
        assert FINDING not in drawn, drawn
        assert app.is_running


async def test_q_while_the_holders_are_looked_up_quits(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``q`` quits everywhere; while the holders were looked up it did nothing."""
    slow_holders(monkeypatch, 3.0)
    client, _ = bag.pair(bag.listener())
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, *_ports(client))
        send(app, "x")
        await until(pilot, lambda: isinstance(app.screen, FindingScreen))
        send(app, "q")
        deadline = time.monotonic() + 1.5  # well before the walk ends
        while app.is_running and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert not app.is_running, "q did not quit"
    assert app.return_code == 0


async def test_closing_an_orphaned_fin_wait1_names_no_process(bag: SocketBag) -> None:
    """A client that filled its send buffer (the peer never reads) and closed stays in
    FinWait1 with no file: the dialog said "the process ECONNABORTED" of a socket no process
    holds. The peer still gets a reset (tcp_need_reset), and no process is named."""
    client, accepted = bag.pair(bag.listener())  # the server never reads
    fill(client)
    ports = client.getsockname()[1], client.getpeername()[1]
    client.close()  # the FIN waits behind the unsent data: an orphan in FinWait1
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(
            pilot,
            lambda: (
                (c := row(app, *ports))
                and c.state is TcpState.FIN_WAIT1
                and c.owner_status is OwnerStatus.NO_OWNER
            ),
        )
        await select(pilot, app, *ports)
        await pilot.press("x")
        text = await confirm(pilot, app)
        await pilot.press("n")
    assert accepted.fileno() >= 0
    assert "no process holds the socket (no file)" in text, text
    assert "No process holds it: the kernel aborts it and the peer gets a reset" in text, text
    assert "ECONNABORTED" not in text, text


def client_child(bag: SocketBag, port: int) -> tuple[subprocess.Popen[str], int]:
    """A child Python process connected to ``port`` on loopback, doing nothing more; returns
    (the child, its client port)."""
    return bag._spawn(
        "import socket,sys\n"
        f"a=socket.create_connection(('127.0.0.1',{port}))\n"
        "print(a.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )


async def paused_on(pilot: Pilot[int], app: TcpscopeApp, local: int, remote: int) -> None:
    """The cursor on the row once its owner is looked up, then sampling paused."""
    await until(
        pilot,
        lambda: (c := row(app, local, remote)) and c.owner_status is not OwnerStatus.RESOLVING,
    )
    await select(pilot, app, local, remote)
    await pilot.press("space")
    await until(pilot, lambda: app.paused)


def kernel_state(local: int, remote: int) -> str | None:
    """What ss says of the loopback socket ``local`` → ``remote`` now (None: no such socket)."""
    out = subprocess.run(
        ["ss", "-Htan", f"( sport = :{local} and dport = :{remote} )"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return out[0] if out else None


async def orphaned(
    pilot: Pilot[int], child: subprocess.Popen[str], local: int, remote: int
) -> None:
    """Kill the client ``child`` and wait until its socket ``local`` → ``remote`` is an
    orphan in FinWait2 (the kernel holds it with no process)."""
    child.kill()
    child.wait(timeout=5)
    deadline = time.monotonic() + 5
    while kernel_state(local, remote) != "FIN-WAIT-2":
        assert time.monotonic() < deadline, kernel_state(local, remote)
        await pilot.pause(0.02)


@pytest.mark.skipif(os.geteuid() != 0, reason="closing a socket needs CAP_NET_ADMIN (root)")
async def test_x_after_the_process_died_describes_the_socket_as_it_is_now(bag: SocketBag) -> None:
    """Paused on a client's row, the client killed (its socket an orphan in FinWait2, the
    peer in CloseWait): the dialog said "Established", named the dead process, "its holders
    are not known" and "the peer gets a reset, the process ECONNABORTED", all from the old
    sample. It now says the State and holders the look-up on x found, what changed since
    the sample, and what closing that orphan really does (dropped, the peer not reset)."""
    listener = bag.listener()  # never accepts, never reads
    port = listener.getsockname()[1]
    child, cport = client_child(bag, port)
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await paused_on(pilot, app, cport, port)
        conn = row(app, cport, port)
        assert conn is not None and conn.owning_process == child.pid
        sampled = app.snapshot
        await orphaned(pilot, child, cport, port)
        await pilot.press("x")
        text = await confirm(pilot, app)
        assert app.snapshot is sampled  # still paused: the table's sample is the old one
        await pilot.press("y")
        await until(pilot, lambda: any(t.startswith("closed ") for t in toasts(app)))
    assert "State     FinWait2 (was Established when sampled)" in text, text
    assert "no process holds the socket (no file)" in text, text
    assert f"(was PID {child.pid} (python" in text, text  # named as the sampled owner only
    assert "not known" not in text, text
    assert "ECONNABORTED" not in text and "the peer gets a reset" not in text, text
    assert "nothing is sent, the peer is not reset" in text, text
    # What the dialog said: the orphan is dropped, its peer stays in CloseWait (no reset).
    assert kernel_state(cport, port) is None
    assert kernel_state(port, cport) == "CLOSE-WAIT"


async def test_x_after_the_peer_closed_says_the_state_changed(bag: SocketBag) -> None:
    """Paused on an established row, the peer closes: the dialog says CloseWait, the State
    the socket has now, and that it was Established when sampled."""
    client, accepted = bag.pair(bag.listener())
    ports = client.getsockname()[1], client.getpeername()[1]
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await paused_on(pilot, app, *ports)
        accepted.close()
        deadline = time.monotonic() + 5
        while kernel_state(*ports) != "CLOSE-WAIT":
            assert time.monotonic() < deadline, kernel_state(*ports)
            await pilot.pause(0.02)
        await pilot.press("x")
        text = await confirm(pilot, app)
        await pilot.press("n")
    assert "State     CloseWait (was Established when sampled)" in text, text
    assert f"PID {os.getpid()} (python" in text, text
    assert "the socket is held by 1 process" in text, text


async def test_x_on_a_socket_gone_since_the_sample_says_so_without_a_dialog(
    bag: SocketBag,
) -> None:
    """Paused on a row whose socket then closed for good (reset, released): no dialog
    offering to close it, one toast saying it is gone."""
    client, _ = bag.pair(bag.listener())
    ports = client.getsockname()[1], client.getpeername()[1]
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await paused_on(pilot, app, *ports)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset: no FinWait, no TimeWait, nothing left of it
        assert kernel_state(*ports) is None
        await pilot.press("x")
        await until(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) or any(t != FINDING for t in toasts(app)),
        )
        assert not isinstance(app.screen, ConfirmScreen), await confirm(pilot, app)
    assert any(t.startswith("not closed: no such TCP socket any more") for t in toasts(app))


async def test_x_on_a_socket_held_beyond_any_capability_says_what_its_row_says() -> None:
    """As root, a listener whose holder's fd links no capability lets anyone read (PID 1
    here): the row said "not found", the dialog "needs CAP_SYS_PTRACE and
    CAP_DAC_READ_SEARCH" (which root has), "its holders are not known" and "changed since the
    row was sampled: Process" though nothing had changed. It now says what the row says."""
    from tests.integration.test_actions import protected_beyond_capability

    if not protected_beyond_capability():
        pytest.skip("no process here whose fd links a capable root cannot read")
    app = live_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        snap = app.snapshot
        assert snap is not None
        listeners = [
            c
            for c in snap.connections.values()
            if c.state is TcpState.LISTEN and c.inode and c.owner_status is OwnerStatus.NOT_FOUND
        ]
        if not listeners:
            pytest.skip("no listener here held only by such a process")
        conn = listeners[0]
        await paused_on(pilot, app, conn.local_port, conn.remote_port)
        await pilot.press("x")
        text = await confirm(pilot, app)
        await pilot.press("n")
    assert "Process   not found in any fd table tcpscope could read\n" in text, text
    assert "changed since" not in text and "(was " not in text, text
    assert "CAP_SYS_PTRACE" not in text and "not known" not in text, text
    # Its holder was not read: not "no process holds it", only what the row says of it.
    assert "1 connection; no fd table tcpscope could read holds the socket" in text, text


async def test_a_wrapped_value_in_the_close_dialog_stays_under_its_value_column(
    bag: SocketBag,
) -> None:
    """At 60 columns the Process row of a client killed since the sample and its "(was PID …
    (python3, user root) when sampled)" are wider than the value column: their continuation
    lines fell back to column 0, under the labels. They now wrap under the value column."""
    from tests.tui.test_ipsec_screen import drawn_lines

    listener = bag.listener()
    port = listener.getsockname()[1]
    child, cport = client_child(bag, port)
    app = live_app()
    async with app.run_test(size=(60, 30)) as pilot:
        await paused_on(pilot, app, cport, port)
        await orphaned(pilot, child, cport, port)
        await pilot.press("x")
        await confirm(pilot, app)
        await pilot.pause()
        lines = drawn_lines(app)
        await pilot.press("n")
    first = next(i for i, line in enumerate(lines) if "Process   " in line)
    column = lines[first].index("Process   ")
    end = next(i for i, line in enumerate(lines) if "Namespace " in line)
    rows = lines[first:end]
    assert len(rows) >= 3, "\n".join(lines)  # the row and its "(was …)", wrapped
    for line in rows[1:]:
        assert not line[column : column + 10].strip(), "\n".join(lines)
        assert line[column + 10 :].strip(), "\n".join(lines)
    assert rows[-1][column + 10 :].startswith("sampled)"), "\n".join(lines)


async def test_x_names_the_process_that_holds_the_socket_now_with_its_name_and_user(
    bag: SocketBag,
) -> None:
    """Paused on a client's row, the client forks a child that keeps the socket and exits:
    the dialog named the new holder as a bare "PID 5194" (its name and user were looked up
    in the old sample, which never had it) beside "(was PID 4872 (python3, user root) when
    sampled)". The look-up on x now reads the holder it names, name and user."""
    import pwd

    listener = bag.listener()
    port = listener.getsockname()[1]
    parent, cport = bag._spawn(
        "import os,socket,sys,time\n"
        f"a=socket.create_connection(('127.0.0.1',{port}))\n"
        "print(a.getsockname()[1], flush=True)\n"
        "sys.stdin.readline()\n"
        "pid=os.fork()\n"
        "if pid == 0:\n"
        "    os.close(1); time.sleep(60); os._exit(0)\n"
        "print(pid, flush=True)\n"
    )
    app = live_app()
    fork = 0
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await paused_on(pilot, app, cport, port)
            assert parent.stdin is not None and parent.stdout is not None
            parent.stdin.write("fork\n")
            parent.stdin.flush()
            fork = int(parent.stdout.readline())
            parent.wait(timeout=5)  # the parent exited: only its fork holds the socket
            await pilot.press("x")
            text = await confirm(pilot, app)
            await pilot.press("n")
    finally:
        if fork:
            os.kill(fork, signal.SIGKILL)
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert f"(was PID {parent.pid} (python" in text, text
    name = os.path.basename(sys.executable)[:15]
    assert f"Process   PID {fork} ({name}, user {user})\n" in text, text
