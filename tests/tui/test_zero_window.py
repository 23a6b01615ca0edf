"""A send queue stalled on the peer's zero receive window, on the real kernel.

Reviewers met: a held FinWait1 whose peer stopped reading told "If it lasts, the peer is
gone or unreachable…; the kernel gives up after net.ipv4.tcp_retries2 retransmissions" for
8+ minutes while ``ss`` showed ``timer:(persist,…)``: a live peer answers every zero-window
probe, which resets the count, so a held socket never times out. Now the pane names the
peer's zero window and what ends the wait, for a FinWait1 and an Established sender, and an
orphan keeps its bounded tcp_orphan_retries; all on the 80x24 first screen.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from collections.abc import Iterator

import pytest

from tests.integration.sockets import SocketBag, fill, proc_net_timer, wait_for
from tests.tui.test_seq_space_pane import flat, pane
from tui import format as fmt

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")

ZERO_WINDOW_PROBE = 4
"""/proc/net/tcp's timer_active for ICSK_TIME_PROBE0 (ss: ``timer:(persist,…)``)."""


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def stalled(bag: SocketBag) -> tuple[socket.socket, socket.socket]:
    """(server, client): the server has written what fits to a client with a small receive
    buffer that never reads, so the client's window is zero and the rest waits in the
    server's Send-Q; the kernel probes the window (checked in /proc/net/tcp)."""
    listener = bag.listener()
    client = bag.keep(socket.socket())
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(listener.getsockname())
    server, _ = listener.accept()
    bag.keep(server)
    assert fill(server) > 0
    return server, client


def probing(sock: socket.socket) -> None:
    """Wait until the kernel runs the zero-window probe timer for ``sock``."""
    ports = sock.getsockname()[1], sock.getpeername()[1]
    wait_for(lambda: proc_net_timer(*ports) == ZERO_WINDOW_PROBE or None)


def kernel_window(sock: socket.socket) -> int:
    """``tcpi_snd_wnd`` as getsockopt(TCP_INFO) gives it (offset 228 in the uapi struct)."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
    assert len(raw) >= 232, "kernel before 5.4: no tcpi_snd_wnd"
    window: int = struct.unpack_from("=I", raw, 228)[0]
    return window


async def test_a_held_fin_wait1_on_a_zero_window_waits_not_gives_up(bag: SocketBag) -> None:
    server, _client = stalled(bag)
    server.shutdown(socket.SHUT_WR)  # FinWait1, still held, its FIN behind the data
    probing(server)
    assert kernel_window(server) == 0
    ports = server.getsockname()[1], server.getpeername()[1]
    drawn, more, (_, send_q) = await pane(*ports, "Send-Q")
    text = flat(drawn)
    assert "FinWait1" in text and "receive window is zero (it is not reading)" in text, drawn
    assert "a held socket waits indefinitely" in text and "TCP_USER_TIMEOUT" in text, drawn
    assert "the peer is gone" not in text and "retransmissions" not in text, drawn
    assert f"Send-Q {fmt.size(send_q - 1)} + our FIN unacked/unsent" in text, drawn
    assert f"peer's window {fmt.size(0)} (its receive window" in flat(more), more


async def test_an_established_sender_on_a_zero_window_says_why_nothing_moves(
    bag: SocketBag,
) -> None:
    server, _client = stalled(bag)
    probing(server)
    ports = server.getsockname()[1], server.getpeername()[1]
    drawn, _more, (_, send_q) = await pane(*ports, "Send-Q")
    lines = [line.strip() for line in drawn.splitlines()]
    at = next(i for i, line in enumerate(lines) if line.startswith("Health"))
    assert lines[at + 1] == f"Send-Q {fmt.size(send_q)} unacked/unsent", drawn
    under = flat(" ".join(lines[at + 2 :]))
    assert under.startswith("The peer's receive window is zero (it is not reading)"), drawn
    assert "a held socket waits indefinitely" in under, drawn


async def test_an_orphan_on_a_zero_window_is_still_bounded(bag: SocketBag) -> None:
    server, client = stalled(bag)
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.1)  # the client's FIN in: the server's close() makes it LastAck, orphaned
    ports = server.getsockname()[1], server.getpeername()[1]
    server.recv(1)  # the FIN read: closing sends no RST
    server.close()
    wait_for(lambda: proc_net_timer(*ports) == ZERO_WINDOW_PROBE or None)
    drawn, _more, _queues = await pane(*ports, "Send-Q")
    text = flat(drawn)
    assert "LastAck" in text and "receive window is zero" in text, drawn
    assert "no process holds it any more" in text and "tcp_orphan_retries" in text, drawn
    assert "indefinitely" not in text and "tcp_retries2" not in text, drawn


async def test_an_open_window_claims_nothing(bag: SocketBag) -> None:
    """The peer reads: nothing waits on its window, and no window is claimed."""
    client, accepted = bag.pair(bag.listener())
    client.sendall(b"y" * 5000)
    time.sleep(0.2)
    ports = accepted.getsockname()[1], accepted.getpeername()[1]
    window = kernel_window(accepted)
    assert window > 0
    drawn, more, _queues = await pane(*ports, "Recv-Q")
    assert "window" not in flat(drawn), drawn  # no claim in the summary
    assert f"peer's window {fmt.size(window)} (its receive window" in flat(more), more
