"""``connections --json`` says a listener's rtt, cwnd and byte counts are not measured, as the
detail pane does, instead of the kernel's initial values (rtt 0, cwnd 10, mss 0) that a
script would read as measurements.

Real sockets on loopback: a listener with one connection waiting in its accept queue and one
accepted pair that moved data; ``tcpscope connections --json`` run as users run it (the
streamed writer), and the reference documents of the same kind of snapshot.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

import pytest

from core.connections.model import TcpState
from core.connections.oneshot import take_snapshot
from core.connections.report.json_docs import connection_doc
from core.connections.unmeasured import LISTENER_NOT_MEASURED, not_measured
from tests.integration.sockets import SocketBag
from tests.test_cli import tcpscope

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tcp_info")

UNMEASURED = (
    "rtt_us", "rttvar_us", "snd_cwnd", "snd_mss", "retransmits", "total_retrans",
    "bytes_acked", "bytes_received", "unacked", "lost", "retrans",
)  # fmt: skip


def _check(rows: list[dict[str, Any]], port: int) -> None:
    listeners = [r for r in rows if r["State"] == 2 and r["LocalPort"] == port]
    assert len(listeners) == 1, rows
    info = listeners[0]["tcpscope"]["tcp_info"]
    for name in UNMEASURED:
        assert info[name] is None, (name, info)
    assert set(info["not_reported"]) == set(UNMEASURED)
    assert info["not_reported"]["rtt_us"] == LISTENER_NOT_MEASURED
    assert info["not_reported"]["snd_cwnd"] == LISTENER_NOT_MEASURED
    assert "accept queue" in info["not_reported"]["unacked"]
    assert (info["recv_q"], info["send_q"]) == (1, 16)  # one waiting, backlog 16: measured
    moved = [
        r
        for r in rows
        if r["State"] == 5 and (r["tcpscope"]["tcp_info"]["bytes_received"] or 0) > 1
    ]
    assert moved, rows
    for row in moved:
        measured = row["tcpscope"]["tcp_info"]
        assert measured["not_reported"] == {}
        assert measured["rtt_us"] > 0 and measured["snd_cwnd"] > 0 and measured["snd_mss"] > 0


def test_a_listeners_tcp_info_is_null_with_the_panes_reason() -> None:
    with SocketBag() as bag:
        listener = bag.listener()
        port = listener.getsockname()[1]
        client, accepted = bag.pair(listener)
        client.sendall(b"x" * 10_000)
        assert accepted.recv(65536)
        accepted.sendall(b"y")
        assert client.recv(1) == b"y"
        bag.keep(socket.create_connection(("127.0.0.1", port)))  # waits in the accept queue
        done = tcpscope("connections", "--json", "--local-port", str(port), "--netns", "current")
        assert done.returncode == 0, done.stderr
        _check(json.loads(done.stdout), port)
        snap = take_snapshot("netlink", tcp_info=True)
        mine = [c for c in snap.connections.values() if c.local_port == port]
        _check([connection_doc(c, snap) for c in mine], port)


def test_only_a_listener_has_unmeasured_fields() -> None:
    assert set(not_measured(TcpState.LISTEN)) == set(UNMEASURED)
    assert not any(not_measured(s) for s in TcpState if s is not TcpState.LISTEN)
    assert not not_measured(None)
