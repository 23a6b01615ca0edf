"""The recorder finds changed tcp_info from the dump's digests instead of decoding every socket:
on real loopback sockets, a digest moves exactly when the decoded tcp_info does, and the frames
written that way are the frames written by decoding everything."""

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
from core.recording.frames import FrameEncoder

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


def test_a_digest_moves_exactly_when_the_decoded_tcp_info_does(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=True)
    try:
        first = source.sample(datetime.now(UTC), first=True)
        for pair in pairs[: PAIRS // 2]:
            _talk(pair, 5000)
        second = source.sample(datetime.now(UTC), first=False)
    finally:
        source.close()
    a, b = first.tcp_info, second.tcp_info
    assert isinstance(a, LazyTcpInfo) and isinstance(b, LazyTcpInfo)
    da, db = a.digests(), b.digests()
    assert da is not None and db is not None
    ours = _ours(first, pairs) & _ours(second, pairs)
    assert len(ours) == 2 * PAIRS
    moved = {iid for iid in ours if da[iid] != db[iid]}
    assert {iid for iid in ours if a[iid] != b[iid]} == moved
    # The sockets that carried data moved (bytes_acked / bytes_received), the idle ones did not.
    assert len(moved) == PAIRS
    assert set(da) == set(a) and set(db) == set(b)


def test_frames_from_digests_are_the_frames_from_decoding_everything(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=True)
    samples = []
    try:
        for i in range(4):
            if i:
                for pair in pairs[i::3]:
                    _talk(pair, 1000 * i)
            samples.append(source.sample(datetime.now(UTC), first=i == 0))
    finally:
        source.close()
    with_digests, decoding_all = FrameEncoder(5.0), FrameEncoder(5.0)
    written = 0
    for seq, sample in enumerate(samples, 1):
        snap = _snapshot(seq, sample)
        plain = dataclasses.replace(snap, tcp_info=dict(snap.tcp_info.items()))
        got = with_digests.encode(snap, key=seq == 1)
        want = decoding_all.encode(plain, key=seq == 1)
        assert got == want
        written += len(got.get("ti", {})) + len(got.get("td", b"") or ())
    assert written > 2 * PAIRS  # the key frame and the deltas did carry tcp_info
