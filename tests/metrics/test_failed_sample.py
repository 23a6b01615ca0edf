"""A failed connection sample (a netlink error, a hung source) as the exporter serves it.

Why: the sampler hands on the last good rows with the error (the app shows them as stale). The
exporter used to serve them as the host's connections now, with ``tcpscope_sample_sockets 0``
and a fresh ``tcpscope_last_sample_timestamp_seconds``, so nothing said the source was down.
Real sampler, a scripted source whose second call raises.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.connections.model import TcpState
from core.connections.snapshot import Snapshot
from core.connections.sources.scripted import (
    Frame,
    ScriptedConn,
    ScriptedFrame,
    ScriptedSource,
    StepClock,
)
from core.metrics.collector import SnapshotCollector
from core.sampling.sampler import Sampler

START = datetime(2026, 1, 1, tzinfo=UTC)
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _frame(*ports: int) -> ScriptedFrame:
    return ScriptedFrame(
        [ScriptedConn("192.0.2.1", 443, "198.51.100.7", p, TcpState.ESTABLISHED) for p in ports]
    )


async def _snapshots(frames: list[Frame]) -> list[Snapshot]:
    sampler = Sampler(ScriptedSource(frames), interval_s=0.1, clock=StepClock(START))
    out: list[Snapshot] = []
    async for snap in sampler.stream():
        out.append(snap)
        if len(out) == len(frames):
            break
    await sampler.aclose()
    return out


def _series(collector: SnapshotCollector, snap: Snapshot) -> Series:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in collector.update(snap)
        for s in family.samples
    }


def _names(series: Series) -> set[str]:
    return {name for name, _ in series}


async def test_a_failed_sample_serves_no_stale_figures() -> None:
    ok, failed, back = await _snapshots(
        [_frame(1, 2), RuntimeError("netlink said no"), _frame(1, 2, 3)]
    )
    assert failed.error is not None and failed.stale  # the sampler keeps the old rows
    arrivals = iter([1_800_000_000.0, 1_800_000_015.0])  # the exporter's real clock
    collector = SnapshotCollector(top=5, clock=lambda: next(arrivals))
    before, during, after = (_series(collector, snap) for snap in (ok, failed, back))

    assert before[("tcpscope_source_up", ())] == 1
    assert before[("tcpscope_sample_sockets", ())] == 2
    stamp = before[("tcpscope_last_sample_timestamp_seconds", ())]
    assert stamp == 1_800_000_000.0  # when the exporter got it (not read for a failed one)

    assert during[("tcpscope_source_up", ())] == 0
    assert during[("tcpscope_namespaces_read", ())] == 0
    assert during[("tcpscope_namespaces_failed", ())] == 1
    gone = {
        "tcpscope_connections",
        "tcpscope_connections_without_tcp_info",
        "tcpscope_sample_sockets",
        "tcpscope_sample_duration_seconds",
    }
    assert not _names(during) & gone
    # The last *good* sample's time: `time() - tcpscope_last_sample_timestamp_seconds` grows.
    assert during[("tcpscope_last_sample_timestamp_seconds", ())] == stamp

    assert after[("tcpscope_source_up", ())] == 1
    assert after[("tcpscope_sample_sockets", ())] == 3
    assert after[("tcpscope_last_sample_timestamp_seconds", ())] == 1_800_000_015.0
    assert sum(v for (n, _), v in after.items() if n == "tcpscope_connections") == 3
