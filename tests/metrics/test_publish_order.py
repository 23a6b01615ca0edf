"""Connection samples and IPsec views publish their families in the order they were built.

Why: both arrive on worker threads; each set was built under the collector's lock and
published after it. A set built before a newer one but published after it made the served
counters go back (Prometheus reads that as a reset). The interleaving is forced with events:
the first set's publish waits until the second one's is done (or a second has passed, which is
what an ordered publisher makes it do). Real exporter pieces: the collector, the forked HTTP
process and a scrape.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from typing import Final

from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from core.commands.metrics import _Publisher
from core.connections.model import TcpState
from core.connections.snapshot import Snapshot
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource
from core.ipsec.counters import COUNTERS, source_for
from core.ipsec.model import COUNTER_FIELDS, Grade, IpsecView, Kind, ProviderReading
from core.ipsec.providers.base import make_reading
from core.ipsec.sampling import IpsecSampler
from core.metrics import ServingProcess, SnapshotCollector, bind_listener, parse_listen
from core.sampling.sampler import Sampler

WMI, ATTR = next(
    (w, a)
    for w, a in COUNTER_FIELDS
    if COUNTERS[w].kind is Kind.TOTAL and source_for(w, "kernel", None).grade is not Grade.NONE
)
SERIES: Final = f"tcpscope_ipsec_{ATTR}_total"
PAUSE_S: Final = 1.0


class _Counting:
    """An IPsec provider whose total is whatever the test sets."""

    name = "kernel"

    def __init__(self) -> None:
        self.total = 0

    def read(self) -> ProviderReading:
        return make_reading(self.name, self.name, {WMI: self.total})

    def close(self) -> None:
        pass


def _total(families: tuple[Metric, ...]) -> float | None:
    found = [s.value for f in families for s in f.samples if s.name == SERIES]
    return found[0] if found else None


class _Gated(ServingProcess):
    """The real endpoint; a publish from the thread called ``older`` says its set is built
    and waits for ``newer_done``."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.older_built = threading.Event()
        self.newer_done = threading.Event()
        self.sent: list[float | None] = []

    def publish(self, families: tuple[Metric, ...]) -> None:
        if threading.current_thread().name == "older":
            self.older_built.set()
            self.newer_done.wait(PAUSE_S)
        super().publish(families)
        self.sent.append(_total(families))
        if threading.current_thread().name == "newer":
            self.newer_done.set()


async def _snapshots(count: int) -> list[Snapshot]:
    frame = ScriptedFrame([ScriptedConn("192.0.2.1", 443, "198.51.100.7", 1, TcpState.LISTEN)])
    sampler = Sampler(ScriptedSource([frame] * count), interval_s=0.1)
    out: list[Snapshot] = []
    async for snap in sampler.stream():
        out.append(snap)
        if len(out) == count:
            break
    await sampler.aclose()
    return out


def _views(provider: _Counting, totals: list[int]) -> list[IpsecView]:
    sampler = IpsecSampler([provider], interval_s=1.0)
    out = []
    for total in totals:
        provider.total = total
        out.append(sampler.sample())
    return out


def _served(url: str) -> float | None:
    with urllib.request.urlopen(url, timeout=10) as reply:
        body = reply.read().decode()
    samples = [s for f in text_string_to_metric_families(body) for s in f.samples]
    found = [s.value for s in samples if s.name == SERIES]
    return found[0] if found else None


def test_an_older_family_set_is_never_published_after_a_newer_one() -> None:
    first, second = asyncio.run(_snapshots(2))
    five, seven = _views(_Counting(), [5, 7])
    endpoint = _Gated(bind_listener(parse_listen("127.0.0.1:0")))
    try:
        publisher = _Publisher(SnapshotCollector(top=5), endpoint)
        publisher.snapshot(first)
        publisher.ipsec(five)
        # "older" builds its set (IPsec total 5) and stops before publishing it; "newer" then
        # builds one with total 7.
        older = threading.Thread(target=publisher.snapshot, args=(second,), name="older")
        older.start()
        assert endpoint.older_built.wait(10)
        deadline = time.monotonic() + 10
        newer = threading.Thread(target=publisher.ipsec, args=(seven,), name="newer")
        newer.start()
        older.join(10)
        newer.join(10)
        assert time.monotonic() < deadline
        assert endpoint.sent == [None, 5, 5, 7]  # the first sample had no IPsec view yet
        url = f"http://{endpoint.address}/metrics"
        while _served(url) != 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _served(url) == 7
    finally:
        endpoint.close()
