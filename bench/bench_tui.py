"""TUI bench: snapshot → screen, frame time, keypress → repaint, CPU at 1 Hz, peak RSS.

Runs the real app headless (``App.run_test``, 200x50) in one child process per case so the
peak RSS is that case's own. Two feeds:

* ``scripted``: a real Sampler over a ScriptedSource of N generated connections with 1% churn
  per tick (StepClock); snapshots are taken when the bench says, so latencies are exact.
* ``live``: the real netlink source while ``bench/loadgen.py`` holds N loopback sockets
  (other sockets on the host are counted too).

Prints a Markdown table. Usage: ``python bench/bench_tui.py [--sizes 1000,10000,50000]
[--live] [--seconds 10]``. Nothing here asserts; it prints what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.connections.model import ProcessInfo, TcpState  # noqa: E402
from core.connections.sources.scripted import (  # noqa: E402
    ScriptedConn,
    ScriptedFrame,
)
from core.sampling.sampler import Sampler  # noqa: E402

STATES = (TcpState.ESTABLISHED,) * 6 + (TcpState.TIME_WAIT, TcpState.LISTEN, TcpState.CLOSE_WAIT)


def frames(n: int) -> Callable[[int], ScriptedFrame]:
    """Frame i: N connections, the first i·1% replaced by new ones (1% churn per tick)."""
    churn = max(1, n // 100)
    procs = {
        pid: ProcessInfo(pid, f"proc{pid}", "bench", (f"proc{pid}",), None, 1.0)
        for pid in range(1000, 1064)
    }
    pool: list[ScriptedConn] = []

    def conn(i: int) -> ScriptedConn:
        while len(pool) <= i:
            j = len(pool)
            pool.append(
                ScriptedConn(
                    f"10.{(j >> 16) & 255}.{(j >> 8) & 255}.{j & 255}",
                    1024 + j % 60000,
                    "192.0.2.1",
                    443,
                    STATES[j % len(STATES)],
                    pid=1000 + j % 64,
                    offload_state=0,
                    applied_setting=0,
                )
            )
        return pool[i]

    def frame(index: int) -> ScriptedFrame:
        start = index * churn
        return ScriptedFrame([conn(i) for i in range(start, start + n)], procs)

    return frame


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} [{min(values):.1f}–{max(values):.1f}]"


SPREAD_GAP_S = (0.23, 0.41, 0.17, 0.53, 0.31)
"""Pauses before the spread presses: about 3 a second, at every phase of the sampler's."""


def record_paints(app: Any) -> list[float]:
    """The times (perf_counter) of every screen update the app composes from now on."""
    painted: list[float] = []
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None:
            painted.append(time.perf_counter())

    app._display = timed_display
    return painted


async def tick_every_second(feed: Any) -> None:
    """A scripted feed sampled as the live one is: once a second (1% churn each time)."""
    while True:
        await feed.step()
        await asyncio.sleep(1.0)


def tail(values: list[float]) -> str:
    """``p50 / p90 / p99 / max (n)`` of key latencies, in ms."""
    if not values:
        return "–"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"{at(0.5):.0f} / {at(0.9):.0f} / {at(0.99):.0f} / {ordered[-1]:.0f} ({len(values)})"


async def one_case(n: int, mode: str, seconds: float, presses: int) -> dict[str, Any]:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()
    from tests.tui.scripted import SteppedFeed
    from tui.app import TcpscopeApp
    from tui.connections.conn_table import ConnTable

    result: dict[str, Any] = {"n": n, "mode": mode}
    if mode == "scripted":
        feed: Any = SteppedFeed(frames(n))
    else:
        from core.connections.sources import get_source

        # As the app runs it: tcp_info only for the connection the detail pane shows.
        feed = Sampler(get_source("netlink", tcp_info=False), interval_s=1.0)
    arrivals: list[float] = []
    stream = feed.stream

    async def timed_stream() -> Any:
        async for snap in stream():
            arrivals.append(time.perf_counter())
            yield snap

    feed.stream = timed_stream
    app = TcpscopeApp(feed, hostname="bench")
    painted = record_paints(app)
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.screen.query_one(ConnTable)

        async def arrived(seq: int) -> None:
            while app.snapshot is None or app.snapshot.seq < seq:
                await asyncio.sleep(0.0005)
            await pilot.pause()

        def repaint_ms(mark: int, t0: float, last: bool = False) -> float:
            """Start → the first (or last) screen update composed after it."""
            after = painted[mark:]
            if not after:
                return float("nan")
            return ((after[-1] if last else after[0]) - t0) * 1000

        if mode == "scripted":
            snap_ms: list[float] = []
            settled_ms: list[float] = []
            for _ in range(11):
                snap = await feed.step()
                mark, t0 = len(painted), time.perf_counter()
                await arrived(snap.seq)
                await pilot.pause()
                snap_ms.append(repaint_ms(mark, t0))
                settled_ms.append(repaint_ms(mark, t0, last=True))
            result["snapshot_ms"] = ms(snap_ms[1:])  # the first one is the initial bulk load
            result["settled_ms"] = ms(settled_ms[1:])
            result["first_ms"] = f"{settled_ms[0]:.0f}"
        else:
            await arrived(2)
            result["snapshot_ms"] = result["settled_ms"] = "–"
            result["first_ms"] = "–"
        result["rows"] = table.row_count
        frame_ms = []
        for _ in range(20):
            table._cache.clear()
            t0 = time.perf_counter()
            for y in range(table.size.height):
                table.render_line(y)
            frame_ms.append((time.perf_counter() - t0) * 1000)
        result["frame_ms"] = ms(frame_ms)
        full_ms = []
        for _ in range(10):
            table._cache.clear()
            t0 = time.perf_counter()
            app.screen._compositor.render_update(full=True)
            full_ms.append((time.perf_counter() - t0) * 1000)
        result["full_ms"] = ms(full_ms)
        key_ms: dict[str, list[float]] = {"down": [], "s": [], "S": [], "pagedown": []}
        for _ in range(5):
            for key in key_ms:
                mark, t0 = len(painted), time.perf_counter()
                await pilot.press(key)
                key_ms[key].append(repaint_ms(mark, t0))
        result["cursor_ms"] = ms(key_ms["down"])
        result["page_ms"] = ms(key_ms["pagedown"])
        result["resort_ms"] = ms(key_ms["s"])  # right after other keys: keys not prepared
        idle_ms = []
        for _ in range(5):
            await asyncio.sleep(1.5)  # a person reading the table before the next `s`
            mark, t0 = len(painted), time.perf_counter()
            await pilot.press("s")
            idle_ms.append(repaint_ms(mark, t0))
        result["resort_idle_ms"] = ms(idle_ms)
        result["reverse_ms"] = ms(key_ms["S"])
        # The tail: presses spread over several samples, so that some meet a snapshot being
        # taken in, the moves and builds it leaves, and the sampler's thread at work.
        spread: dict[str, list[float]] = {"down": [], "s": []}
        ticker = asyncio.create_task(tick_every_second(feed)) if mode == "scripted" else None
        for i in range(presses):
            await asyncio.sleep(SPREAD_GAP_S[i % len(SPREAD_GAP_S)])
            key = "s" if i % 4 == 3 else "down"
            mark, t0 = len(painted), time.perf_counter()
            await pilot.press(key)
            while len(painted) <= mark and time.perf_counter() - t0 < 10:
                await asyncio.sleep(0.001)  # the repaint may come after the press returns
            spread[key].append(repaint_ms(mark, t0))
        if ticker is not None:
            ticker.cancel()
        result["tail_down"] = tail(spread["down"])
        result["tail_s"] = tail(spread["s"])
        result["tail_all"] = tail(spread["down"] + spread["s"])
        # Whole-app CPU at 1 Hz: the sampler (thread) + the UI, over `seconds`.
        cpu0, wall0 = time.process_time(), time.monotonic()
        if mode == "scripted":
            next_at = wall0
            while time.monotonic() - wall0 < seconds:
                next_at += 1.0
                snap = await feed.step()
                await arrived(snap.seq)
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        else:
            mark = len(arrivals)
            await asyncio.sleep(seconds)
            first, last = [], []
            for i, t in enumerate(arrivals[mark:-1], start=mark):
                nxt = arrivals[i + 1]
                # Paints of this snapshot: before the next one and before the header's 1 s tick.
                between = [p for p in painted if t < p < min(nxt, t + 0.5)]
                if between:
                    first.append((between[0] - t) * 1000)
                    last.append((between[-1] - t) * 1000)
            if first:
                result["snapshot_ms"] = ms(first)
                result["settled_ms"] = ms(last)
        cpu = time.process_time() - cpu0
        result["cpu_pct"] = f"{100 * cpu / (time.monotonic() - wall0):.1f}"
        await feed.aclose()
    result["rss_mib"] = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
    return result


def child(n: int, mode: str, seconds: float, presses: int) -> None:
    print(json.dumps(asyncio.run(one_case(n, mode, seconds, presses))))


def run_child(n: int, mode: str, seconds: float, presses: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(n),
            "--mode",
            mode,
            "--seconds",
            str(seconds),
            "--presses",
            str(presses),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        return {"n": n, "mode": mode, "error": out.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def live_cases(sizes: list[int], seconds: float, presses: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from loadgen import LoadGen

    results = []
    with LoadGen(max(8, -(-max(sizes) // 12_500))) as load:  # 12.5k fds per worker (RLIMIT)
        for n in sizes:
            load.grow_to(n)
            results.append(run_child(n, "live", seconds, presses))
    return results


COLUMNS = (
    ("mode", "feed"),
    ("n", "N"),
    ("rows", "rows shown"),
    ("first_ms", "first snapshot ms"),
    ("snapshot_ms", "snapshot → screen ms"),
    ("settled_ms", "→ last repaint ms"),
    ("frame_ms", "table frame ms (cold cache)"),
    ("full_ms", "full screen compose ms"),
    ("cursor_ms", "↓ → repaint ms"),
    ("page_ms", "PgDn → repaint ms"),
    ("resort_idle_ms", "s (re-sort) ms"),
    ("resort_ms", "s at once after s ms"),
    ("reverse_ms", "S (reverse) ms"),
    ("tail_down", "↓ spread ms p50 / p90 / p99 / max (n)"),
    ("tail_s", "s spread ms p50 / p90 / p99 / max (n)"),
    ("tail_all", "all spread keys ms p50 / p90 / p99 / max (n)"),
    ("cpu_pct", "CPU % at 1 Hz"),
    ("rss_mib", "peak RSS MiB"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--live", action="store_true", help="also run on netlink + loadgen")
    parser.add_argument("--live-only", action="store_true", help="only netlink + loadgen")
    parser.add_argument(
        "--presses", type=int, default=40, help="keys pressed spread over samples (the tail)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="scripted", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.mode, args.seconds, args.presses)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = (
        []
        if args.live_only
        else [run_child(n, "scripted", args.seconds, args.presses) for n in sizes]
    )
    if args.live or args.live_only:
        results += live_cases(sizes, args.seconds, args.presses)
    print(
        f"# bench_tui — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        "headless 200x50, median [min–max]; load average at the end "
        f"{os.getloadavg()[0]:.1f} (other work on this host inflates the numbers)\n"
    )
    print("| " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for r in results:
        if "error" in r:
            print(f"| {r['mode']} | {r['n']} | error: {r['error']} |")
            continue
        print("| " + " | ".join(str(r.get(key, "–")) for key, _ in COLUMNS) + " |")


if __name__ == "__main__":
    main()
