"""The detail summary names bytes stuck in a connection's queues, read from the real kernel.

A sender whose peer never reads looked healthy at 80x24 (rtt, cwnd, no retransmits, 0 B/s like
an idle socket); its megabytes of Send-Q were only in the tcp_info block below the fold. Now a
second Health line names a non-empty Send-Q or Recv-Q with the kernel's own size, and the
summary still fits the 80x24 pane without scrolling. An idle connection keeps one line. A peer
that reads nothing ends with its receive window at zero: the line under the queues says so.
"""

from __future__ import annotations

import io
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from core.commands.feeds import FeedOptions, make_feed
from tests.integration.sockets import fill
from tests.tui.detail_summary import summary_of
from tui import format as fmt
from tui.app import TcpscopeApp
from tui.connections.detail import DetailPane

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A loopback connection: (client, accepted)."""
    with socket.create_server(("127.0.0.1", 0)) as lst:
        client = socket.create_connection(lst.getsockname())
        accepted, _ = lst.accept()
        with client, accepted:
            yield client, accepted


async def _summary(sock: socket.socket, tmp_path: Path, marker: str) -> tuple[str, list[int]]:
    """The 80x24 summary of ``sock``'s row once it says ``marker``; and the kernel's
    (Recv-Q, Send-Q) the app read for it."""
    local, peer = sock.getsockname()[1], sock.getpeername()[1]
    feed = make_feed(FeedOptions(netns="current", ipsec=False, interval_s=0.2))
    app = TcpscopeApp(
        feed, prefs_path=tmp_path / "prefs.json", filter_text=f"lport:{local} rport:{peer}"
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await summary_of(app, pilot, local, marker)
        pane = app.screen.query_one(DetailPane)
        box = app.screen.query_one("#detail-summary", Static)
        # Readable without scrolling: the whole summary inside the pane as laid out at 80x24.
        assert pane.scroll_y == 0
        assert box.region.bottom <= pane.region.bottom, (box.region, pane.region)
        text = as_drawn(box)
        snap = app.snapshot
        assert snap is not None
        (conn,) = (
            c for c in snap.connections.values() if (c.local_port, c.remote_port) == (local, peer)
        )
        info = snap.tcp_info.get(conn.instance_id)
        assert info is not None and info.recv_q is not None and info.send_q is not None
        return text, [info.recv_q, info.send_q]


def as_drawn(box: Static) -> str:
    """The summary's text at the width the pane gives it (lines wrap as on screen)."""
    width = box.content_region.width
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(box.content)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def _health(text: str) -> list[str]:
    """The Health line and the two under it."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Health"))
    return [line.rstrip() for line in lines[at : at + 3]]


async def test_a_sender_whose_peer_never_reads_names_its_send_q(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    client, _ = pair
    assert fill(client) > 0
    time.sleep(0.3)  # the last segments reach the peer's full buffer
    text, (recv_q, send_q) = await _summary(client, tmp_path, "Send-Q")
    assert send_q > 1_000_000 and recv_q == 0
    health = _health(text)
    assert health[1] == f"         Send-Q {fmt.size(send_q)} unacked/unsent", text  # one line
    assert health[2].strip().startswith("The peer's receive window is zero"), text


async def test_data_left_unread_names_the_recv_q(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    client, accepted = pair
    client.sendall(b"y" * 5000)
    time.sleep(0.2)
    text, (recv_q, send_q) = await _summary(accepted, tmp_path, "Recv-Q")
    assert (recv_q, send_q) == (5000, 0)
    health = _health(text)
    assert health[1] == "         Recv-Q 4.9 KiB not read by the process", text
    assert health[2].startswith("Bytes"), text


async def test_both_queues_share_the_second_line(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    client, accepted = pair
    client.sendall(b"y" * 5000)  # the accepted end never reads this...
    fill(accepted)  # ...nor does the client read what it sends
    time.sleep(0.3)
    text, (recv_q, send_q) = await _summary(accepted, tmp_path, "Send-Q")
    assert recv_q == 5000 and send_q > 0
    health = _health(text)
    assert health[1] == (
        f"         Send-Q {fmt.size(send_q)} unacked/unsent   Recv-Q 4.9 KiB not read"
    ), text
    assert health[2].strip().startswith("The peer's receive window is zero"), text


async def test_an_idle_connection_keeps_one_health_line(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    client, _ = pair
    text, queues = await _summary(client, tmp_path, "Bytes")
    assert queues == [0, 0]
    assert _health(text)[1].startswith("Bytes"), text
    assert "Send-Q" not in text and "Recv-Q" not in text
