"""Benchmark of the one-shot commands against ``ss -tanp``, whole processes, same load.

Why: a user meets ``tcpscope connections`` as a whole process (interpreter start, imports,
one sample, encoding, writing), so that is what is timed, alternated with ``ss -tanp`` (which
also lists owning PIDs) on the same loopback load, so the ratio holds on a shared, drifting
machine. Per size N, per output format: median wall time, median ratio of each run to the
``ss -tanp`` run just before it (each with its range over the runs: a shared host drifts),
peak RSS of the tcpscope process (``wait4``), the time to its first output byte (the
output streams: it must come before the process ends), and the median CPU time of each
process and its children (``wait4``; on a shared host less noisy than wall time).

Run as root: ``python bench/bench_oneshot.py --sizes 50000,100000``.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadGen

FORMATS: Final = {"table": (), "json": ("--json",), "csv": ("--csv",)}
FD_LIMIT_PER_WORKER: Final = 12_500


def _tcpscope() -> list[str]:
    exe = Path(sys.executable).with_name("tcpscope")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tui"]


def run_timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, float, int, float]:
    """Run ``argv`` (in ``cwd``) with stdout drained to nowhere: (wall s, first byte s, peak RSS
    MiB, rc, CPU s of the process and its children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    first = float("nan")
    while True:
        select.select([fd], [], [])
        data = os.read(fd, 1 << 20)
        if not data:
            break
        if first != first:
            first = time.perf_counter() - start
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, first, usage.ru_maxrss / 1024, proc.returncode, cpu


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}"


def measure(
    size: int, runs: int, formats: list[str], trees: list[Path | None]
) -> list[dict[str, object]]:
    """Alternate ``ss -tanp`` and each format (of each tree) ``runs`` times on the current load.

    A tree (``--trees``) runs as ``python -m tui`` in it; None is the installed script."""
    ss = shutil.which("ss") or "ss"
    rows: dict[tuple[Path | None, str], dict[str, list[float]]] = {
        (t, f): {"wall": [], "first": [], "rss": [], "ratio": [], "ss": [], "cpu": [], "ss_cpu": []}
        for t in trees
        for f in formats
    }
    for n in range(runs):
        for tree in trees if n % 2 == 0 else trees[::-1]:
            cmd = _tcpscope() if tree is None else [sys.executable, "-m", "tui"]
            for fmt in formats:
                ss_wall, _first, _rss, _rc, ss_cpu = run_timed([ss, "-tanp"])
                wall, first, rss, rc, cpu = run_timed([*cmd, "connections", *FORMATS[fmt]], tree)
                if rc != 0:
                    raise RuntimeError(f"tcpscope connections {fmt} exited {rc}")
                r = rows[tree, fmt]
                r["wall"].append(wall)
                r["first"].append(first)
                r["rss"].append(rss)
                r["ss"].append(ss_wall)
                r["ratio"].append(wall / ss_wall)
                r["cpu"].append(cpu)
                r["ss_cpu"].append(ss_cpu)
    out = []
    for (tree, fmt), r in rows.items():
        out.append(
            {
                "tree": "installed" if tree is None else str(tree),
                "size": size,
                "format": fmt,
                "wall_s": statistics.median(r["wall"]),
                "wall_range": _span(r["wall"]),
                "ss_range": _span(r["ss"]),
                "ratio_min": min(r["ratio"]),
                "first_byte_s": statistics.median(r["first"]),
                "ss_s": statistics.median(r["ss"]),
                "ratio": statistics.median(r["ratio"]),
                "ratio_max": max(r["ratio"]),
                "rss_mib": max(r["rss"]),
                "cpu_s": statistics.median(r["cpu"]),
                "ss_cpu_s": statistics.median(r["ss_cpu"]),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the load per size, measure, print a Markdown table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="50000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--formats", default="table,json,csv")
    parser.add_argument(
        "--trees",
        default="",
        help="source trees to alternate (an A/B on one load), comma-separated, each run as "
        "`python -m tui` in it (default: the installed tcpscope)",
    )
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    formats = args.formats.split(",")
    if any(f not in FORMATS for f in formats):
        print(f"bench_oneshot: formats are {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    # An installed package has its bytecode compiled (pip does it); a checkout run with
    # PYTHONDONTWRITEBYTECODE would compile every module on every run instead.
    trees: list[Path | None] = [Path(t).resolve() for t in args.trees.split(",") if t] or [None]
    for root in {tree or Path(__file__).resolve().parents[1] for tree in trees}:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(root / "core"), str(root / "tui")],
            check=False,
            stdout=subprocess.DEVNULL,
        )
    workers = max(8, -(-max(sizes) // FD_LIMIT_PER_WORKER))
    print(f"# bench_oneshot {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.uname().nodename}")
    print(f"# load average {os.getloadavg()[0]:.2f}, {workers} load processes")
    print()
    print(
        "| tree | N | format | tcpscope s [range] | first byte s | `ss -tanp` s [range] "
        "| **ratio** [range] | peak RSS MiB | CPU s: tcpscope / `ss` |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with LoadGen(workers) as load:
        for size in sizes:
            load.grow_to(size)
            load.time_wait(size // 20)
            for row in measure(size, args.runs, formats, trees):
                print(
                    f"| {row['tree']} | {row['size']:,} | {row['format']} | {row['wall_s']:.2f} "
                    f"[{row['wall_range']}] | {row['first_byte_s']:.2f} | "
                    f"{row['ss_s']:.2f} [{row['ss_range']}] | **{row['ratio']:.2f}** "
                    f"[{row['ratio_min']:.2f}–{row['ratio_max']:.2f}] | {row['rss_mib']:.0f} | "
                    f"{row['cpu_s']:.2f} / {row['ss_cpu_s']:.2f} |",
                    flush=True,
                )
    print()
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
