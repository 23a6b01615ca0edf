"""Memory per connection in the TUI process, by where it was allocated (tracemalloc).

Why: RSS per connection (``bench_tui_tmux.py``) says how much, not what. This runs the real
app headless (``App.run_test``) on the live netlink source while ``bench/loadgen.py`` holds N
loopback sockets, waits for the table to hold them and for two more samples, then prints the
bytes per connection held by each allocation site (top sites) and in total, traced from
before the first sample. Run as root in a private network namespace:
``python bench/bench_memory.py --sizes 50000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import LoadGen  # noqa: E402

FD_LIMIT_PER_WORKER = 12_500


async def measure(n: int, top: int) -> None:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()
    from core.connections.sources import get_source
    from core.sampling.sampler import Sampler
    from tui.app import TcpscopeApp
    from tui.connections.conn_table import ConnTable

    tracemalloc.start(1)
    base = tracemalloc.take_snapshot()
    feed = Sampler(get_source("netlink", tcp_info=False), interval_s=1.0, timeout_s=120.0)
    app = TcpscopeApp(feed, hostname="bench")
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.screen.query_one(ConnTable)
        while app.snapshot is None or len(table.index) < n or table.index.has_work:
            await asyncio.sleep(0.2)
        seq = app.snapshot.seq
        while app.snapshot.seq < seq + 2 or table.index.has_work:
            await asyncio.sleep(0.2)
        await pilot.pause()
        gc.collect()
        rows = len(app.snapshot.connections)
        snap = tracemalloc.take_snapshot()
        stats = snap.compare_to(base, "lineno")
        total = sum(s.size_diff for s in stats)
        print(f"\n## N = {n:,} sockets, {rows:,} rows in the snapshot")
        print(f"traced: {total / rows:,.0f} bytes per connection; ru_maxrss "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB\n")  # fmt: skip
        print("| bytes/conn | objects/conn | where |")
        print("|---|---|---|")
        for s in stats[:top]:
            frame = s.traceback[0]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            print(f"| {s.size_diff / rows:,.1f} | {s.count_diff / rows:.2f} | {where} |")
        await feed.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(measure(args.child, args.top))
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"# bench_memory {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    import subprocess

    workers = max(8, -(-max(sizes) // FD_LIMIT_PER_WORKER))
    with LoadGen(workers) as load:
        for n in sizes:
            load.grow_to(n)
            subprocess.run(
                [sys.executable, __file__, "--child", str(n), "--top", str(args.top)],
                cwd=ROOT,
                check=False,
            )


if __name__ == "__main__":
    main()
