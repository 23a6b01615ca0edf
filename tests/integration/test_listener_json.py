"""``connections --json`` says a listener's rtt, cwnd and byte counts are not measured, and a
connection's rtt before anything was acknowledged, as the detail pane does, instead of the
kernel's initial values (rtt 0, cwnd 10, mss 0) that a script would read as measurements.

Real sockets on loopback: a listener with one connection waiting in its accept queue and one
accepted pair that moved data; a client whose SYN a full accept queue drops (SynSent, rtt 0:
``ss`` prints no rtt for it); ``tcpscope connections --json`` run as users run it (the
streamed writer), and the reference documents of the same kind of snapshot.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import astuple, replace
from typing import Any

import pytest

from core.connections.model import TcpInfo, TcpState
from core.connections.oneshot import take_snapshot
from core.connections.report.json_docs import connection_doc
from core.connections.unmeasured import (
    LISTENER_NOT_MEASURED,
    NO_MSS_YET,
    NOTHING_ACKED,
    maybe_unmeasured,
    not_measured,
)
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


MEASURED = TcpInfo(
    rtt_us=180, rttvar_us=90, snd_cwnd=10, snd_mss=65483, retransmits=0, total_retrans=0,
    bytes_acked=1, bytes_received=1, unacked=0, lost=0, retrans=0, recv_q=0, send_q=0,
)  # fmt: skip


def test_a_listener_and_a_connection_with_no_rtt_sample_have_unmeasured_fields() -> None:
    no_rtt = replace(MEASURED, rtt_us=0, rttvar_us=1_000_000)
    assert set(not_measured(TcpState.LISTEN, MEASURED)) == set(UNMEASURED)
    assert not any(not_measured(s, MEASURED) for s in TcpState if s is not TcpState.LISTEN)
    assert not not_measured(None, None) and not not_measured(TcpState.ESTABLISHED, None)
    assert not_measured(TcpState.SYN_SENT, no_rtt) == {
        "rtt_us": NOTHING_ACKED,
        "rttvar_us": NOTHING_ACKED,
    }
    assert not_measured(TcpState.ESTABLISHED, replace(MEASURED, snd_mss=0)) == {
        "snd_mss": NO_MSS_YET
    }


def test_the_writers_bulk_check_finds_the_rows_the_rule_names() -> None:
    """json_writer formats rows as measured and redoes those :func:`maybe_unmeasured` finds:
    it must find every connection :func:`not_measured` names a field of, and no other."""
    infos = [
        MEASURED,
        replace(MEASURED, rtt_us=0),
        replace(MEASURED, snd_mss=0),
        replace(MEASURED, rtt_us=0, snd_mss=0),
        replace(MEASURED, rttvar_us=0, snd_cwnd=0, bytes_acked=0),
    ]
    values = [astuple(info) for info in infos]
    named = [i for i, info in enumerate(infos) if not_measured(TcpState.SYN_SENT, info)]
    assert maybe_unmeasured(values) == named == [1, 2, 3]
    assert maybe_unmeasured([values[0], values[4]]) == []


def _check_syn_sent(rows: list[dict[str, Any]], port: int) -> None:
    syn_sent = [r for r in rows if r["State"] == 3 and r["RemotePort"] == port]
    assert len(syn_sent) == 1, rows
    info = syn_sent[0]["tcpscope"]["tcp_info"]
    assert info["rtt_us"] is None and info["rttvar_us"] is None, info
    assert info["not_reported"] == {"rtt_us": NOTHING_ACKED, "rttvar_us": NOTHING_ACKED}
    assert info["snd_mss"] > 0 and info["snd_cwnd"] > 0  # set at connect(): measured
    assert info["unacked"] == 1 and info["send_q"] == 1  # our SYN, still unacknowledged


def test_an_unanswered_syns_rtt_is_null_with_the_panes_reason() -> None:
    """A SYN a full accept queue drops: the kernel's rtt is 0 (no sample: ss prints none)."""
    with SocketBag() as bag:
        listener = bag.keep(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        bag.keep(socket.create_connection(("127.0.0.1", port)))  # fills the queue
        client = bag.keep(socket.socket())
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))  # its SYN is dropped: SynSent, retried
        done = tcpscope("connections", "--json", "--remote-port", str(port), "--netns", "current")
        assert done.returncode == 0, done.stderr
        _check_syn_sent(json.loads(done.stdout), port)
        snap = take_snapshot("netlink", tcp_info=True)
        mine = [c for c in snap.connections.values() if c.remote_port == port]
        _check_syn_sent([connection_doc(c, snap) for c in mine], port)
