"""The recorder finds changed tcp_info from the dump's digests instead of decoding every socket:
on real loopback sockets, a socket is reported moved exactly when its decoded tcp_info changed,
one whose tcp_info left the dump is reported gone, and the frames written that way are the
frames written by decoding everything, also when the recorder misses a sample."""

from __future__ import annotations

import dataclasses
import socket
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest

from core.connections.snapshot import ConnectionDiff, SampleStats, Snapshot
from core.connections.sources.base import SourceSample
from core.connections.tcpinfo import LazyTcpInfo
from core.recording.frame_encoder import FrameEncoder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink source")

PAIRS = 12


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    """Connected loopback pairs on one listener (client, accepted server side)."""
    with ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(PAIRS)
        port = listener.getsockname()[1]
        out = []
        for _ in range(PAIRS):
            client = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            server = stack.enter_context(listener.accept()[0])
            out.append((client, server))
        yield out


def _talk(pair: tuple[socket.socket, socket.socket], size: int) -> None:
    client, server = pair
    client.sendall(b"x" * size)
    got = 0
    while got < size:
        got += len(server.recv(65536))


def _ours(sample: SourceSample, pairs: list[tuple[socket.socket, socket.socket]]) -> set[str]:
    ports = {s.getsockname()[1] for pair in pairs for s in pair}
    return {
        iid
        for iid, conn in sample.connections.items()
        if conn.local_port in ports and conn.remote_port in ports
    }


def _snapshot(seq: int, sample: SourceSample) -> Snapshot:
    now = datetime.now(UTC)
    return Snapshot(
        seq=seq,
        time=now,
        started_at=now,
        source="netlink",
        interval_s=1.0,
        connections=sample.connections,
        diff=ConnectionDiff(),
        tcp_info=sample.tcp_info,
        processes=sample.processes,
        privilege=sample.privilege,
        stats=SampleStats(0.0, len(sample.connections), 0),
    )


def test_a_socket_moves_exactly_when_its_decoded_tcp_info_does(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=True)
    try:
        first = source.sample(datetime.now(UTC), first=True)
        for pair in pairs[: PAIRS // 2]:
            _talk(pair, 5000)
        second = source.sample(datetime.now(UTC), first=False)
        ours = _ours(first, pairs) & _ours(second, pairs)
        client, server = pairs[-1]
        client.close()
        server.close()  # the client's side becomes a TIME_WAIT: a connection without tcp_info
        third = source.sample(datetime.now(UTC), first=False)
    finally:
        source.close()
    a, b, c = first.tcp_info, second.tcp_info, third.tcp_info
    assert isinstance(a, LazyTcpInfo) and isinstance(b, LazyTcpInfo) and isinstance(c, LazyTcpInfo)
    ca = a.changes(None)
    assert ca.complete and ca.moved == dict(a.items())
    cb = b.changes(ca.trail)
    assert not cb.complete
    assert len(ours) == 2 * PAIRS
    moved = set(cb.moved) & ours
    assert {iid for iid in ours if a[iid] != b[iid]} == moved
    assert all(cb.moved[iid] == b[iid] for iid in cb.moved)
    # The sockets that carried data moved (bytes_acked / bytes_received), the idle ones did not.
    assert len(moved) == PAIRS
    cc = c.changes(cb.trail)
    closed = {iid for iid in ours if third.connections.get(iid) is None or iid not in c}
    assert len(closed) == 2  # both ends of the closed pair
    assert closed <= set(cc.gone)
    assert set(cc.gone) <= set(b) and not set(cc.gone) & set(c)
    assert any(iid in third.connections for iid in closed)  # the TIME_WAIT side stays
    assert cc.trail.order is not None and cb.trail.order is None  # a trail is used once


def test_frames_from_digests_are_the_frames_from_decoding_everything(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=True)
    samples = []
    try:
        for i in range(6):
            if i:
                for pair in pairs[i::3]:
                    _talk(pair, 1000 * i)
            if i == 3:  # a pair closes: one side goes, the other stays as a TIME_WAIT
                for s in pairs.pop():
                    s.close()
            samples.append(source.sample(datetime.now(UTC), first=i == 0))
    finally:
        source.close()
    with_digests, decoding_all = FrameEncoder(5.0), FrameEncoder(5.0)
    written = gone = 0
    del samples[4]  # a sample the recorder never saw: the trail is rebuilt, not trusted
    for seq, sample in enumerate(samples, 1):
        snap = _snapshot(seq, sample)
        plain = dataclasses.replace(snap, tcp_info=dict(snap.tcp_info.items()))
        got = with_digests.encode(snap, key=seq == 1)
        want = decoding_all.encode(plain, key=seq == 1)
        assert got == want
        written += len(got.get("ti", {})) + len(got.get("td", b"") or ())
        gone += len(got.get("tr", ()))
    assert written > 2 * PAIRS  # the key frame and the deltas did carry tcp_info
    assert gone >= 1  # the TIME_WAIT side's tcp_info went while its connection stayed


def _real_messages(ports: set[int]) -> list[bytes]:
    """The kernel's own messages for the sockets on ``ports`` (local side), each padded as
    in a reply, from one real dump of IPv4."""
    from core.connections.sources.inet_diag import InetDiagDumper, offsets, sockets_end

    dumper = InetDiagDumper(tcp_info=True)
    try:
        found = []
        for chunk in dumper.chunks(socket.AF_INET):
            end = sockets_end(chunk, socket.AF_INET)
            for off in offsets(chunk, end):
                length = int.from_bytes(chunk[off : off + 4], sys.byteorder)
                sport = int.from_bytes(chunk[off + 20 : off + 22], "big")
                if sport in ports:
                    found.append(chunk[off : off + ((length + 3) & ~3)])
            if end < len(chunk):
                dumper.finish(chunk, end)
    finally:
        dumper.close()
    return found


def test_runs_of_like_messages_give_the_keys_and_digests_read_one_by_one(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    """A reply is read a run of same-shaped messages at a time; a message of another shape
    (a listener, a TIME_WAIT without tcp_info) anywhere in a run ends it there, and every
    key, digest and offset is the one the message-by-message walk gives, with digests or
    without, from a walker that knows no shape yet and from one that learned them."""
    from core.connections.sources import info_digest
    from core.connections.sources.inet_diag import SOCKET_KEY, reply_type
    from core.connections.sources.reply_walk import BLOCK, ReplyWalker

    # A TIME_WAIT on the same ports: the client closes first.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    server = listener.accept()[0]
    ports = {s.getsockname()[1] for pair in pairs for s in pair}
    ports |= {listener.getsockname()[1], client.getsockname()[1]}
    client.close()
    server.close()
    try:
        messages = _real_messages(ports)
    finally:
        listener.close()
    lengths = {len(m) for m in messages}
    assert len(messages) >= 2 * PAIRS + 1 and len(lengths) >= 2, lengths
    sizes = [len(m) for m in messages]
    common = max(lengths, key=sizes.count)  # the pairs' sockets, with tcp_info
    odd = [m for m in messages if len(m) != common]
    like = [m for m in messages if len(m) == common]
    # Odd ones at the start, in the middle of a run, and last: every way a run can end; and
    # a run long enough to be cut out in several blocks (the same sockets again: a walk does
    # not care).
    arranged = [odd[0], *like[:5], *odd, *(like[5:] * 12), odd[-1]]
    chunk = b"".join(arranged)
    want_keys, want_digests, want_offsets = [], [], []
    off = 0
    for m in arranged:
        _length, _type, head, sockid, owner = SOCKET_KEY.unpack_from(chunk, off)
        want_keys.append(head + sockid + owner)
        d = info_digest.slow_digest(chunk, off)
        if d is not None:
            want_digests.append(d)
            want_offsets.append(off)
        off += len(m)
    want = reply_type(socket.AF_INET)
    for digesting in (True, False):
        walker = ReplyWalker(digests=digesting)
        for _fresh_then_learned in range(2):
            keys, digests, end = walker.walk(want, chunk)
            assert end == len(chunk)
            assert keys == want_keys
            if digesting:
                assert digests is not None
                assert digests[0] == want_digests
                assert digests[1] == want_offsets
            else:
                assert digests is None
    assert len(want_digests) >= 3 * BLOCK
    # A reply that ends with NLMSG_DONE: the walk stops where the sockets end.
    done = (20).to_bytes(4, sys.byteorder) + (3).to_bytes(2, sys.byteorder) + bytes(14)
    keys, _digests, end = ReplyWalker(digests=False).walk(want, chunk + done)
    assert (keys, end) == (want_keys, len(chunk))
