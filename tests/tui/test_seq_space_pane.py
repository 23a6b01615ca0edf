"""What the detail pane says about a closing connection, read from real loopback sockets.

Reviewers met: an accept-queue CloseWait (no process has it yet) diagnosed as a leak; a peer's
FIN counted as "Recv-Q 1 Byte not read by the process", our FIN as a byte unacked, on an
orphan no process holds; SYN/FIN counted in "Bytes in/out" as data; FinWait1/LastAck naming
no sysctl; SynSent not naming a full accept queue; the tcp_info section drawing a listener's
and an unanswered SYN's zeros as measurements ("rtt 0.000 ms", "mss 0 B"). Each test opens
the pane at 80x24 and checks that its first screen still holds the answer.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from core.connections import LISTENER_NOT_MEASURED, NOTHING_ACKED
from tests.integration.sockets import SocketBag, fill, proc_net_timer, wait_for
from tests.tui.test_actions import live_app, row, select, until
from tests.tui.test_app import static_text
from tui import format as fmt
from tui.app import TcpscopeApp
from tui.connections.summary import SEQUENCE_NOTE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def flat(text: str) -> str:
    return " ".join(text.split())


async def pane(local: int, remote: int, marker: str) -> tuple[str, str, tuple[int, int]]:
    """The 80x24 detail pane of the (local, remote) row once its summary says ``marker``:
    (summary as drawn, tcp_info section, the kernel's (Recv-Q, Send-Q) for it). Asserts the
    summary fits the first screen, above the footer, unscrolled."""
    app = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, app, local, remote)
        summary = app.screen.query_one("#detail-summary", Static)
        more = app.screen.query_one("#detail-more", Static)
        await until(pilot, lambda: marker in flat(static_text(summary)))
        await until(pilot, lambda: "tcp_info" in static_text(more))
        assert summary.region.bottom <= 23, summary.region  # no scrolling for the answer
        drawn = static_text(summary, width=summary.region.width)
        conn = row(app, local, remote)
        assert conn is not None and app.snapshot is not None
        info = app.snapshot.tcp_info.get(conn.instance_id)
        assert info is not None and info.recv_q is not None and info.send_q is not None
        return drawn, static_text(more), (info.recv_q, info.send_q)


async def _open(pilot: Pilot[int], app: TcpscopeApp, local: int, remote: int) -> None:
    await select(pilot, app, local, remote)
    await pilot.press("enter")


async def test_an_unaccepted_close_wait_blames_the_listener_not_a_leak(bag: SocketBag) -> None:
    listener = bag.listener()  # never accept()s
    client = bag.keep(socket.create_connection(listener.getsockname()))
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.2)
    ports = listener.getsockname()[1], client.getsockname()[1]
    drawn, _more, (recv_q, _) = await pane(*ports, "Recv-Q")
    text = flat(drawn)
    assert recv_q == 1  # the FIN, as ss shows it
    assert "before any process accept()ed this connection" in text, drawn
    assert "the server is not accepting" in text
    assert "a leak)" not in text and "does not close its sockets" not in text
    assert "Recv-Q: end of stream not read (not accept()ed yet)" in text, drawn
    assert "by the process" not in text and "1 Byte not read" not in text


async def test_a_held_close_wait_reads_end_of_stream_not_a_byte(bag: SocketBag) -> None:
    client, accepted = bag.pair(bag.listener())
    client.sendall(b"y" * 5000)
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.2)
    ports = accepted.getsockname()[1], accepted.getpeername()[1]
    drawn, more, (recv_q, _) = await pane(*ports, "Recv-Q")
    text = flat(drawn)
    assert recv_q == 5001  # 5000 bytes and the FIN
    assert "Recv-Q 4.9 KiB + end of stream not read by the process" in text, drawn
    assert "Recv-Q / Send-Q 5001 / 0 (as ss" in flat(more)  # raw, to compare with ss


async def test_an_orphaned_last_ack_names_our_fin_and_tcp_orphan_retries(
    bag: SocketBag,
) -> None:
    """The server closes after the client's FIN, with megabytes the client never reads:
    its LastAck stays, orphaned, its FIN behind the data. Recv-Q 1 is the client's FIN that
    the server never read, Send-Q the data plus our FIN."""
    client, accepted = bag.pair(bag.listener())
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.1)
    fill(accepted)
    ports = accepted.getsockname()[1], accepted.getpeername()[1]
    accepted.close()  # orphaned: no RST, its unread Recv-Q is only the FIN
    drawn, more, (recv_q, send_q) = await pane(*ports, "Send-Q")
    text = flat(drawn)
    assert recv_q == 1 and send_q > 1
    assert "LastAck" in text and "net.ipv4.tcp_orphan_retries" in text, drawn
    assert "tcp_retries2" not in text
    assert f"Send-Q {fmt.size(send_q - 1)} + our FIN unacked/unsent" in text, drawn
    assert "Recv-Q: end of stream never read (closed before reading it)" in text, drawn
    assert "by the process" not in text and "1 Byte not read" not in text
    assert f"Recv-Q / Send-Q 1 / {send_q} (as ss" in flat(more)


async def test_a_held_fin_wait1_names_its_queued_fin_and_why_it_waits(bag: SocketBag) -> None:
    """The server never reads, so its window closes: the FIN waits on that, not on
    retransmissions (tests/tui/test_zero_window.py has the rest)."""
    client, _accepted = bag.pair(bag.listener())  # the server never reads
    fill(client)
    client.shutdown(socket.SHUT_WR)
    ports = client.getsockname()[1], client.getpeername()[1]
    # The peer's window closes once its receive buffer is full: the kernel then probes it
    # (timer 4); before that (a loaded host) the pane rightly says nothing of a window.
    wait_for(lambda: proc_net_timer(*ports) == 4 or None)
    # Said from the sample that reads the closed window (the one the pane opened on may be
    # older, and says nothing of a window then): waited for, up to until()'s limit.
    drawn, _more, (_, send_q) = await pane(*ports, "receive window is zero")
    text = flat(drawn)
    assert "FinWait1" in text and "receive window is zero" in text, drawn
    assert "net.ipv4.tcp_retries2 counts only unanswered probes" in text, drawn
    assert "no process holds it" not in text
    assert f"Send-Q {fmt.size(send_q - 1)} + our FIN unacked/unsent" in text, drawn


async def test_a_fin_wait2_says_its_byte_counts_include_syn_and_fin(bag: SocketBag) -> None:
    """A client that sent nothing and shut down: the kernel's bytes_acked is 2 (its SYN and
    FIN). The summary says they count; the tcp_info section keeps the raw 2."""
    client, _accepted = bag.pair(bag.listener())
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.1)
    ports = client.getsockname()[1], client.getpeername()[1]
    drawn, more, _ = await pane(*ports, "Bytes")
    bytes_line = next(line for line in drawn.splitlines() if line.startswith("Bytes"))
    assert "out 2 Bytes" in bytes_line and SEQUENCE_NOTE in bytes_line, drawn
    assert "bytes out (acked) 2 Bytes" in flat(more)


@pytest.fixture
def full_listener(bag: SocketBag) -> tuple[socket.socket, socket.socket]:
    """A listener (backlog 0) whose queue one unaccepted connection fills, and a client whose
    SYN it therefore drops: (listener, client in SynSent)."""
    listener = bag.keep(socket.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    bag.keep(socket.create_connection(listener.getsockname()))
    time.sleep(0.1)
    client = bag.keep(socket.socket())
    client.setblocking(False)
    client.connect_ex(listener.getsockname())
    return listener, client


async def test_a_syn_sent_names_a_full_accept_queue_and_its_unmeasured_rtt(
    full_listener: tuple[socket.socket, socket.socket],
) -> None:
    listener, client = full_listener
    ports = client.getsockname()[1], listener.getsockname()[1]
    drawn, more, (_, send_q) = await pane(*ports, "Send-Q")
    text, section = flat(drawn), flat(more)
    assert "SynSent" in text and "accept queue is full" in text, drawn
    assert send_q == 1 and "Send-Q: our SYN, not acknowledged yet" in text, drawn
    assert f"rtt {NOTHING_ACKED}" in section, more
    assert "0.000 ms" not in section


async def test_a_listeners_tcp_info_says_what_is_not_measured(
    full_listener: tuple[socket.socket, socket.socket],
) -> None:
    listener, _client = full_listener
    _drawn, more, (waiting, backlog) = await pane(listener.getsockname()[1], 0, "accept queue")
    section = flat(more)
    assert f"rtt, cwnd, bytes {flat(LISTENER_NOT_MEASURED)}" in section, more
    assert "0.000 ms" not in section and "mss 0 B" not in section and "segments" not in section
    assert f"accept queue {waiting} waiting for accept(), backlog {backlog}" in section
