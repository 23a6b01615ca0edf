"""With the psutil source the detail pane says why an established connection has no
tcp_info (psutil gives none), instead of naming socket kinds this one is not (it used to say
"listening, TIME_WAIT or request sockets"). A real connection, the real app at 80x24."""

from __future__ import annotations

from pathlib import Path

from core.commands.feeds import FeedOptions, make_feed
from core.connections.model import TcpState
from tests.integration.sockets import SocketBag
from tests.tui.detail_summary import summary_of
from tui.app import TcpscopeApp
from tui.connections.summary import (
    CLOSED_NO_INFO,
    NO_TCP_INFO,
    NO_TCP_INFO_HERE,
    NOT_IN_SAMPLE,
    why_no_tcp_info,
)


async def test_an_established_row_says_psutil_gives_no_tcp_info(tmp_path: Path) -> None:
    with SocketBag() as bag:
        listener = bag.listener()
        client, _ = bag.pair(listener)
        port = client.getsockname()[1]
        feed = make_feed(FeedOptions(source="psutil", ipsec=False, interval_s=0.2))
        app = TcpscopeApp(
            feed, prefs_path=tmp_path / "prefs.json", filter_text=f"lport:{port} state:est"
        )
        async with app.run_test(size=(80, 24)) as pilot:
            text = await summary_of(app, pilot, port, "Health")
    assert app.snapshot is not None and app.snapshot.source == "psutil"
    assert NO_TCP_INFO["psutil"] in text, text
    assert "listening, TIME_WAIT" not in text


def test_no_tcp_info_is_explained_by_the_source_and_the_state() -> None:
    """A demo CloseWait row was told "the kernel gives no tcp_info for this socket (listening,
    TIME_WAIT or request sockets)": the demo's reason is the demo's, the kernel's only for
    the states it gives none for, and an Established row without it was not read this sample."""
    assert "demo host" in why_no_tcp_info("demo", TcpState.CLOSE_WAIT)
    assert why_no_tcp_info("netlink", TcpState.TIME_WAIT) == NO_TCP_INFO_HERE
    assert why_no_tcp_info("netlink", TcpState.SYN_RECEIVED) == NO_TCP_INFO_HERE
    assert why_no_tcp_info("netlink", TcpState.ESTABLISHED) == NOT_IN_SAMPLE
    assert "listening" not in NO_TCP_INFO_HERE
    assert "a socket only bound" in why_no_tcp_info("netlink", TcpState.BOUND)
    closed = why_no_tcp_info("netlink", TcpState.ESTABLISHED, ghost=True)
    assert closed == why_no_tcp_info("demo", TcpState.CLOSE_WAIT, ghost=True) == CLOSED_NO_INFO
