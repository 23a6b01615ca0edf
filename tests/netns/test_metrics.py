"""The exporter over real namespaces: another namespace's series carry its name in the
``netns`` label, the exporter's own namespace's carry an empty one (no label, to Prometheus),
and ``tcpscope_namespaces_read`` counts the namespaces read."""

from __future__ import annotations

import socket
import time

from tests.metrics.exporter import START_TIMEOUT_S, exporter, value
from tests.netns.lab import free_port, listener, needs_netns, netns, unique

pytestmark = needs_netns


def test_series_name_their_namespace() -> None:
    name = unique("mx")
    port = free_port()
    with (
        netns(name),
        listener(name, port),
        socket.create_server(("127.0.0.1", 0)) as own,
        exporter("--no-ipsec", "--interval", "0.3") as running,  # --netns all: the default
    ):
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            samples = running.wait_sampled()
            theirs = [
                s for s in samples if s.name == "tcpscope_connections" and s.labels["netns"] == name
            ]
            if theirs or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        own_port = own.getsockname()[1]
    # Only the listener lives in the other namespace: one Listen series, counted once.
    assert [(s.labels["state"], s.value) for s in theirs] == [("Listen", 1.0)]
    ours = [s for s in samples if s.name == "tcpscope_connections" and s.labels["netns"] == ""]
    assert any(s.labels["state"] == "Listen" for s in ours), own_port
    # Ours and the test's at least (other tests' namespaces may come and go meanwhile).
    assert (value(samples, "tcpscope_namespaces_read") or 0) >= 2
    # Every socket the sample saw is in exactly one series, whichever its namespace.
    total = sum(s.value for s in samples if s.name == "tcpscope_connections")
    assert total == value(samples, "tcpscope_sample_sockets")
