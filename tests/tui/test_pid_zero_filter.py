"""``/pid:0`` in the app over the real kernel: Windows gives the kernel's sockets (TimeWait…)
PID 0, Linux none, so the filter emptied the table with no word of why. The toast says so, as
``tcpscope connections --filter pid:0`` notes it."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.commands.feeds import FeedOptions, make_feed
from core.connections import OwnerStatus, TcpState
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable


@pytest.fixture
def time_wait() -> Iterator[int]:
    """A loopback listener, and a connection to it this side closed first: its TimeWait
    socket (held by no process) and the listener; the listener's port."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        server, _ = listener.accept()
        client.close()
        server.close()
        time.sleep(0.1)
        yield port


async def rows_when(pilot: Pilot[int], app: TcpscopeApp, count: int) -> ConnTable:
    table = app.screen.query_one(ConnTable)
    for _ in range(1500):  # (30 s: a sample of a host with 50k sockets can take seconds)
        if app.snapshot is not None and table.row_count == count:
            return table
        await pilot.pause(0.02)
    raise AssertionError(f"never {count} rows (have {table.row_count})")


async def test_pid_0_toasts_that_linux_gives_ownerless_sockets_no_pid(
    time_wait: int, tmp_path: Path
) -> None:
    port = time_wait
    feed = make_feed(FeedOptions(netns="current", ipsec=False, interval_s=0.2))
    app = TcpscopeApp(feed, prefs_path=tmp_path / "prefs.json", filter_text=f"port:{port}")
    async with app.run_test(size=(160, 30)) as pilot:
        await rows_when(pilot, app, 2)  # the listener and the TimeWait socket
        assert app.snapshot is not None
        owners = {c.state: c.owner_status for c in app.snapshot.connections.values()
                  if c.local_port == port or c.remote_port == port}  # fmt: skip
        assert owners[TcpState.TIME_WAIT] is OwnerStatus.NO_OWNER, owners

        async def toasts(expression: str, rows: int) -> list[tuple[str, str]]:
            app.clear_notifications()
            await pilot.press("slash", "ctrl+u", *expression, "enter")
            await rows_when(pilot, app, rows)
            return [(str(n.title), str(n.message)) for n in app._notifications]

        said = await toasts(f"port:{port} pid:0", 0)
        assert [title for title, _ in said] == ["Filter matches nothing"], said
        assert said[0][1].startswith("pid:0 matches no connection: Linux gives a socket no "
                                     "process holds"), said  # fmt: skip
        # What lists them in the filter input: its word, not the command line's flag.
        assert "(state:timewait lists the TimeWait ones)" in said[0][1], said
        assert "--state" not in said[0][1], said
        said = await toasts(f"port:{port} pid:0,{os.getpid()}", 1)  # the listener
        assert [title for title, _ in said] == ["Filter note"], said
        assert "pid:0 matches no connection" in said[0][1], said
        for other in (f"port:{port} -pid:0", f"port:{port} pid:{os.getpid()}"):
            said = await toasts(other, 1 if "-" not in other else 2)
            assert said == [], (other, said)
