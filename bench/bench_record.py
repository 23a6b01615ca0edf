"""What a ``tcpscope record`` sample costs next to the app's steady sample, on the same load.

Why: a recording keeps every socket's tcp_info and encodes each sample as a delta frame, so
it costs more than the app's sample (tcp_info only for the connection on screen); the issue
bounds that at 1.5× at 50k. Both run the real code in fresh child processes, alternately, on
one ``bench/loadgen.py`` population that loses and gains 1% of its connections every second:

* steady: the live feed exactly as the app builds it (``make_feed``, ``every_tcp_info=False``,
  the collector paced as the app paces it: ``core.sampling.gc_pacing``);
* record: the feed as ``tcpscope record`` builds it (``every_tcp_info=True``) and each snapshot
  written by the ``RecordingWriter`` to a file, flushed every couple of seconds and the
  collector paced as the command does.

Per sample: CPU time of the whole process (every thread: the sampler's reader thread, the
encoder, gzip) between two consecutive snapshots, median over the samples after the first
two (the first is the cold /proc scan). ``ss -tan`` runs in the same stretch, for scale.

Run as root inside a private namespace: ``python bench/bench_record.py --sizes 50000``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadGen

WARMUP = 2
"""Samples left out: the cold first sample and the one after it."""


def _child(pipe: Connection, record: bool, samples: int) -> None:
    """Take ``samples`` snapshots from the live feed; send each sample's CPU and wall ms."""
    from core.commands.feeds import FeedOptions, make_feed
    from core.commands.record import header_factory
    from core.recording.format import FLUSH_EVERY_S
    from core.recording.writer import RecordingWriter
    from core.sampling import GcPacer

    options = FeedOptions(interval_s=1.0, ipsec=False, every_tcp_info=record)
    pacer = GcPacer()

    async def run() -> list[tuple[float, float]]:
        feed = make_feed(options)
        costs: list[tuple[float, float]] = []
        with tempfile.TemporaryFile() as out:
            writer = None
            last_flush = time.monotonic()
            cpu0 = time.process_time()
            async for snap in feed.stream():
                pacer.before(len(snap.connections))  # as the app and the command do
                if record:
                    if writer is None:
                        writer = RecordingWriter(out, header_factory(options))
                    writer.write(snap)
                    if time.monotonic() - last_flush >= FLUSH_EVERY_S:
                        writer.flush()
                        last_flush = time.monotonic()
                # The sample's cost: CPU since the previous snapshot arrived, minus idle time
                # (process_time counts only CPU, so the wait for the next tick adds nothing).
                cpu1 = time.process_time()
                costs.append(((cpu1 - cpu0) * 1000, snap.stats.sample_ms))
                cpu0 = cpu1
                if len(costs) >= samples:
                    break
            if writer is not None:
                writer.close()
        await feed.aclose()
        return costs

    pipe.send(asyncio.run(run()))


def _churner(load: LoadGen, per_s: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        load.churn(per_s)


def _one(load: LoadGen, record: bool, samples: int, churn: int) -> list[tuple[float, float]]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child, record, samples))
    stop = threading.Event()
    churner = threading.Thread(target=_churner, args=(load, churn, stop), daemon=True)
    proc.start()
    churner.start()
    try:
        while not parent.poll(1.0):
            if not proc.is_alive():
                raise RuntimeError(f"child exited {proc.exitcode} without a result")
        costs: list[tuple[float, float]] = parent.recv()
    finally:
        stop.set()
        churner.join()
        proc.join()
    return costs[WARMUP:]


def _ss_tan_ms(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["ss", "-tan"], stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Build the load per size, alternate steady and record children, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--samples", type=int, default=12, help="snapshots per child")
    parser.add_argument("--rounds", type=int, default=2, help="steady/record pairs per size")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.samples <= WARMUP or args.rounds < 1 or any(n < 100 for n in sizes):
        print("bench: --samples > 2, --rounds >= 1, sizes >= 100", file=sys.stderr)
        return 2
    print(f"# bench_record {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.uname().nodename}")
    print(f"# load average {os.getloadavg()[0]:.2f}, 1% of the connections replaced per second\n")
    print(
        "| N sockets | steady CPU ms/sample [min–max] | record CPU ms/sample [min–max] "
        "| **record / steady** | steady sample ms | record sample ms | `ss -tan` ms |"
    )
    print("|---|---|---|---|---|---|---|")
    with LoadGen(args.workers) as load:
        for n in sizes:
            load.grow_to(n)
            churn = max(1, n // 2 // 100)
            steady: list[tuple[float, float]] = []
            record: list[tuple[float, float]] = []
            for _ in range(args.rounds):
                steady += _one(load, False, args.samples, churn)
                record += _one(load, True, args.samples, churn)
            ss = _ss_tan_ms()
            s_cpu = [c for c, _ in steady]
            r_cpu = [c for c, _ in record]
            print(
                f"| {n:,} | {statistics.median(s_cpu):.1f} [{min(s_cpu):.1f}–{max(s_cpu):.1f}] "
                f"| {statistics.median(r_cpu):.1f} [{min(r_cpu):.1f}–{max(r_cpu):.1f}] "
                f"| **{statistics.median(r_cpu) / statistics.median(s_cpu):.2f}** "
                f"| {statistics.median(w for _, w in steady):.1f} "
                f"| {statistics.median(w for _, w in record):.1f} | {ss:.1f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
