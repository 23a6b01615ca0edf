"""Before its first sample the exporter has nothing to serve: /metrics says so (503).

Why not 200 with no series: Prometheus then saw the target up, with every series absent, so an
``absent(...)`` alert fired at each restart while the stuck-sampler alert (on the last
sample's time) could not; a 503 makes ``up`` 0 until there are figures.
"""

from __future__ import annotations

from tests.metrics.exporter import exporter, value
from tests.metrics.slow_sample import fd_hoarders


def test_metrics_answers_503_until_the_first_sample_then_200() -> None:
    with fd_hoarders(), exporter("--no-ipsec") as running:
        status, body = running.get()  # the first sample reads 500k fds: seconds
        assert (status, body) == (503, "no sample yet\n")
        samples = running.wait_sampled()
        assert value(samples, "tcpscope_last_sample_timestamp_seconds") is not None
        status, body = running.get()
        assert status == 200 and "tcpscope_connections{" in body
