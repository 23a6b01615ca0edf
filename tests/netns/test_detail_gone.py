"""The open detail pane stays on its connection when that connection leaves the table.

What a reviewer met: the same 4-tuple in two namespaces, the pane open on namespace B's
socket; B's process ended, its ghost expired, the cursor went to the neighbour row (namespace
A's socket of the same 4-tuple) and the pane silently showed that one, ``x`` then offering to
close A's socket. Real sockets in two namespaces the test makes, a short ghost TTL, the app at
80x24 (the pane over the whole screen, the table out of sight).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from core.commands.feeds import FeedOptions, make_feed
from core.connections.model import TcpConnection, TcpState
from tests.netns.lab import needs_netns, netns, ready, unique
from tests.tui.test_actions import toasts, until
from tests.tui.test_app import pane_text, static_text
from tui.app import TcpscopeApp
from tui.connections.actions import ConfirmScreen, FindingScreen
from tui.connections.conn_table import ConnTable
from tui.connections.detail import DetailPane
from tui.connections.screen import ConnectionsScreen

TTL_S = 1.0
LISTEN, CLIENT = 7000, 40000
SELF_CONNECTED = (
    "import socket,struct,time\n"
    "srv=socket.socket(); srv.bind(('127.0.0.1', 7000)); srv.listen()\n"
    "cli=socket.socket(); cli.bind(('127.0.0.1', 40000)); cli.connect(('127.0.0.1', 7000))\n"
    "acc,_=srv.accept()\n"
    # Closed by a reset when the process ends: no TIME_WAIT row keeps the 4-tuple listed.
    "for s in (cli, acc):\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n"
    "print('ready', flush=True); time.sleep(120)\n"
)


def inode_of(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


@pytest.fixture
def two() -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """Namespaces A and B, each with a process holding 127.0.0.1:40000 → 127.0.0.1:7000;
    B's process is handed over (to be ended)."""
    with ExitStack() as stack:
        a = stack.enter_context(netns(unique("pgA")))
        b = stack.enter_context(netns(unique("pgB")))
        procs = [
            stack.enter_context(
                ready(["ip", "netns", "exec", name, sys.executable, "-c", SELF_CONNECTED])
            )
            for name in (a, b)
        ]
        yield a, b, procs[1]


def client_row(app: TcpscopeApp, name: str) -> TcpConnection | None:
    snap = app.snapshot
    if snap is None:
        return None
    inode = inode_of(name)
    return next(
        (
            c
            for c in snap.connections.values()
            if (c.local_port, c.remote_port) == (CLIENT, LISTEN)
            and c.state is TcpState.ESTABLISHED
            and c.netns == inode
        ),
        None,
    )


async def pane_on(pilot: Pilot[int], app: TcpscopeApp, conn: TcpConnection) -> DetailPane:
    table = app.screen.query_one(ConnTable)
    await until(pilot, lambda: table.move_cursor_to(conn.instance_id))
    await pilot.press("enter")
    pane = app.screen.query_one(DetailPane)
    await until(pilot, lambda: pane.row_id == conn.instance_id)
    return pane


@needs_netns
async def test_pane_never_jumps_to_another_namespaces_socket_when_its_ghost_expires(
    two: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    a, b, in_b_proc = two
    feed = make_feed(FeedOptions(netns=f"{a},{b}", ipsec=False, interval_s=0.2, ghost_ttl_s=TTL_S))
    app = TcpscopeApp(
        feed,
        hostname="testhost",
        ghost_ttl_s=TTL_S,
        prefs_path=tmp_path / "prefs.json",
        filter_text=f"port:{LISTEN},{CLIENT}",
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: client_row(app, a) and client_row(app, b))
        in_a, in_b = client_row(app, a), client_row(app, b)
        assert in_a is not None and in_b is not None
        screen = app.screen
        assert isinstance(screen, ConnectionsScreen)
        table = screen.query_one(ConnTable)
        pane = await pane_on(pilot, app, in_b)
        assert f"ip netns {b}" in pane_text(pane)

        in_b_proc.kill()  # B's process ends: its rows are ghosts, then expire
        in_b_proc.wait()
        await until(pilot, lambda: in_b.instance_id not in table.index.rows)
        await pilot.pause(4 * 0.2)  # a few more samples
        assert table.cursor_id != in_b.instance_id  # the cursor is on a neighbour

        # Still B's connection, said to be gone: never A's (or any other) as if the same.
        assert screen.detail_open
        assert pane.row_id == in_b.instance_id, (pane.row_id, in_b.instance_id)
        gone = pane.query_one("#detail-gone", Static)
        assert gone.display and "no longer in the table" in static_text(gone)
        text = pane_text(pane)
        assert f"ip netns {b}" in text and f"ip netns {a}" not in text
        # x and K refuse on it: nothing is offered for the neighbour the cursor is on.
        for key in ("x", "K"):
            await pilot.press(key)
            await pilot.pause(0.3)
            assert not isinstance(app.screen, ConfirmScreen | FindingScreen), key
            assert any("no longer in the table" in t for t in toasts(app)), toasts(app)
            app.clear_notifications()
        # Closed, it opens again on the cursor's row, which it names.
        await pilot.press("escape")
        await until(pilot, lambda: not screen.detail_open)
        await pilot.press("enter")
        await until(pilot, lambda: pane.row_id == table.cursor_id)
        assert not gone.display
    await feed.aclose()
