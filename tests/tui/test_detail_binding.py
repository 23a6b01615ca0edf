"""The open detail pane stays on its connection when a filter hides it or its 4-tuple returns.

What a reviewer met (after the pane was bound to its connection when its ghost expires):

* a filter change took the pane off its connection: filtered to ``lport:C``, the pane open on
  C→P, the filter changed to ``lport:P``: the pane silently showed P→C, and ``x`` offered to
  close that one; a filter that emptied the table showed ``no connection selected`` above the
  old connection's whole property list;
* the gone banner stayed when the same InstanceID came back (the process killed, restarted on
  the same 4-tuple): the row was live in the table, the pane said "no longer in the table",
  named the old PID, and ``x``/``K`` refused.

Real loopback sockets, the real app at 80x24 (the pane over the whole screen).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from core.commands.feeds import FeedOptions, make_feed
from tests.integration.sockets import SocketBag
from tests.netns.lab import ready
from tests.tui.test_actions import row, toasts, until
from tests.tui.test_app import pane_text, static_text
from tui.app import TcpscopeApp
from tui.connections.actions import ConfirmScreen, FindingScreen
from tui.connections.conn_table import ConnTable
from tui.connections.detail import DetailPane
from tui.connections.screen import ConnectionsScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")
TTL_S = 1.0
INTERVAL_S = 0.2


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def app_for(tmp_path: Path, filter_text: str) -> TcpscopeApp:
    feed = make_feed(FeedOptions(ipsec=False, interval_s=INTERVAL_S, ghost_ttl_s=TTL_S))
    return TcpscopeApp(
        feed,
        hostname="testhost",
        ghost_ttl_s=TTL_S,
        prefs_path=tmp_path / "prefs.json",
        filter_text=filter_text,
    )


async def filter_to(pilot: Pilot[int], app: TcpscopeApp, text: str) -> None:
    """``/``, the input's text replaced by ``text``, Enter: as a user changes the filter."""
    await pilot.press("slash")
    app.screen.query_one("#filter-input", Input).value = text
    await pilot.press("enter")
    table = app.screen.query_one(ConnTable)
    await until(pilot, lambda: table.index.query.text == text and not table.filter_pending)
    await pilot.pause(3 * INTERVAL_S)  # a few samples drawn under the new filter


async def refused(pilot: Pilot[int], app: TcpscopeApp, words: str) -> None:
    """``x`` and ``K`` open no dialog (nothing is offered for another row) and say ``words``."""
    for key in ("x", "K"):
        app.clear_notifications()
        await pilot.press(key)
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen | FindingScreen), key
        assert any(words in t for t in toasts(app)), toasts(app)
    app.clear_notifications()


def banner(pane: DetailPane) -> str:
    gone = pane.query_one("#detail-gone", Static)
    return static_text(gone) if gone.display else ""


async def test_a_filter_that_hides_the_panes_connection_never_shows_another(
    bag: SocketBag, tmp_path: Path
) -> None:
    listener = bag.listener()
    client, _accepted = bag.pair(listener)
    port, cport = listener.getsockname()[1], client.getsockname()[1]
    app = app_for(tmp_path, f"lport:{cport}")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: row(app, cport, port) and row(app, port, cport))
        mine = row(app, cport, port)
        assert mine is not None
        screen = app.screen
        assert isinstance(screen, ConnectionsScreen)
        table = screen.query_one(ConnTable)
        await until(pilot, lambda: table.cursor_id == mine.instance_id)
        await pilot.press("enter")
        pane = screen.query_one(DetailPane)
        await until(pilot, lambda: pane.row_id == mine.instance_id)
        assert f"127.0.0.1:{cport} → 127.0.0.1:{port}" in pane_text(pane)

        # The filter now lists the other end (and the listener): the pane stays on its
        # connection, live, and says the filter hides it; x and K act on nothing else.
        await filter_to(pilot, app, f"lport:{port}")
        assert table.cursor_id != mine.instance_id
        assert screen.detail_open
        assert pane.row_id == mine.instance_id, (pane.row_id, mine.instance_id)
        assert "hidden by the filter (still live)" in banner(pane)
        text = pane_text(pane)
        assert f"127.0.0.1:{cport} → 127.0.0.1:{port}" in text
        assert f"127.0.0.1:{port} → 127.0.0.1:{cport}" not in text
        await refused(pilot, app, "hidden by the filter")

        # A filter that lists nothing: still that connection, never "no connection selected"
        # above its property list.
        await filter_to(pilot, app, "lport:1")
        assert table.row_count == 0
        assert pane.row_id == mine.instance_id
        assert "hidden by the filter (still live)" in banner(pane)
        text = pane_text(pane)
        assert "no connection selected" not in text
        assert f"127.0.0.1:{cport} → 127.0.0.1:{port}" in text

        # Listed again: the banner goes, the cursor is on it (x and K act on what is shown).
        await filter_to(pilot, app, f"lport:{cport}")
        assert pane.row_id == mine.instance_id
        assert banner(pane) == ""
        await until(pilot, lambda: table.cursor_id == mine.instance_id)
    await app.feed.aclose()


async def test_no_connection_selected_never_sits_over_an_old_property_list(
    bag: SocketBag, tmp_path: Path
) -> None:
    """The user's cursor moves onto nothing (an empty table) with the pane open side by side:
    the pane says so alone, not above the last connection's properties."""
    listener = bag.listener()
    client, _accepted = bag.pair(listener)
    port, cport = listener.getsockname()[1], client.getsockname()[1]
    app = app_for(tmp_path, f"lport:{cport}")
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: row(app, cport, port))
        mine = row(app, cport, port)
        assert mine is not None
        screen = app.screen
        table = screen.query_one(ConnTable)
        await until(pilot, lambda: table.cursor_id == mine.instance_id)
        await pilot.press("enter")
        pane = screen.query_one(DetailPane)
        await until(pilot, lambda: pane.row_id == mine.instance_id)
        await filter_to(pilot, app, "lport:1")
        await pilot.press("down")  # the user's move, on a table of no rows
        await pilot.pause(2 * INTERVAL_S)
        text = pane_text(pane)
        if "no connection selected" in text:
            assert "properties" not in text and f"{cport}" not in text, text
            assert banner(pane) == ""
    await app.feed.aclose()


HOLDER = (
    "import socket,struct,sys,time\n"
    "port,cport=int(sys.argv[1]),int(sys.argv[2])\n"
    "srv=socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "srv.bind(('127.0.0.1', port)); srv.listen()\n"
    "cli=socket.socket(); cli.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "cli.bind(('127.0.0.1', cport)); cli.connect(('127.0.0.1', port))\n"
    "acc,_=srv.accept()\n"
    # Closed by a reset when the process ends: no TIME_WAIT row keeps the 4-tuple listed.
    "for s in (cli, acc):\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n"
    "print('ready', flush=True); time.sleep(120)\n"
)


def free_ports() -> tuple[int, int]:
    """Two loopback ports free now (the kernel's picks, let go of at once)."""
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]


async def test_the_gone_banner_says_when_the_same_connection_id_is_back(tmp_path: Path) -> None:
    port, cport = free_ports()
    argv = [sys.executable, "-c", HOLDER, str(port), str(cport)]
    app = app_for(tmp_path, f"port:{port},{cport}")
    async with app.run_test(size=(80, 24)) as pilot:
        with ready(argv) as first:
            await until(pilot, lambda: row(app, cport, port))
            old = row(app, cport, port)
            assert old is not None and old.owning_process == first.pid
            screen = app.screen
            assert isinstance(screen, ConnectionsScreen)
            table = screen.query_one(ConnTable)
            await until(pilot, lambda: table.move_cursor_to(old.instance_id))
            await pilot.press("enter")
            pane = screen.query_one(DetailPane)
            await until(pilot, lambda: pane.row_id == old.instance_id)
            first.kill()
            first.wait()
            await until(pilot, lambda: "no longer in the table" in banner(pane))
        with ready(argv) as second:
            await until(pilot, lambda: (r := row(app, cport, port)) and r.owning_process)
            new = row(app, cport, port)
            assert new is not None and new.instance_id == old.instance_id
            await until(pilot, lambda: new.instance_id in table.index.rows)
            await pilot.pause(3 * INTERVAL_S)
            # Live in the table again: the pane never says otherwise, and says how to see it.
            said = banner(pane)
            assert "no longer in the table" not in said, said
            assert "new connection with the same endpoints" in said, said
            assert "Enter shows it" in said, said
            await refused(pilot, app, "new connection with the same endpoints")
            # Enter shows the new one: its process, no banner, the cursor on it.
            await pilot.press("enter")
            await until(pilot, lambda: banner(pane) == "")
            assert screen.detail_open and pane.row_id == new.instance_id
            assert f"PID {second.pid}" in pane_text(pane) or str(second.pid) in pane_text(pane)
            assert table.cursor_id == new.instance_id
    await app.feed.aclose()
