"""The exporter's output as Prometheus reads it: both formats, promtool, the IPsec families.

The demo host reports all 21 MSiSCSI_MMIPSECStats counters, so one exporter over it shows every
IPsec family; its connection data go through the same aggregation as a live host's.
"""

from __future__ import annotations

import gzip
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from core.ipsec.counters import COUNTERS
from core.ipsec.model import COUNTER_FIELDS, Grade, Kind
from tests.metrics.exporter import OPENMETRICS, TEXT, Exporter, exporter


@pytest.fixture(scope="module")
def demo() -> Iterator[Exporter]:
    """One exporter over the demo host, sampled at least once."""
    with exporter("--interval", "0.5", global_args=("--demo",)) as running:
        running.wait_sampled()
        yield running


def test_text_format_passes_promtool(demo: Exporter) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    content_type, body = demo.scrape()
    assert content_type.startswith("text/plain; version=0.0.4")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tcpscope_connections{" in body


def test_openmetrics_by_content_negotiation(demo: Exporter) -> None:
    content_type, body = demo.scrape(OPENMETRICS)
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")
    # The OpenMetrics parser is strict: it rejects what the format does not allow.
    families = {f.name: f for f in openmetrics_families(body)}  # type: ignore[no-untyped-call]
    assert families["tcpscope_connections"].type == "gauge"
    assert families["tcpscope_process_bytes_sent"].type == "counter"
    assert families["tcpscope_ipsec_up"].type == "gauge"


def test_all_21_ipsec_counters_with_their_kinds(demo: Exporter) -> None:
    _, body = demo.scrape()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    kinds = {Kind.TOTAL: 0, Kind.GAUGE: 0}
    for wmi, attr in COUNTER_FIELDS:
        kind = COUNTERS[wmi].kind
        kinds[kind] += 1
        family = families[f"tcpscope_ipsec_{attr}"]
        assert family.type == ("counter" if kind is Kind.TOTAL else "gauge"), wmi
        suffix = "_total" if kind is Kind.TOTAL else ""
        assert [(s.name, s.labels) for s in family.samples] == [
            (f"tcpscope_ipsec_{attr}{suffix}", {"provider": "demo"})
        ]
        assert wmi in family.documentation
    assert kinds == {Kind.TOTAL: 16, Kind.GAUGE: 5}
    assert [s.value for s in families["tcpscope_ipsec_up"].samples] == [1.0]


def test_help_says_what_the_kernel_provider_counts_where_it_is_approximate(demo: Exporter) -> None:
    # One HELP per family, whichever providers report it: the seed's text alone would tell a
    # reader of send_failures{provider="kernel"} it counts IKE send failures, not every UDP one.
    _, body = demo.scrape()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    send = families["tcpscope_ipsec_send_failures"].documentation
    assert "failed when sending IKE messages" in send  # the seed's meaning stays
    assert "kernel provider's value is approximate" in send
    assert "SndbufErrors" in send and "any UDP socket" in send
    for wmi, attr in COUNTER_FIELDS:
        documentation = families[f"tcpscope_ipsec_{attr}"].documentation
        approx = COUNTERS[wmi].kernel.grade is Grade.APPROX
        assert ("kernel provider's value is approximate" in documentation) == approx, wmi


def test_ipsec_help_describes_the_metric_without_privilege_notes(demo: Exporter) -> None:
    """HELP of acquire_heap_size said "...; needs CAP_NET_ADMIN" to every reader, root or
    not: a static HELP cannot know whether a privilege is missing (the reason of a counter
    not reported says so where it is)."""
    _, body = demo.scrape()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    heap = families["tcpscope_ipsec_acquire_heap_size"].documentation
    assert "kernel provider's value is approximate" in heap and "larval" in heap
    for name, family in families.items():
        if name.startswith("tcpscope_ipsec_"):
            assert "CAP_" not in family.documentation, name
            assert "needs" not in family.documentation, name


def test_self_metrics_describe_the_last_sample(demo: Exporter) -> None:
    _, body = demo.scrape()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    (sockets,) = families["tcpscope_sample_sockets"].samples
    connections = sum(s.value for s in families["tcpscope_connections"].samples)
    assert sockets.value == connections > 0
    assert families["tcpscope_namespaces_read"].samples[0].value == 1
    assert families["tcpscope_namespaces_failed"].samples[0].value == 0
    assert families["tcpscope_sample_duration_seconds"].samples[0].value >= 0
    assert families["tcpscope_last_sample_timestamp_seconds"].samples[0].value > 0


def test_the_demo_last_sample_time_is_on_the_real_clock(demo: Exporter) -> None:
    # The demo's rows carry its made-up clock (core.demo.feed.DEMO_START); served as the last
    # sample's Unix time it was months old, so the README's stuck-sampler alert
    # `time() - tcpscope_last_sample_timestamp_seconds > 60` fired for ever against --demo.
    before = time.time()
    samples = demo.wait_sampled(after=before)
    stamp = next(s.value for s in samples if s.name == "tcpscope_last_sample_timestamp_seconds")
    assert before < stamp <= time.time()


def test_sigterm_stops_it_cleanly() -> None:
    with exporter(global_args=("--demo", "--no-ipsec")) as running:
        running.wait_sampled()
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(timeout=30) == 0
        _, err = running.proc.communicate(timeout=10)
        assert err == ""


def test_gzip_and_name_filters_as_prometheus_client_serves_them(demo: Exporter) -> None:
    request = urllib.request.Request(demo.url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(reply.read()).decode()
    assert "tcpscope_ipsec_up{" in body
    url = f"{demo.url}?name[]=tcpscope_ipsec_up"
    with urllib.request.urlopen(url, timeout=10) as reply:
        filtered = reply.read().decode()
    names = {f.name for f in text_string_to_metric_families(filtered)}
    assert names == {"tcpscope_ipsec_up"}


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("GZIP;Q=0.5, identity;q=0.1", True),
        ("deflate, *", True),  # any coding not named: gzip among them
        ("x-gzip", True),  # RFC 9110 12.5.3: the same coding as gzip
        ("gzip;q=0", False),  # named, and not acceptable
        ("gzip; q=0.000", False),
        ("*;q=0, identity", False),
        ("*, gzip;q=0", False),  # the named coding wins over *
        ("identity", False),
        ("gzip;q=0.2, identity;q=0.8", False),  # identity preferred
        ("br", False),
        ("", False),
    ],
)
@pytest.mark.parametrize("target", ["", "?name[]=tcpscope_ipsec_up"])
def test_gzip_only_when_the_client_accepts_it(
    demo: Exporter, accept_encoding: str, gzipped: bool, target: str
) -> None:
    """prometheus_client gzips when "gzip" is anywhere in Accept-Encoding, so ``gzip;q=0``
    (gzip is not acceptable) got gzip. The header is weighed per RFC 9110: q=0 refuses a
    coding, ``*`` stands for the codings not named, identity may be preferred."""
    request = urllib.request.Request(
        demo.url + target, headers={"Accept-Encoding": accept_encoding}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        encoding = reply.headers["Content-Encoding"]
        raw = reply.read()
    body = (gzip.decompress(raw) if gzipped else raw).decode()
    assert encoding == ("gzip" if gzipped else None)
    assert "tcpscope_ipsec_up{" in body


def _raw(
    demo: Exporter, method: str, target: str, accept: str
) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers, body) of one request on a plain socket: every byte the server
    sent, so a body sent to a HEAD request would show (an HTTP client would not read it)."""
    host, port = demo.url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"{method} {target} HTTP/1.0\r\nAccept: {accept}\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("target", ["/metrics", "/metrics?name[]=tcpscope_ipsec_up"])
@pytest.mark.parametrize("accept", [TEXT, OPENMETRICS])
def test_head_answers_as_get_does_without_a_body(demo: Exporter, target: str, accept: str) -> None:
    # Load balancers and uptime checks probe with HEAD; prometheus_client's app answers 405.
    status, headers, body = _raw(demo, "HEAD", target, accept)
    get_status, get_headers, get_body = _raw(demo, "GET", target, accept)
    assert status.split()[1] == get_status.split()[1] == "200", status
    assert body == b""
    assert headers["content-type"] == get_headers["content-type"]
    assert int(headers["content-length"]) > 0 and len(get_body) > 0


def test_options_lists_head(demo: Exporter) -> None:
    status, headers, body = _raw(demo, "OPTIONS", "/metrics", TEXT)
    assert status.split()[1] == "200"
    assert set(headers["allow"].split(",")) == {"OPTIONS", "GET", "HEAD"}
    assert body == b""
