"""Connection series from real sockets: the cardinality bound, traffic totals, scrape vs sample.

The host may hold other people's sockets (a shared machine, benchmarks), so the assertions are
about the processes these tests start, or hold whatever else is there.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from core.connections.model import ProcessInfo
from core.metrics.connections import NAMELESS, RESERVED, process_label, series_bound
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


def _connections(samples: list[Sample]) -> dict[tuple[str, str, str], float]:
    """(state, process, netns) → value ("" for the exporter's own namespace: other tests'
    namespaces may hold sockets meanwhile, and --netns all reads them too)."""
    return {
        (s.labels["state"], s.labels["process"], s.labels["netns"]): s.value
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
    labels = {process for _, process, _ in series}
    # The documented bound: S x (N + 4) series a namespace, N + 4 process labels, whatever the
    # host holds.
    for netns in {ns for _, _, ns in series}:
        assert sum(1 for key in series if key[2] == netns) <= series_bound(TOP)
    assert len(labels - set(RESERVED)) <= TOP
    assert "other" in labels
    # Nothing is lost to the bound: every socket the sample saw is in exactly one series.
    assert sum(series.values()) == value(samples, "tcpscope_sample_sockets")
    # Ranking: a name kept as a label has at least as many connections as any of ours folded
    # into "other"; ours that kept their name show their exact count.
    totals = {p: sum(v for (_, q, _), v in series.items() if q == p) for p in labels}
    folded = [n for peer, n in zip(peers, PEER_CONNECTIONS, strict=True) if peer.name not in labels]
    assert folded, "with --top 3, some of our six names must fold into other"
    for kept in labels - set(RESERVED):
        assert totals[kept] >= max(folded)
    for peer, count in zip(peers, PEER_CONNECTIONS, strict=True):
        if peer.name in labels:
            assert series[("Established", peer.name, "")] == count


def test_a_process_named_like_an_escaped_label_keeps_its_own_series(
    listener: Listener, tmp_path: Path
) -> None:
    """A process called ``other`` is labelled ``other (process)`` (``other`` is the bucket of
    the processes beyond --top); one called ``other (process)`` (15 bytes, a comm the kernel
    keeps whole) got that same label, and the two processes' connections were summed into
    one series. Each real name now has a label of its own, and none is a bucket's."""
    counts = {"other": 40, "other (process)": 41, "unknown (process)": 42}
    peers = []
    try:
        for i, (name, count) in enumerate(counts.items()):
            (tmp_path / str(i)).mkdir()
            peers.append(Peer(tmp_path / str(i), name, listener.port))
            assert len(peers[-1].do(f"open {count}")) == count
        with exporter("--top", "500", "--no-ipsec", "--interval", "0.5") as running:
            samples = running.wait_sampled(after=time.time())
    finally:
        for peer in peers:
            peer.__exit__(None, None, None)
    ours = {
        process: count
        for (state, process, netns), count in _connections(samples).items()
        if state == "Established" and netns == "" and process.startswith(("other", "unknown ("))
    }
    assert ours.get("other (process)") == counts["other"], ours
    assert ours.get("other (process) (process)") == counts["other (process)"], ours
    assert ours.get("unknown (process) (process)") == counts["unknown (process)"], ours


def test_a_process_without_a_name_is_not_unknown(listener: Listener, tmp_path: Path) -> None:
    # A process whose comm is empty (prctl PR_SET_NAME "") has a known owner: it used to be
    # process="unknown", summed with the sockets whose owner could not be established.
    with Peer(tmp_path, f"n{secrets.token_hex(3)}", listener.port) as peer:
        peer.do("open 3")
        peer.do("unname")
        assert Path(f"/proc/{peer.proc.pid}/comm").read_text() == "\n"
        # --top 0: every named process is "other"; a nameless one keeps its reserved label.
        with exporter("--top", "0", "--no-ipsec", "--interval", "0.5") as running:
            series = _connections(running.wait_sampled(after=time.time()))
    assert series.get(("Established", NAMELESS, ""), 0) >= 3
    assert ("Established", peer.name, "") not in series


def test_a_process_named_like_the_nameless_label_is_told_apart() -> None:
    info = ProcessInfo(1, NAMELESS, "root", None, None, None)
    assert process_label(info) == f"{NAMELESS} (process)"
    assert NAMELESS in RESERVED


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


def test_scrapes_read_the_latest_sample_and_never_take_one() -> None:
    # At --interval 60 the sampler takes its first sample and then waits a minute: any sample
    # a scrape triggered would show as a new timestamp (and new figures) in the bodies.
    with exporter("--interval", "60", "--no-ipsec") as running:
        first = running.wait_sampled()
        stamp = value(first, "tcpscope_last_sample_timestamp_seconds")
        bodies = [running.scrape(accept)[1] for accept in ("text/plain", OPENMETRICS) * 10]
    assert len(set(bodies)) == 2  # each format, the same sample every time
    again = [s for f in text_string_to_metric_families(bodies[0]) for s in f.samples]
    assert value(again, "tcpscope_last_sample_timestamp_seconds") == stamp
