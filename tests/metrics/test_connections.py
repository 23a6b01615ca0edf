"""Connection series from real sockets: the cardinality bound, traffic totals, scrape vs sample.

The host may hold other people's sockets (a shared machine, benchmarks), so the assertions are
about the processes these tests start, or hold whatever else is there.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.samples import Sample

from core.metrics.connections import RESERVED, series_bound
from core.metrics.exposition import Exposition
from core.metrics.listen import ListenAddress
from core.metrics.server import feed_updates, open_endpoint
from core.sampling.sampler import Sampler
from tests.metrics.exporter import OPENMETRICS, START_TIMEOUT_S, Exporter, exporter, value
from tests.metrics.peers import Listener, Peer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink is Linux")

TOP = 3
PEER_CONNECTIONS = (100, 140, 180, 220, 260, 300)
"""Connections per named peer: 1,200 in all, each from its own ephemeral port."""


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def _connections(samples: list[Sample]) -> dict[tuple[str, str], float]:
    return {
        (s.labels["state"], s.labels["process"]): s.value
        for s in samples
        if s.name == "tcpscope_connections"
    }


def test_cardinality_stays_within_the_bound(listener: Listener, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    peers = [Peer(tmp_path, f"c{tag}-{i}", listener.port) for i in range(len(PEER_CONNECTIONS))]
    try:
        for peer, count in zip(peers, PEER_CONNECTIONS, strict=True):
            assert len(peer.do(f"open {count}")) == count
        with exporter("--top", str(TOP), "--no-ipsec", "--interval", "0.5") as running:
            samples = running.wait_sampled(after=time.time())
    finally:
        for peer in peers:
            peer.__exit__(None, None, None)
    series = _connections(samples)
    labels = {process for _, process in series}
    # The documented bound: S x (N + 3) series, N + 3 process labels, whatever the host holds.
    assert len(series) <= series_bound(TOP)
    assert len(labels - set(RESERVED)) <= TOP
    assert "other" in labels
    # Nothing is lost to the bound: every socket the sample saw is in exactly one series.
    assert sum(series.values()) == value(samples, "tcpscope_sample_sockets")
    # Ranking: a name kept as a label has at least as many connections as any of ours folded
    # into "other"; ours that kept their name show their exact count.
    totals = {p: sum(v for (_, q), v in series.items() if q == p) for p in labels}
    folded = [n for peer, n in zip(peers, PEER_CONNECTIONS, strict=True) if peer.name not in labels]
    assert folded, "with --top 3, some of our six names must fold into other"
    for kept in labels - set(RESERVED):
        assert totals[kept] >= max(folded)
    for peer, count in zip(peers, PEER_CONNECTIONS, strict=True):
        if peer.name in labels:
            assert series[("Established", peer.name)] == count


def _wait_value(running: Exporter, name: str, want: float, **labels: str) -> float | None:
    """Scrape until the sample equals ``want`` (acks and samples lag a little) or time is up."""
    deadline = time.monotonic() + START_TIMEOUT_S
    got = None
    while time.monotonic() < deadline:
        got = value(running.samples(), name, **labels)
        if got == want:
            break
        time.sleep(0.1)
    return got


def test_traffic_counts_what_moved_after_start(listener: Listener, tmp_path: Path) -> None:
    with Peer(tmp_path, f"t{secrets.token_hex(3)}", listener.port) as peer:
        (old,) = peer.do("open 1")
        peer.do("send 0 30000")  # before the exporter starts: baseline, not counted
        listener.accepted(old).sendall(b"y" * 4000)
        with exporter("--no-ipsec", "--interval", "0.2") as running:
            running.wait_sampled(after=time.time())
            _, new = peer.do("open 1")  # opened after start: all of its bytes count
            peer.do("send 0 100000")
            peer.do("send 1 7000")
            listener.accepted(old).sendall(b"y" * 20000)
            listener.accepted(new).sendall(b"y" * 500)
            process = {"process": peer.name}
            # Linux counts the SYN of a connection it opened as one acknowledged byte.
            sent = _wait_value(running, "tcpscope_process_bytes_sent_total", 107001, **process)
            received = _wait_value(
                running, "tcpscope_process_bytes_received_total", 20500, **process
            )
            established = value(
                running.samples(), "tcpscope_connections", state="Established", **process
            )
    assert (sent, received, established) == (107001, 20500, 2)


async def test_scrapes_read_the_latest_sample_and_never_take_one() -> None:
    from core.connections.sources import get_source

    sampler = Sampler(get_source("netlink"), interval_s=60.0)
    exposition = Exposition(top=5)
    endpoint = open_endpoint(ListenAddress("127.0.0.1", 0), exposition)
    stop = asyncio.Event()
    task = asyncio.create_task(feed_updates(sampler, exposition.update, stop))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while exposition.collector.updates == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        url = f"http://{endpoint.address}/metrics"
        bodies = [await asyncio.to_thread(_get, url, accept) for accept in ACCEPTS * 10]
        assert sampler.samples_taken == 1
        assert exposition.collector.updates == 1
        assert len(set(bodies)) == len(ACCEPTS)  # each format, the same sample every time
        assert all("tcpscope_connections{" in body for body in bodies)
    finally:
        stop.set()
        await task
        endpoint.close()


ACCEPTS = ("text/plain", OPENMETRICS)


def _get(url: str, accept: str) -> str:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as reply:
        body: bytes = reply.read()
    return body.decode()
