"""The detail pane says what a State means for the person looking at it, on real sockets:
a CLOSE_WAIT names the process that has not closed (this test's), an orphaned FIN_WAIT2 says
no process holds it; both above the footer at 80x24, with the State's seed meaning."""

from __future__ import annotations

import os
import socket
import struct
import sys
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.integration.sockets import SocketBag
from tests.tui.test_actions import live_app, select, until
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.connections.detail import DetailPane
from tui.connections.summary import (
    CLOSED_NO_INFO,
    ENDED_NO_INFO,
    NO_TCP_INFO_HERE,
    NOTHING_TO_MEASURE,
    ORPHAN_NO_INFO,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


async def _open_detail(
    pilot: Pilot[int], app: TcpscopeApp, ports: tuple[int, int], marker: str
) -> Static:
    """The detail summary of the row with these (local, remote) ports, once it says
    ``marker``."""
    await select(pilot, app, *ports)
    await pilot.press("enter")
    await until(pilot, lambda: app.screen.query("#detail-summary"))
    summary = app.screen.query_one("#detail-summary", Static)
    await until(pilot, lambda: marker in static_text(summary))
    return summary


async def _summary(bag: SocketBag, which: str) -> str:
    """The detail summary of the accepted end (``close_wait``) or the client's (``orphan``)
    after the client closed and the accepted end stayed open."""
    client, accepted = bag.pair(bag.listener())
    server_port, client_port = client.getpeername()[1], client.getsockname()[1]
    client.close()
    assert accepted.fileno() >= 0
    if which == "time_wait":  # both closed, the client first: its end waits in TIME_WAIT
        assert accepted.recv(1) == b""
        accepted.close()
    ports = (server_port, client_port) if which == "close_wait" else (client_port, server_port)
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        summary = await _open_detail(pilot, app, ports, "State")
        assert summary.region.bottom <= 23  # above the footer, no scrolling
        return " ".join(static_text(summary, width=summary.region.width).split())


async def test_close_wait_names_this_process_as_the_one_that_has_not_closed(
    bag: SocketBag,
) -> None:
    text = await _summary(bag, "close_wait")
    assert "CloseWait — Waiting for a connection termination request" in text
    assert f"({os.getpid()}) has not closed this socket yet" in text
    assert "; CloseWait throughout" in text  # in it before the app started, unchanged since


async def test_an_orphaned_fin_wait2_says_no_process_holds_it(bag: SocketBag) -> None:
    text = await _summary(bag, "orphan")
    assert "FinWait2 — Waiting for a connection termination request from the remote" in text
    assert "No process holds it any more" in text and "tcp_fin_timeout" in text
    # The kernel sends no tcp_info for it: "the next sample has it" never came true.
    assert ORPHAN_NO_INFO in text


async def test_a_time_wait_row_says_the_kernel_keeps_it_and_gives_no_tcp_info(
    bag: SocketBag,
) -> None:
    text = await _summary(bag, "time_wait")
    assert "TimeWait — Waiting for enough time to pass" in text
    assert "The kernel keeps it about 60 s" in text
    assert NO_TCP_INFO_HERE in text


async def test_a_closed_rows_detail_says_it_closed_and_gives_no_hint(bag: SocketBag) -> None:
    """A connection that closes under the open pane stays as its ghost: the summary says it
    closed, gives no hint (the State is its last one, nobody waits in it) and tells why
    there is no tcp_info (it said "the next sample has it")."""
    client, accepted = bag.pair(bag.listener())
    ports = accepted.getsockname()[1], accepted.getpeername()[1]
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        summary = await _open_detail(pilot, app, ports, "Established")
        # A reset, not a FIN: both ends are gone from the kernel's table at once.
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        accepted.close()
        client.close()
        await until(pilot, lambda: "closed: its last state" in static_text(summary))
        text = " ".join(static_text(summary, width=summary.region.width).split())
    assert CLOSED_NO_INFO in text, text
    assert "If it lasts" not in text and "Lasting" not in text


async def test_a_bound_only_socket_says_what_it_holds_and_why_no_tcp_info() -> None:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        app = live_app()
        async with app.run_test(size=(80, 24)) as pilot:
            summary = await _open_detail(pilot, app, (bound.getsockname()[1], 0), "Bound")
            await until(pilot, lambda: "Health" in static_text(summary))
            text = " ".join(static_text(summary, width=summary.region.width).split())
    assert text.startswith("State Bound — A socket bound to a local address"), text
    assert "it holds the port from other programs" in text
    assert NOTHING_TO_MEASURE in text


async def test_a_reset_socket_still_held_says_who_holds_it_and_why_no_tcp_info() -> None:
    """State Closed had no hint, and its Health line promised tcp_info "the next sample"
    that the kernel never sends for it."""
    with SocketBag() as bag:
        listener = bag.listener()
        held = bag.reset_but_held(listener)
        ports = (held.getsockname()[1], listener.getsockname()[1])
        app = live_app()
        async with app.run_test(size=(80, 24)) as pilot:
            summary = await _open_detail(pilot, app, ports, "Closed")
            await until(pilot, lambda: "Health" in static_text(summary))
            await pilot.pause(1.5)  # a later sample, tcp_info asked for this row
            text = " ".join(static_text(summary, width=summary.region.width).split())
    assert text.startswith("State Closed — "), text
    assert f"but python ({os.getpid()}) still holds the socket" in text
    assert ENDED_NO_INFO in text


async def test_the_detail_pane_opens_at_its_top_again(bag: SocketBag) -> None:
    """Scrolled down (↑↓ scroll it), closed and opened again (or opened on another row), the
    pane showed where it had been scrolled to: the State line out of sight."""
    listener = bag.listener()
    client, _accepted = bag.pair(listener)
    ports = client.getsockname()[1], client.getpeername()[1]
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        summary = await _open_detail(pilot, app, ports, "State")
        pane = app.screen.query_one(DetailPane)
        await pilot.press(*["down"] * 6)
        await until(pilot, lambda: pane.scroll_y > 0)
        await pilot.press("enter")  # closed
        await until(pilot, lambda: not app.screen.has_class("-detail-open"))
        await pilot.press("enter")  # opened again
        await until(pilot, lambda: app.screen.has_class("-detail-open"))
        await pilot.pause()
        assert pane.scroll_y == 0
        assert summary.region.y == pane.region.y  # the State line at the top, on screen


async def test_the_detail_pane_stays_where_it_was_scrolled_while_samples_come(
    bag: SocketBag,
) -> None:
    """Scrolled down to the process and tcp_info, the pane jumped back to its top at every
    sample: below the first screen could be read only while paused."""
    listener = bag.listener()
    client, _accepted = bag.pair(listener)
    ports = client.getsockname()[1], client.getpeername()[1]
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_detail(pilot, app, ports, "State")
        pane = app.screen.query_one(DetailPane)
        await pilot.press(*["down"] * 6)
        await until(pilot, lambda: pane.scroll_y > 0)
        scrolled = pane.scroll_y
        for _ in range(2):  # two more samples (live_app samples every 0.5 s)
            seen = app.snapshot
            await until(pilot, lambda seen=seen: app.snapshot is not seen)  # type: ignore[misc]
        await pilot.pause()
        assert pane.scroll_y == scrolled


async def test_a_held_fin_wait2_says_no_timer_ends_it_and_the_peer_never_closes(
    bag: SocketBag,
) -> None:
    """A client that shut down its sending (``shutdown(SHUT_WR)``) while the server never
    closes waits in FinWait2, still held: the hint said only "waiting for the peer to close
    its end", not what it means when it lasts nor what timer decides (README promises both
    for FinWait1/2). No timer ends it while a process holds it (tcp_fin_timeout applies only
    to an orphan); it lasts because the peer's program never closes (the peer in CloseWait)."""
    client, accepted = bag.pair(bag.listener())
    client.shutdown(socket.SHUT_WR)
    assert accepted.recv(1) == b""  # the FIN arrived and was acknowledged: FinWait2 here
    ports = client.getsockname()[1], client.getpeername()[1]
    app = live_app()
    async with app.run_test(size=(120, 40)) as pilot:
        summary = await _open_detail(pilot, app, ports, "FinWait2")
        text = " ".join(static_text(summary, width=summary.region.width).split())
    assert "No process holds it" not in text, text
    assert "no timer ends it while a process holds it" in text, text
    assert "net.ipv4.tcp_fin_timeout applies only once no process does" in text, text
    assert "the peer's program never closes its socket (the peer sits in CloseWait)" in text, text
