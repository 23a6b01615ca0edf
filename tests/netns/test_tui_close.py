"""The close and terminate dialogs say which namespace a socket lives in: a real listener in
an ``ip netns`` namespace the test creates, and one in tcpscope's own namespace."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from core.commands.feeds import FeedOptions, make_feed
from core.connections.model import TcpConnection, TcpState
from core.connections.namespaces import ContainerInfo, NamespaceInfo, NamespaceView, ReadBy
from tests.netns.lab import free_port, listener, needs_netns, netns, unique
from tests.tui.test_actions import confirm, until
from tui.app import TcpscopeApp
from tui.connections.actions import ConfirmScreen
from tui.connections.conn_table import ConnTable
from tui.connections.namespace_detail import namespace_line


@pytest.fixture
def other() -> Iterator[tuple[str, int]]:
    """A namespace with a listener on ``port`` inside it."""
    port = free_port()
    with netns(unique("t16cx")) as name, listener(name, port):
        yield name, port


def listening(app: TcpscopeApp, port: int, netns: bool) -> TcpConnection | None:
    """Our listener on ``port``: in another namespace (``netns``) or in tcpscope's own."""
    snap = app.snapshot
    if snap is None:
        return None
    return next(
        (
            c
            for c in snap.connections.values()
            if c.local_port == port
            and c.state is TcpState.LISTEN
            and (c.netns is not None) == netns
        ),
        None,
    )


async def dialog(pilot: Pilot[int], app: TcpscopeApp, port: int, netns: bool, key: str) -> str:
    """Put the cursor on the listener, press ``key``, return the dialog's text, cancel it."""
    await until(pilot, lambda: listening(app, port, netns) and app.screen.query(ConnTable))
    conn = listening(app, port, netns)
    assert conn is not None
    table = app.screen.query_one(ConnTable)
    await until(pilot, lambda: table.move_cursor_to(conn.instance_id) or table.cursor_id)
    assert table.cursor_id == conn.instance_id
    await pilot.press(key)
    text = await confirm(pilot, app)
    await pilot.press("n")
    await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
    return text


@needs_netns
async def test_close_and_terminate_dialogs_name_the_namespace(other: tuple[str, int]) -> None:
    name, port = other
    with socket.socket() as own:  # the same port in tcpscope's own namespace
        own.bind(("127.0.0.1", port))
        own.listen()
        feed = make_feed(FeedOptions(netns=f"{name},{os.getpid()}", ipsec=False, interval_s=0.2))
        app = TcpscopeApp(feed, hostname="testhost")
        async with app.run_test(size=(120, 40)) as pilot:
            inside = await dialog(pilot, app, port, True, "x")
            assert f"Namespace ip netns {name} (inode " in inside
            assert "tcpscope's own" not in inside
            ours = await dialog(pilot, app, port, False, "x")
            assert "Namespace tcpscope's own (inode " in ours
            assert name not in ours
            ending = await dialog(pilot, app, port, True, "K")
            assert f"Namespace ip netns {name} (inode " in ending


def test_container_runtime_name_and_id_escaped() -> None:
    """A container's runtime, name and id; its name is untrusted (set by whoever ran it)."""
    cid = "0123456789ab" + "c" * 52
    view = NamespaceView(
        (
            NamespaceInfo(1, current=True, read_by=ReadBy.SOCK_DIAG),
            NamespaceInfo(
                2,
                current=False,
                read_by=ReadBy.SOCK_DIAG,
                container=ContainerInfo("docker", cid, name="web\x1b[31m"),
            ),
            NamespaceInfo(3, current=False, read_by=ReadBy.PROCFS),
        )
    )
    line = namespace_line(2, view)
    assert line == "docker container web\\x1b[31m, id 0123456789ab (inode 2)"
    assert namespace_line(None, view) == "tcpscope's own (inode 1)"
    assert namespace_line(3, view) == "another, unnamed (inode 3)"
    assert namespace_line(4, view) == "inode 4 (no longer seen)"
    assert namespace_line(None, None) == "tcpscope's own"
