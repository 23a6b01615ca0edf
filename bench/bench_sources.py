"""Benchmark of the connection sources against ``ss`` on the same loopback load.

Why: the issue's target is a steady-state netlink sample *with* PIDs at 50k sockets no slower
than ``ss -tan`` *without* PIDs, and at most 0.1× ``ss -tanp``. This script builds the load
(:mod:`bench.loadgen`), and for each size measures, on the same population:

* netlink source: first sample (cold: full /proc fd scan), then steady-state samples with 1%
  churn between ticks (1% of connections reset and reopened, so N/100 new sockets), median;
* the floor: right after each steady sample, the same kernel dump with nothing done to its
  replies (no keys, no diff, no records), timed in the same process: what a sample cannot go
  below (the issue's "about 0.4x" of ``ss -tan``); the steady sample minus the floor is the
  Python work on top. "The same dump" asks for the states the sample asked for: a steady
  sample at this size walks the kernel's bind table for bound, inactive sockets only once
  every few seconds (core.connections.sources.bound_walk), and the table says how many of
  its ticks did;
* the same with every socket's tcp_info in the dump (what ``connections --json`` and
  recordings ask for; the live app asks for the watched connections only), and without PID
  lookup (what each part costs);
* psutil source (median of a few samples);
* ``ss -tan`` wall time, output to /dev/null: a few runs up front plus one run between every
  two netlink ticks (same population, same machine state), median of all;
* ``ss -tanp`` wall time: a few runs up front plus one run between every two ticks of the
  main netlink variant (so both ratios compare samples taken in the same stretch), median;
* peak RSS of the process that ran each source (each source runs in a fresh child process).

Each netlink child paces the cyclic garbage collector as the app (and ``record``) does, between
two samples, outside the timed part: the sampler's young pass right after a sample
(core.sampling.young_pass) and the app's GcPacer before it takes a snapshot in (records frozen
as the table grows, full collections spaced out); without it a young or full collection of
the records, which the app does not make inside its samples, fell inside some ticks.

It prints a Markdown table. Sizes run ascending on one growing load. Run as root (so PIDs
resolve for every socket): ``python bench/bench_sources.py --sizes 1000,10000,50000``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadGen

TIME_WAIT_REFRESH_S = 45.0


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Any) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000


def _bare_dump(dumper: Any, states: int) -> None:
    """One whole compat dump, its replies read and dropped (the kernel's part of a sample)."""
    import socket

    from core.netlink import NLMSG_DONE, NLMSG_HDR

    done = NLMSG_HDR.size + 4  # NLMSG_DONE carries an int
    for chunk in dumper.chunks(socket.AF_UNSPEC, states):
        if len(chunk) >= done:
            length, mtype, *_rest = NLMSG_HDR.unpack_from(chunk, len(chunk) - done)
            if length == done and mtype == NLMSG_DONE:
                dumper.finish(chunk, len(chunk) - done)


def _netlink_child(
    pipe: Connection, ticks: int, resolve: bool, tcp_info: bool, tree: str | None = None
) -> None:
    if tree is not None:  # another checkout's code (--against): imported from there
        sys.path.insert(0, tree)
        import core

        if not str(core.__file__).startswith(tree):
            raise SystemExit(f"bench: core imported from {core.__file__}, not from {tree}")
    from core.connections.model import OwnerStatus, TcpState
    from core.connections.sources.bound_walk import WITHOUT_WALK
    from core.connections.sources.inet_diag import TCP_ALL_STATES, InetDiagDumper
    from core.connections.sources.netlink import NetlinkSource
    from core.sampling import GcPacer
    from core.sampling.young_pass import young_pass

    pacer = GcPacer()

    def as_the_app(rows: int) -> None:
        """What the app does between two samples with the collector (see the docstring)."""
        young_pass(rows, _go_on)
        pacer.before(rows)

    src = NetlinkSource(resolve_owners=resolve, tcp_info=tcp_info)
    bare = InetDiagDumper(tcp_info=tcp_info)
    base_rss = _rss_mib()
    first, first_ms, first_cpu = _timed(lambda: src.sample(datetime.now(UTC), first=True))
    first_readlinks = src.resolver.stats.readlinks
    as_the_app(len(first.connections))
    rows: list[dict[str, float]] = []
    unresolved = 0
    sample = first
    for _ in range(ticks):
        pipe.send("churn")
        pipe.recv()
        sample, ms, cpu = _timed(lambda: src.sample(datetime.now(UTC), first=False))
        as_the_app(len(sample.connections))
        stats = src.resolver.stats
        walked = src.bound_walk.walking
        states = TCP_ALL_STATES if walked else WITHOUT_WALK
        _none, floor_ms, _cpu = _timed(lambda states=states: _bare_dump(bare, states))
        rows.append(
            {
                "ms": ms,
                "cpu": cpu,
                "new": src.last_new,
                "readlinks": stats.readlinks,
                "floor_ms": floor_ms,
                "walked": walked,
            }
        )
        if resolve:
            unresolved = max(
                unresolved,
                sum(
                    1
                    for c in sample.connections.values()
                    if c.state is TcpState.ESTABLISHED and c.owner_status is not OwnerStatus.FOUND
                ),
            )
    with_pid = sum(1 for c in sample.connections.values() if c.owning_process is not None)
    pipe.send(
        (
            "done",
            {
                "first_ms": first_ms,
                "first_cpu": first_cpu,
                "first_readlinks": first_readlinks,
                "first_rows": len(first.connections),
                "rows": len(sample.connections),
                "with_pid": with_pid,
                "ticks": rows,
                "unresolved_established": unresolved,
                "rss": _rss_mib(),
                "base_rss": base_rss,
            },
        )
    )


def _go_on() -> None:
    """No key to give way to (the app's sampler waits for one here)."""


def _psutil_child(pipe: Connection, runs: int) -> None:
    from core.connections.sources.psutil_source import PsutilSource

    src = PsutilSource()
    base_rss = _rss_mib()
    times = []
    sample = None
    for i in range(runs + 1):
        sample, ms, _cpu = _timed(lambda i=i: src.sample(datetime.now(UTC), first=i == 0))
        if i:
            times.append(ms)
    assert sample is not None
    pipe.send(
        (
            "done",
            {"ms": times, "rows": len(sample.connections), "rss": _rss_mib(), "base_rss": base_rss},
        )
    )


def _run_child(
    target: Any,
    args: tuple[Any, ...],
    load: LoadGen,
    churn: int,
    between: list[tuple[list[str], list[float], list[float]]],
) -> dict[str, Any]:
    """Run one measuring child; between its ticks, time each ``between`` command once (argv,
    wall times, CPU times) and churn the load.

    The ``ss`` runs happen right after the child's previous sample, on the same population,
    so the ratios compare like with like on a machine whose speed drifts.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args))
    proc.start()
    try:
        while True:
            msg = parent.recv()
            if msg == "churn":
                for argv, times, cpu in between:
                    times.extend(_ss(argv, 1, cpu, warm=False))
                if churn:
                    load.churn(churn)
                    time.sleep(0.1)  # let the workers' accept threads take the new sockets
                parent.send("ok")
            else:
                result: dict[str, Any] = msg[1]
                return result
    finally:
        proc.join(timeout=60)


def _ss(args: list[str], runs: int, cpu: list[float], *, warm: bool = True) -> list[float]:
    """Wall times (ms) of ``runs`` runs; their CPU times (user+sys, ms) go to ``cpu``."""
    if warm:
        subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t0) * 1000)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    return times


class _TimeWait:
    """Keeps about N/20 TIME_WAIT entries around (they expire after 60 s)."""

    def __init__(self, load: LoadGen) -> None:
        self.load = load
        self.at = 0.0
        self.count = 0

    def ensure(self, count: int) -> None:
        if count != self.count or time.monotonic() - self.at > TIME_WAIT_REFRESH_S:
            self.load.time_wait(count)
            self.at = time.monotonic()
            self.count = count
            time.sleep(0.2)


def measure(
    load: LoadGen,
    tw: _TimeWait,
    n: int,
    ticks: int,
    churn_share: float,
    runs: int,
    against: str | None = None,
) -> dict[str, Any]:
    """Everything for one size N (sockets, both ends)."""
    load.grow_to(n)
    tw.ensure(n // 20)
    time.sleep(0.3)
    churn = max(1, round(n / 2 * churn_share))
    slow = n > 20_000
    out: dict[str, Any] = {"n": n, "churn_connections": churn}
    ss_cpu: list[float] = []
    ss_tan: list[float] = _ss(["ss", "-tan"], runs, ss_cpu)
    tw.ensure(n // 20)
    ss_tanp = _ss(["ss", "-tanp"], max(3, runs // 2) if slow else runs, [])
    tan = (["ss", "-tan"], ss_tan, ss_cpu)
    variants = {
        "netlink": (True, False, [tan, (["ss", "-tanp"], ss_tanp, [])]),
        "netlink_info": (True, True, [tan]),
        "netlink_nopid": (False, False, [tan]),
    }
    for name, (resolve, info, between) in variants.items():
        tw.ensure(n // 20)
        out[name] = _run_child(_netlink_child, (ticks, resolve, info), load, churn, between)
        if name == "netlink" and against is not None:
            # A/B: the other checkout's steady sample right after this one's, on the same
            # load, with the same ``ss`` runs between its ticks (so as many seconds between
            # two ticks: a bind-table walk is planned by time).
            tw.ensure(n // 20)
            out["against"] = _run_child(
                _netlink_child, (ticks, True, False, against), load, churn, between
            )
    tw.ensure(n // 20)
    out["psutil"] = _run_child(_psutil_child, (3,), load, 0, [])
    out["ss_tanp"] = ss_tanp
    out["ss_tan"] = ss_tan
    out["ss_tan_cpu"] = ss_cpu
    return out


def _med(values: list[float]) -> float:
    return statistics.median(values)


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table of all sizes."""
    head = (
        "| N sockets | rows seen | netlink first sample ms | **netlink steady ms** (PIDs, "
        "1% churn) [min–max] | steady CPU ms | new sockets / readlinks per tick | "
        "floor: bare dump ms | "
        "steady + every tcp_info ms | steady, no PIDs ms | psutil ms | `ss -tan` ms | "
        "`ss -tanp` ms | **steady / ss-tan** | steady + every tcp_info / ss-tan | "
        "steady CPU / ss-tan CPU | **steady / ss-tanp** | steady + every tcp_info / ss-tanp "
        "| **floor / ss-tan** | bind-table walks / ticks | peak RSS MiB netlink / psutil |"
    )
    lines = [head, "|" + "---|" * 20]
    for r in results:
        nl = r["netlink"]
        steady = [t["ms"] for t in nl["ticks"]]
        cpu = [t["cpu"] for t in nl["ticks"]]
        new = _med([t["new"] for t in nl["ticks"]])
        reads = _med([t["readlinks"] for t in nl["ticks"]])
        floor = _med([t["floor_ms"] for t in nl["ticks"]])
        info = _med([t["ms"] for t in r["netlink_info"]["ticks"]])
        nopid = _med([t["ms"] for t in r["netlink_nopid"]["ticks"]])
        tan, tanp = _med(r["ss_tan"]), _med(r["ss_tanp"])
        s = _med(steady)
        lines.append(
            f"| {r['n']:,} | {nl['rows']:,} | {nl['first_ms']:.0f} | {s:.1f} "
            f"[{min(steady):.1f}–{max(steady):.1f}] | {_med(cpu):.1f} | {new:.0f} / {reads:.0f} "
            f"| {floor:.1f} | {info:.1f} | {nopid:.1f} | {_med(r['psutil']['ms']):.0f} | "
            f"{tan:.1f} | {tanp:.0f} | {s / tan:.2f} | {info / tan:.2f} | "
            f"{_med(cpu) / _med(r['ss_tan_cpu']):.2f} | {s / tanp:.3f} | {info / tanp:.3f} | "
            f"{floor / tan:.2f} | {sum(t.get('walked', True) for t in nl['ticks'])} / "
            f"{len(nl['ticks'])} | {nl['rss']:.0f} / {r['psutil']['rss']:.0f} |"
        )
    return "\n".join(lines)


def _walks(child: dict[str, Any]) -> str:
    return f"{sum(t.get('walked', True) for t in child['ticks'])}"


def ab_table(results: list[dict[str, Any]], against: str) -> str:
    """Steady samples of this checkout and of ``against``, measured one after the other on
    the same load (the ``ss -tan`` median is over both)."""
    lines = [
        f"| N sockets | steady ms here [min–max] | steady ms `{against}` [min–max] | "
        "steady CPU ms here / there | here / there | `ss -tan` ms | bind-table walks here / "
        "there |",
        "|" + "---|" * 7,
    ]
    for r in results:
        here = [t["ms"] for t in r["netlink"]["ticks"]]
        there = [t["ms"] for t in r["against"]["ticks"]]
        cpu_here = _med([t["cpu"] for t in r["netlink"]["ticks"]])
        cpu_there = _med([t["cpu"] for t in r["against"]["ticks"]])
        lines.append(
            f"| {r['n']:,} | {_med(here):.1f} [{min(here):.1f}–{max(here):.1f}] | "
            f"{_med(there):.1f} [{min(there):.1f}–{max(there):.1f}] | {cpu_here:.1f} / "
            f"{cpu_there:.1f} | {_med(here) / _med(there):.2f} | {_med(r['ss_tan']):.1f} | "
            f"{_walks(r['netlink'])} / {_walks(r['against'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run every size, print the table."""
    parser = argparse.ArgumentParser(description="tcpscope connection-source benchmark")
    parser.add_argument(
        "--sizes",
        default="1000,10000,50000",
        help="comma-separated socket counts (default 1000,10000,50000)",
    )
    parser.add_argument("--ticks", type=int, default=9, help="steady ticks per size (>= 7)")
    parser.add_argument(
        "--churn",
        type=float,
        default=0.01,
        help="share of connections replaced between ticks (default 0.01)",
    )
    parser.add_argument("--runs", type=int, default=7, help="ss runs per size")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write raw results here")
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. a worktree of main): its steady sample too, same load",
    )
    args = parser.parse_args(argv)
    try:
        sizes = sorted(int(s) for s in args.sizes.split(","))
    except ValueError:
        print(
            f"bench: --sizes must be comma-separated integers, got {args.sizes!r}", file=sys.stderr
        )
        return 2
    if not sizes or sizes[0] < 2 or args.ticks < 1 or not 0 <= args.churn < 1:
        print("bench: sizes must be >= 2, ticks >= 1, 0 <= churn < 1", file=sys.stderr)
        return 2
    against = str(args.against.resolve()) if args.against is not None else None
    if against is not None and not (Path(against) / "core" / "__init__.py").is_file():
        print(f"bench: --against {args.against}: no checkout of tcpscope there", file=sys.stderr)
        return 2
    results = []
    with LoadGen(args.workers) as load:
        tw = _TimeWait(load)
        for n in sizes:
            t0 = time.perf_counter()
            results.append(measure(load, tw, n, args.ticks, args.churn, args.runs, against))
            print(f"N={n:,} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if args.json:
        import json

        args.json.write_text(json.dumps(results, indent=1))
    print(table(results))
    if against is not None:
        print()
        print(ab_table(results, against))
    return 0


if __name__ == "__main__":
    sys.exit(main())
