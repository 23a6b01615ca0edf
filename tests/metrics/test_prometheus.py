"""A real Prometheus scrapes a real ``tcpscope metrics`` and answers queries about it.

Prometheus (Debian package ``prometheus``) runs with a throwaway storage directory on a free
loopback port, scraping every second; it asks for OpenMetrics first, so this also covers the
content negotiation as Prometheus does it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.metrics.exporter import START_TIMEOUT_S, exporter

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus not installed (Debian package prometheus)"
)

_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tcpscope
    static_configs:
      - targets: ["{target}"]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Starts Prometheus for a target; yields a function that does so and returns its URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        assert PROMETHEUS is not None
        config = tmp_path / "prometheus.yml"
        config.write_text(_CONFIG.format(target=target))
        port = _free_port()
        started.append(
            subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _query(base: str, promql: str) -> float | None:
    """The single value of an instant query, or None (no result yet, Prometheus not up)."""
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            answer = json.load(reply)
    except OSError:
        return None
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_listeners_and_up(prometheus_for: Callable[[str], str]) -> None:
    with socket.socket() as listening, exporter("--no-ipsec", "--interval", "0.5") as running:
        listening.bind(("127.0.0.1", 0))
        listening.listen()  # at least this one Listen connection exists
        running.wait_sampled(after=time.time())
        target = running.url.removeprefix("http://").removesuffix("/metrics")
        base = prometheus_for(target)
        listen = up = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            up = _query(base, 'up{job="tcpscope"}')
            listen = _query(base, 'sum(tcpscope_connections{state="Listen"})')
            if up == 1 and listen is not None and listen >= 1:
                break
            time.sleep(0.5)
        assert up == 1
        assert listen is not None and listen >= 1
        assert (_query(base, 'scrape_samples_scraped{job="tcpscope"}') or 0) > 0
