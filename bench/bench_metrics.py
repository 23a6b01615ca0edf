"""Benchmark of ``tcpscope metrics`` scrapes at N sockets, against ``ss -tan`` in the same run.

Why: the issue's target is a scrape that answers in ≤ 100 ms at 50k sockets while the sampler
keeps sampling (every second, every socket's tcp_info, per-process traffic totals). Scrapes read
the families built from the latest sample, so their cost should not grow with N; this measures
it on a real population (:mod:`bench.loadgen`) with a real exporter process:

* the exporter starts (``--interval 1``) and is waited for until a sample shows ≥ N sockets;
* then ``--scrapes`` GETs of ``/metrics`` (text format) and as many with the OpenMetrics
  Accept header, spaced so that they land at every phase of the sampler's second (some while a
  sample is being taken and aggregated), each timed by curl from connect to last byte;
* ``ss -tan`` (output to /dev/null) runs between scrapes, so the ratio compares the same
  population in the same machine state;
* the exporter's own ``tcpscope_sample_duration_seconds`` is read from the last scrape.

Run as root, under the shared lock: ``flock /work/coord/bench.lock python bench/bench_metrics.py``.
It prints a Markdown table (``--json FILE`` for the numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import LoadGen  # noqa: E402

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def _scrape(url: str, accept: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as reply:
        body: bytes = reply.read()
    return (time.perf_counter() - start) * 1000, body


def _timed_scrape(url: str, accept: str) -> float:
    """Milliseconds from connect to last byte as curl measures them (``time_total``): a
    compiled client, like Prometheus', so the client's own CPU time stays out of the figure."""
    done = subprocess.run(
        ["curl", "-sf", "-o", "/dev/null", "-w", "%{time_total}", "-H", f"Accept: {accept}", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return float(done.stdout) * 1000


def _ss_ms() -> float:
    start = time.perf_counter()
    subprocess.run(["ss", "-tan"], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def _gauge(body: bytes, name: str) -> float | None:
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def _start_exporter() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "metrics", "--listen", "127.0.0.1:0", "--interval", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"bench_metrics: exporter did not start: {line!r}")
    return proc, "http://" + line.split("http://", 1)[1].split()[0]


def _wait_for(url: str, sockets: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, body = _scrape(url, "text/plain")
        seen = _gauge(body, "tcpscope_sample_sockets")
        if seen is not None and seen >= sockets:
            return
        time.sleep(0.5)
    raise SystemExit(f"bench_metrics: no sample with {sockets} sockets in {timeout_s} s")


def measure(url: str, scrapes: int) -> dict[str, Any]:
    """Timed scrapes in both formats with ``ss -tan`` runs between them."""
    text_ms: list[float] = []
    om_ms: list[float] = []
    ss_ms: list[float] = []
    for i in range(scrapes):
        text_ms.append(_timed_scrape(url, "text/plain"))
        ss_ms.append(_ss_ms())
        om_ms.append(_timed_scrape(url, OPENMETRICS))
        time.sleep(0.037 * (i % 7))  # drift across the sampler's 1 s cycle
    _, body = _scrape(url, "text/plain")
    both = text_ms + om_ms
    return {
        "scrapes": len(both),
        "text_median_ms": statistics.median(text_ms),
        "openmetrics_median_ms": statistics.median(om_ms),
        "p95_ms": statistics.quantiles(both, n=20)[-1],
        "max_ms": max(both),
        "ss_tan_median_ms": statistics.median(ss_ms),
        "sample_ms": 1000 * (_gauge(body, "tcpscope_sample_duration_seconds") or 0.0),
        "sockets_seen": _gauge(body, "tcpscope_sample_sockets"),
        "body_bytes": len(body),
        "series": sum(1 for line in body.splitlines() if line and not line.startswith(b"#")),
    }


def main(argv: list[str] | None = None) -> int:
    """Grow the load size by size and measure scrapes at each; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,50000", help="socket counts, ascending")
    parser.add_argument("--scrapes", type=int, default=30, help="scrapes per format and size")
    parser.add_argument("--workers", type=int, default=8, help="load processes")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    with LoadGen(args.workers) as load:
        proc, url = _start_exporter()
        try:
            for size in sizes:
                load.grow_to(size)
                _wait_for(url, size)
                row = {"sockets": size, **measure(url, args.scrapes)}
                row["p95_over_ss"] = row["p95_ms"] / row["ss_tan_median_ms"]
                rows.append(row)
                print(f"bench_metrics: {size} sockets done", file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        "| N sockets | seen | series | scrape median ms text / OpenMetrics | scrape p95 ms "
        "| scrape max ms | `ss -tan` ms | **p95 / ss-tan** | sample ms (exporter) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['sockets']:,} | {r['sockets_seen']:,.0f} | {r['series']} "
            f"| {r['text_median_ms']:.1f} / {r['openmetrics_median_ms']:.1f} "
            f"| {r['p95_ms']:.1f} | {r['max_ms']:.1f} | {r['ss_tan_median_ms']:.1f} "
            f"| {r['p95_over_ss']:.3f} | {r['sample_ms']:.0f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
