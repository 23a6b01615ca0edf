"""A real ``tcpscope metrics`` process for tests, and helpers to scrape and parse it.

Why a subprocess: the exporter is a command people run as a service; starting it the same way
tests the argument handling, the HTTP server and the shutdown on SIGTERM together. It listens
on 127.0.0.1 port 0 and reports the port it got on its first stdout line, so parallel runs
never fight over a port.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

ROOT = Path(__file__).resolve().parents[2]
TCPSCOPE = [sys.executable, "-m", "tui"]
START_TIMEOUT_S = 60.0
"""Bound for the first sample: 60 s covers a host where others' benchmarks hold 50k sockets."""
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TEXT = "text/plain; version=0.0.4"


@dataclass
class Exporter:
    """A running exporter."""

    proc: subprocess.Popen[str]
    url: str

    def scrape(self, accept: str = TEXT) -> tuple[str, str]:
        """(content type, body) of one GET /metrics."""
        request = urllib.request.Request(self.url, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.headers["Content-Type"], reply.read().decode()

    def samples(self) -> list[Sample]:
        """Every sample of one text-format scrape."""
        _, body = self.scrape()
        return [s for family in text_string_to_metric_families(body) for s in family.samples]

    def get(self) -> tuple[int, str]:
        """(status, body) of one GET /metrics, whatever the status."""
        try:
            with urllib.request.urlopen(self.url, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_sampled(self, after: float = 0.0) -> list[Sample]:
        """Samples of the first scrape showing a good connection sample (the namespace read)
        taken after ``after`` (Unix time), within :data:`START_TIMEOUT_S` (503 before the
        first sample: tried again)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            status, body = self.get()
            samples = (
                [s for family in text_string_to_metric_families(body) for s in family.samples]
                if status == 200
                else []
            )
            stamp = value(samples, "tcpscope_last_sample_timestamp_seconds")
            good = (value(samples, "tcpscope_namespaces_read") or 0) >= 1
            if good and stamp is not None and stamp > after:
                return samples
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no good sample after {after} within {START_TIMEOUT_S} s")
            time.sleep(0.1)


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    """The value of the one sample called ``name`` with these labels, or None."""
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) <= 1, f"{name}{labels} is ambiguous: {found}"
    return found[0] if found else None


def readline(stream: IO[str], timeout_s: float) -> str:
    """One line from a child's pipe, or "" after ``timeout_s`` (epoll: any fd number)."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        return stream.readline() if sel.select(timeout_s) else ""


@contextmanager
def exporter(
    *args: str, global_args: tuple[str, ...] = (), prefix: tuple[str, ...] = ()
) -> Iterator[Exporter]:
    """``[prefix] tcpscope [global_args] metrics --listen 127.0.0.1:0 [args]``, stopped with
    SIGTERM (``prefix``: e.g. setpriv, to run it as another user)."""
    proc = subprocess.Popen(
        [*prefix, *TCPSCOPE, *global_args, "metrics", "--listen", "127.0.0.1:0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = readline(proc.stdout, START_TIMEOUT_S)
        if "http://" not in line:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"exporter did not start: {line!r} {err!r}")
        url = line.split("http://", 1)[1].split()[0]
        yield Exporter(proc, f"http://{url}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
