"""Memory per connection in the TUI process: where RSS goes, and where it was allocated.

Why: RSS per connection (``bench_tui_tmux.py``) says how much, not what. This runs the real
app headless (``App.run_test``) on the live netlink source while ``bench/loadgen.py`` holds N
loopback sockets, waits for the table to hold them and for two more samples, then prints, per
size, from two runs of the app:

* untraced (started as ``tui.launch`` starts it: the first sample in a thread while Textual
  is imported): RSS before and after a full ``gc.collect()``, split into file-backed pages
  (code, libraries), pymalloc (Python's small objects: its arenas, the bytes in live blocks)
  and glibc malloc (bytes in use, free but kept), the idle app's RSS measured the same way,
  and RSS per connection above it;
* traced (tracemalloc, from before the first sample): bytes per connection held by each
  allocation site (top sites) and in total.

Run as root in a private network namespace: ``python bench/bench_memory.py --sizes 50000``.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import resource
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import LoadGen  # noqa: E402

FD_LIMIT_PER_WORKER = 12_500
MIB = 1024 * 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _proc_status() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, VmHWM of this process, bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def _pymalloc() -> dict[str, int]:
    """Python's small-object allocator: arenas mapped, bytes in live blocks."""
    with tempfile.TemporaryFile("w+") as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)  # sys._debugmallocstats writes to the C stderr
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        dump = out.read()
    values = {}
    for line in dump.splitlines():
        head, _, tail = line.partition("=")
        if "arenas allocated current" in head or "bytes in allocated blocks" in head:
            values[head.strip("# ").strip()] = int(tail.strip().replace(",", ""))
    return {
        "arenas": values["arenas allocated current"] * MIB,
        "live": values["bytes in allocated blocks"],
    }


def _glibc() -> dict[str, int]:
    """glibc malloc: bytes in use and bytes kept free (main arena + thread arenas + mmaps)."""
    info = ctypes.CDLL(None).mallinfo2
    info.restype = _MallInfo2
    m = info()
    return {"in_use": m.uordblks + m.hblkhd, "free": m.fordblks, "mapped": m.arena + m.hblkhd}


def breakdown() -> dict[str, int]:
    """Where this process's RSS is, bytes (see the module docstring)."""
    status, py, libc = _proc_status(), _pymalloc(), _glibc()
    return {
        "rss": status["VmRSS"],
        "peak": status["VmHWM"],
        "file": status["RssFile"],
        "anon": status["RssAnon"],
        "py_arenas": py["arenas"],
        "py_live": py["live"],
        "malloc_in_use": libc["in_use"],
        "malloc_free": libc["free"],
    }


def _mib(value: float) -> str:
    return f"{value / MIB:,.1f}"


def print_breakdown(idle: dict[str, int], full: dict[str, int], rows: int) -> None:
    """The untraced runs' RSS, split, with the idle app's beside it."""
    print("| MiB | idle app | loaded app | above idle, bytes per connection |")
    print("|---|---|---|---|")
    for key, label in (
        ("before_gc", "RSS before a full gc.collect()"),
        ("rss", "RSS"),
        ("peak", "peak RSS"),
        ("file", "file-backed (code, libraries)"),
        ("anon", "anonymous"),
        ("py_arenas", "pymalloc arenas"),
        ("py_live", "pymalloc live blocks"),
        ("malloc_in_use", "glibc malloc in use"),
        ("malloc_free", "glibc malloc free, kept"),
        ("trimmed", "RSS after malloc_trim"),
    ):
        above = (full[key] - idle[key]) / rows
        print(f"| {label} | {_mib(idle[key])} | {_mib(full[key])} | {above:,.0f} |")


async def _wait_loaded(app: Any, table: Any, n: int) -> None:
    """Until the table holds ``n`` rows and two more samples have come in."""
    while app.snapshot is None or len(table.index) < n or table.index.has_work:
        await asyncio.sleep(0.2)
    seq = app.snapshot.seq
    while app.snapshot.seq < seq + 2 or table.index.has_work:
        await asyncio.sleep(0.2)


async def _creep(app: Any, table: Any, samples: int, rss: bool = True) -> list[dict[str, int]]:
    """The RSS breakdown after each of the next ``samples`` samples (no forced collection:
    what the app holds as it runs, as ``bench_tui_tmux.py`` sees it from outside); with
    ``rss`` False, only waits for them (under tracemalloc pymalloc prints no statistics)."""
    rows: list[dict[str, int]] = []
    for _ in range(samples):
        seq = app.snapshot.seq
        while app.snapshot.seq < seq + 1 or table.index.has_work:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        if rss:
            rows.append(
                breakdown() | {"seq": app.snapshot.seq, "gc2": gc.get_stats()[2]["collections"]}
            )
    return rows


def print_creep(idle: list[dict[str, int]], rows: list[dict[str, int]], conns: int) -> None:
    """Bytes per connection above the idle app (its own sample of the same rank) after each
    sample, split as in the table."""
    keys = ("rss", "anon", "py_arenas", "py_live", "malloc_in_use", "malloc_free")
    print(f"\nBytes per connection above the idle app after each sample: {', '.join(keys)}\n")
    print("| sample | gen-2 collections | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 2) + "|")
    for i, row in enumerate(rows):
        base = idle[min(i, len(idle) - 1)]
        cells = " | ".join(f"{(row[k] - base[k]) / conns:,.0f}" for k in keys)
        print(f"| {row['seq']} | {row['gc2']} | {cells} |")


async def untraced(n: int, tune: bool, creep: int = 0) -> dict[str, Any]:
    """The app's RSS breakdown once it holds ``n`` rows (0: the idle app's after 3 samples);
    with ``creep``, also after each of that many more samples (under ``"creep"``)."""
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()
    from core import allocator
    from core.connections import PageRequest
    from core.connections.sources import get_source
    from core.sampling.sampler import Sampler

    if tune:
        allocator.tune()
    feed = Sampler(get_source("netlink", tcp_info=False), interval_s=1.0, timeout_s=120.0)
    # As tui.launch starts the app: the first sample (its first page first) runs in a thread
    # while Textual is imported.
    sys.setswitchinterval(0.001)
    feed.start_early(PageRequest(rows=50))
    from tui.app import TcpscopeApp
    from tui.connections.conn_table import ConnTable

    app = TcpscopeApp(feed, hostname="bench")
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.screen.query_one(ConnTable)
        await _wait_loaded(app, table, n)
        await pilot.pause()
        creep = await _creep(app, table, creep) if creep else []
        before_gc = _proc_status()["VmRSS"]
        gc.collect()
        assert app.snapshot is not None
        found: dict[str, Any] = breakdown()
        found |= {"rows": len(app.snapshot.connections), "before_gc": before_gc, "creep": creep}
        ctypes.CDLL(None).malloc_trim(0)  # what glibc still keeps that it could give back
        found["trimmed"] = _proc_status()["VmRSS"]
        await feed.aclose()
    return found


async def measure(n: int, top: int, creep: int = 0) -> None:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()
    from core.connections.sources import get_source
    from core.sampling.sampler import Sampler
    from tui.app import TcpscopeApp
    from tui.connections.conn_table import ConnTable

    tracemalloc.start(4 if creep else 1)  # the growth's callers too
    base = tracemalloc.take_snapshot()
    feed = Sampler(get_source("netlink", tcp_info=False), interval_s=1.0, timeout_s=120.0)
    app = TcpscopeApp(feed, hostname="bench")
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.screen.query_one(ConnTable)
        await _wait_loaded(app, table, n)
        await pilot.pause()
        gc.collect()
        rows = len(app.snapshot.connections)
        snap = tracemalloc.take_snapshot()
        stats = snap.compare_to(base, "lineno")  # (its sites by their line alone)
        total = sum(s.size_diff for s in stats)
        print(f"\n## N = {n:,} sockets, {rows:,} rows in the snapshot")
        print(f"traced: {total / rows:,.0f} bytes per connection; ru_maxrss "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB\n")  # fmt: skip
        _print_sites(stats[:top], rows)
        if creep:
            await _creep(app, table, creep, rss=False)
            gc.collect()
            later = tracemalloc.take_snapshot().compare_to(snap, "traceback")
            grown = sum(s.size_diff for s in later)
            print(f"\nGrowth over the next {creep} samples: {grown / rows:,.1f} bytes per "
                  f"connection traced (after a full collection)\n")  # fmt: skip
            _print_sites(later[:top], rows)
        await feed.aclose()


def _print_sites(stats: list[tracemalloc.StatisticDiff], rows: int) -> None:
    print("| bytes/conn | objects/conn | where (and its callers) |")
    print("|---|---|---|")
    for s in stats:
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(s.traceback))
        print(f"| {s.size_diff / rows:,.1f} | {s.count_diff / rows:.2f} | {where} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--untraced", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-tune", action="store_true", help="glibc malloc's defaults")
    parser.add_argument(
        "--creep", type=int, default=0, help="also measure after each of this many more samples"
    )
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(measure(args.child, args.top, args.creep))
        return
    if args.untraced is not None:
        print(json.dumps(asyncio.run(untraced(args.untraced, not args.no_tune, args.creep))))
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"# bench_memory {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    import subprocess

    def untraced_run(n: int) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, __file__, "--untraced", str(n), "--creep", str(args.creep),
             *(["--no-tune"] * args.no_tune)],
            cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        return json.loads(out.splitlines()[-1])

    idle = untraced_run(0)
    workers = max(8, -(-max(sizes) // FD_LIMIT_PER_WORKER))
    with LoadGen(workers) as load:
        for n in sizes:
            load.grow_to(n)
            full = untraced_run(n)
            rows = full["rows"] - idle["rows"]
            print(f"\n## N = {n:,} sockets, untraced: RSS {_mib(full['rss'])} MiB, "
                  f"{(full['rss'] - idle['rss']) / rows:,.0f} bytes per connection above "
                  f"the idle app ({_mib(idle['rss'])} MiB)\n")  # fmt: skip
            print_breakdown(idle, full, rows)
            if args.creep:
                print_creep(idle["creep"], full["creep"], rows)
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(n),
                    "--top",
                    str(args.top),
                    "--creep",
                    str(args.creep),
                ],
                cwd=ROOT,
                check=False,
            )


if __name__ == "__main__":
    main()
