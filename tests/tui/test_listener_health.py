"""The Health line of the detail summary, read from the real kernel. A listener's is its
accept queue against its backlog: one that never accepts, with more handshakes done than its
backlog, shows as full (the kernel then drops new ones), and no rtt/cwnd/bytes lines. A
loopback connection's rtt is drawn to the microsecond."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from core.commands.feeds import FeedOptions, make_feed
from core.connections import NOTHING_ACKED
from tests.tui.detail_summary import static_text, summary_of
from tui.app import TcpscopeApp

BACKLOG = 2


@pytest.fixture
def stuck_listener() -> Iterator[tuple[int, int]]:
    """A listener (backlog 2) that never accepts, and as many finished handshakes as its
    queue takes: (port, connections waiting)."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(BACKLOG)
    port = lst.getsockname()[1]
    clients = []
    for _ in range(BACKLOG + 3):  # the queue holds backlog + 1; later SYNs are dropped
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        clients.append(c)
    time.sleep(0.3)
    try:
        yield port, BACKLOG + 1
    finally:
        for c in clients:
            c.close()
        lst.close()


async def test_a_full_listener_says_so(stuck_listener: tuple[int, int], tmp_path: Path) -> None:
    port, waiting = stuck_listener
    feed = make_feed(FeedOptions(netns="current", ipsec=False, interval_s=0.2))
    app = TcpscopeApp(
        feed, prefs_path=tmp_path / "prefs.json", filter_text=f"lport:{port} state:listen"
    )
    async with app.run_test(size=(80, 24)) as pilot:
        text = await summary_of(app, pilot, port, "accept queue")
        for _ in range(3):  # a few samples: the byte-rate history would have begun
            await pilot.pause(0.25)
        rate = app.screen.query_one("#detail-rate", Static)
        spark = app.screen.query_one("#detail-sparkline")
        # A listener moves no bytes of its own: no "in + out" line, no flat sparkline.
        assert not rate.display and not spark.display
    assert f"accept queue {waiting} of {BACKLOG}  full: new handshakes are dropped" in text, text
    assert "rtt" not in text and "cwnd" not in text and "Bytes" not in text


async def test_a_loopback_rtt_is_drawn_to_the_microsecond(tmp_path: Path) -> None:
    """Loopback's rtt is tens of µs: the summary drew it "0.0 ms", as if none was measured.
    Below 1 ms it has ss's three decimals, and it is the kernel's own value."""
    with socket.create_server(("127.0.0.1", 0)) as lst:
        port = lst.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            server, _ = lst.accept()
            with server:  # no traffic: the rtt is the handshake's, tens of µs
                feed = make_feed(FeedOptions(netns="current", ipsec=False, interval_s=0.2))
                app = TcpscopeApp(
                    feed,
                    prefs_path=tmp_path / "prefs.json",
                    filter_text=f"lport:{port} state:est",
                )
                async with app.run_test(size=(80, 24)) as pilot:
                    text = await summary_of(app, pilot, port, "rtt ")
                    snap = app.snapshot
                    assert snap is not None
                    peer = client.getsockname()[1]
                    (conn,) = [
                        c
                        for c in snap.connections.values()
                        if (c.local_port, c.remote_port) == (port, peer)
                    ]
                    info = snap.tcp_info.get(conn.instance_id)
    assert info is not None and 0 < info.rtt_us < 1000, info
    assert f"rtt {info.rtt_us / 1000:.3f} ms ±" in text, text
    assert "rtt 0.0 ms" not in text


async def test_a_connection_with_no_rtt_sample_says_so(
    stuck_listener: tuple[int, int], tmp_path: Path
) -> None:
    """A SYN the full listener dropped leaves its client in SYN_SENT, nothing acknowledged:
    the kernel's rtt is 0 and its variance the initial 250 ms, drawn "rtt 0.000 ms ±250.0"
    as if measured. ss prints no rtt then; the summary says none was measured."""
    port, _waiting = stuck_listener
    feed = make_feed(FeedOptions(netns="current", ipsec=False, interval_s=0.2))
    app = TcpscopeApp(
        feed, prefs_path=tmp_path / "prefs.json", filter_text=f"rport:{port} state:synsent"
    )
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            snap = app.snapshot
            if snap is not None and any(c.remote_port == port for c in snap.connections.values()):
                break
            await pilot.pause(0.02)
        await pilot.press("enter")  # the filter leaves SynSent rows only: the cursor is on one
        box = app.screen.query_one("#detail-summary", Static)
        for _ in range(200):
            text = static_text(box)
            if "rtt " in text:
                break
            await pilot.pause(0.02)
    assert "SynSent" in text, text
    assert f"rtt {NOTHING_ACKED}" in text, text
    assert "0.000 ms" not in text and "±250" not in text
