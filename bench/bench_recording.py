"""Recording bench: file size for 1 hour at 1 s with 1k stable connections, write and seek speed.

Why: the issue's target is ≤ 5 MB for that hour; the format (key frames + deltas in independent
gzip members, see core/recording/format.py) is chosen for it and this script measures it. The
clock is simulated (StepClock), so an hour takes a minute, not an hour; everything else is the
real code: the Sampler over a ScriptedSource, the demo IPsec provider behind the real IPsec
sampler (21 counters and an SA list every sample), the RecordingWriter, the Recording reader.

Cases (1k ESTABLISHED connections, none opened or closed):

* ``idle``: tcp_info of every connection constant;
* ``10% busy``: 100 connections' tcp_info (bytes, rtt, cwnd) changes every second;
* ``all busy``: every connection's tcp_info changes every second (worst case);
* ``churn``: as ``10% busy`` plus 2 connections replaced per second.

Prints a Markdown table: file size, bytes per sample, write cost per sample (encode + compress,
excluding sampling), open time (full validating pass), random-seek and step-back times.
Usage: ``python bench/bench_recording.py [--samples 3600] [--connections 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.connections.model import OwnerStatus, ProcessInfo, TcpInfo, TcpState
from core.connections.snapshot import Snapshot
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.demo.feed import DEMO_START
from core.demo.ipsec import DemoIpsecProvider
from core.ipsec.sampling import IpsecSampler
from core.recording.format import FORMAT_VERSION, RecordingHeader
from core.recording.reader import Recording
from core.recording.writer import RecordingWriter
from core.sampling.sampler import Sampler


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    busy_fraction: float
    churn_per_s: int


CASES = (
    Case("idle", 0.0, 0),
    Case("10% busy", 0.1, 0),
    Case("all busy", 1.0, 0),
    Case("churn", 0.1, 2),
)
PROCS = {
    pid: ProcessInfo(pid, f"svc{pid}", "svc", (f"/usr/bin/svc{pid}", "--serve"), None, 1.7e9)
    for pid in range(100, 120)
}


def frames(case: Case, connections: int):  # type: ignore[no-untyped-def]
    """Frame function: ``connections`` stable rows (plus churn), tcp_info per the case."""
    busy = int(connections * case.busy_fraction)

    state: dict[int, list[int]] = {}

    def frame(i: int) -> ScriptedFrame:
        rows = []
        first = i * case.churn_per_s
        noise = random.Random(i)  # seeded: the same file every run, but not regular
        for n in range(first, first + connections):
            moving = (n - first) < busy
            acked, received, rtt, cwnd = state.setdefault(
                n, [1_000_000 + n * 1000, 50_000 + n * 10, 900 + n % 400, 10]
            )
            if moving:
                # A busy connection: bytes flow unevenly, rtt jitters, cwnd walks.
                acked += noise.randint(0, 64_000)
                received += noise.randint(0, 4_000)
                rtt = max(100, rtt + noise.randint(-60, 60))
                cwnd = max(2, min(200, cwnd + noise.choice((-1, 0, 1, 1))))
                state[n] = [acked, received, rtt, cwnd]
            info = TcpInfo(
                rtt_us=rtt,
                rttvar_us=rtt // 4,
                snd_cwnd=cwnd,
                snd_mss=1448,
                retransmits=0,
                total_retrans=n % 3,
                bytes_acked=acked,
                bytes_received=received,
                unacked=noise.randint(0, 4) if moving else 0,
                lost=0,
                retrans=0,
            )
            rows.append(
                ScriptedConn(
                    f"198.51.100.{1 + n % 250}",
                    443,
                    f"203.0.113.{1 + (n // 250) % 250}",
                    10_000 + n % 50_000,
                    TcpState.ESTABLISHED,
                    pid=100 + n % 20,
                    owner_status=OwnerStatus.FOUND,
                    offload_state=0,
                    applied_setting=0,
                    tcp_info=info,
                )
            )
        return ScriptedFrame(rows, PROCS)

    return frame


async def record(case: Case, path: Path, samples: int, connections: int) -> tuple[float, float]:
    """Write the recording; returns (write seconds, sampling seconds)."""
    clock = StepClock(DEMO_START, 1.0)
    ipsec = IpsecSampler([DemoIpsecProvider(1)], interval_s=1.0, history_s=600.0)
    sampler = Sampler(ScriptedSource(frames(case, connections), name="bench"), clock=clock)
    write_s = sample_s = 0.0
    with path.open("wb") as out:
        writer = RecordingWriter(out, lambda s: header(s), clock=lambda: 0.0)
        for _ in range(samples):
            t0 = time.perf_counter()
            snap = await sampler.sample_once()
            snap = dataclasses.replace(snap, ipsec=ipsec.sample())
            t1 = time.perf_counter()
            writer.write(snap)
            write_s += time.perf_counter() - t1
            sample_s += t1 - t0
        t1 = time.perf_counter()
        writer.close()
        write_s += time.perf_counter() - t1
    await sampler.aclose()
    return write_s, sample_s


def header(snap: Snapshot) -> RecordingHeader:
    return RecordingHeader(
        FORMAT_VERSION,
        "bench",
        "bench-host",
        "bench",
        snap.source,
        ("demo",),
        snap.interval_s,
        5.0,
        snap.started_at,
    )


def replay_times(path: Path) -> tuple[float, float, float, float]:
    """(open s, median random seek ms, max random seek ms, median step-back ms)."""
    t0 = time.perf_counter()
    rec = Recording(path)
    open_s = time.perf_counter() - t0
    rng = random.Random(1)
    seeks = []
    for _ in range(30):
        i = rng.randrange(len(rec))
        t0 = time.perf_counter()
        rec.snapshot(i)
        seeks.append((time.perf_counter() - t0) * 1000)
    steps = []
    i = len(rec) - 1
    rec.snapshot(i)
    for _ in range(20):
        i -= 1
        t0 = time.perf_counter()
        rec.snapshot(i)
        steps.append((time.perf_counter() - t0) * 1000)
    return open_s, statistics.median(seeks), max(seeks), statistics.median(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3600)
    parser.add_argument("--connections", type=int, default=1000)
    args = parser.parse_args()
    print(
        f"{args.samples} samples at 1 s (simulated), {args.connections} connections, "
        "IPsec (21 counters + SA list) every sample\n"
    )
    print(
        "| case | file size | bytes/sample | write ms/sample | open (validate) s "
        "| seek median / max ms | step back ms |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            path = Path(tmp) / f"{case.name}.tsr"
            write_s, _ = asyncio.run(record(case, path, args.samples, args.connections))
            size = path.stat().st_size
            open_s, seek_med, seek_max, step = replay_times(path)
            print(
                f"| {case.name} | {size / 1e6:.2f} MB | {size / args.samples:.0f} "
                f"| {write_s / args.samples * 1000:.2f} | {open_s:.2f} "
                f"| {seek_med:.0f} / {seek_max:.0f} | {step:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
