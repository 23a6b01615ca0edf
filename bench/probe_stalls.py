"""What holds the app's UI thread when a key waits: a timeline of stalls, and their stacks.

Why: a key pressed at 250k rows waits for whatever the UI thread (or the interpreter lock) is
busy with — a snapshot taken in, a slice of a sort, a garbage collection, the sampler's
thread in C. Medians hide that; this tool shows each stall with its cause. It runs the real
app headless (200x50) on the netlink source (tcp_info on demand, as the app runs it), waits
for two samples, presses keys spread over ``--seconds``, and prints:

* key latencies (press to the next screen update): p50 / p90 / p99 / max;
* a timeline of everything above ``--above`` ms: each asyncio callback (a task step), Textual
  message handler and timer callback, each garbage collection (generation, thread), each
  sample (its duration) and each key;
* the watchdog: a thread waking every 2 ms records its own lateness (the interpreter lock held
  elsewhere, with every thread's innermost frames), and samples the UI thread's stack while
  the event loop lags by more than 20 ms.

Exploratory, not a benchmark (no `ss` ratio): run it on a load, e.g. in a namespace holding
``bench/loadgen.py`` sockets, under the bench lock:
``python bench/probe_stalls.py --seconds 30 --presses 60``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_tui import record_paints, tail  # noqa: E402
from bench.trace_app import frames_text, watch_gc  # noqa: E402

T0 = time.perf_counter()
EVENTS: list[tuple[float, str, float, str]] = []
"""(seconds since start, kind, ms, what)."""
KEYS = ("down", "down", "s", "down", "pagedown", "down", "up")


def note(kind: str, ms: float, what: str) -> None:
    EVENTS.append((time.perf_counter() - T0, kind, ms, what))


def probe_gc(above_ms: float) -> None:
    """Every collection longer than ``above_ms``: generation, thread, objects collected."""
    watch_gc(above_ms, lambda _begun, ms, what: note("gc", ms, what))


UI_CPU_MS: list[float] = []
"""The UI thread's CPU time of every asyncio callback: what it did in one go, whatever the
other threads and processes took meanwhile (wall time on a busy host is mostly waiting)."""


def probe_loop(above_ms: float) -> None:
    """Every asyncio callback (a task's step included) longer than ``above_ms``, with its CPU
    time; every callback's CPU time in :data:`UI_CPU_MS`."""
    import asyncio.events

    run = asyncio.events.Handle._run

    def timed(self: Any) -> None:
        begun, cpu = time.perf_counter(), time.thread_time()
        run(self)
        UI_CPU_MS.append(used := (time.thread_time() - cpu) * 1000)
        if (ms := (time.perf_counter() - begun) * 1000) > above_ms:
            owner = getattr(self._callback, "__self__", None)
            what = getattr(self._callback, "__qualname__", repr(self._callback))
            if isinstance(owner, asyncio.Task):
                what = f"task {getattr(owner.get_coro(), '__qualname__', '?')}"
            note("loop", ms, f"{what} (cpu {used:.1f} ms)")

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]


def probe_textual(above_ms: float) -> None:
    """Every message handler and timer callback longer than ``above_ms`` (wall time)."""
    from textual.message_pump import MessagePump
    from textual.timer import Timer

    dispatch = MessagePump._dispatch_message

    async def timed_dispatch(self: Any, message: Any) -> None:
        begun = time.perf_counter()
        await dispatch(self, message)
        if (ms := (time.perf_counter() - begun) * 1000) > above_ms:
            note("msg", ms, f"{type(self).__name__} <- {type(message).__name__}")

    tick = Timer._tick

    async def timed_tick(self: Any, **kwargs: Any) -> None:
        begun = time.perf_counter()
        await tick(self, **kwargs)
        if (ms := (time.perf_counter() - begun) * 1000) > above_ms:
            note("timer", ms, f"{self.name} {getattr(self._callback, '__qualname__', '')}")

    MessagePump._dispatch_message = timed_dispatch  # type: ignore[method-assign]
    Timer._tick = timed_tick  # type: ignore[method-assign]


class Watchdog(threading.Thread):
    """Wakes every 2 ms: its own lateness (the lock held elsewhere), and the UI thread's stack
    while the event loop's heartbeat is more than 20 ms old."""

    def __init__(self, ui_thread: int) -> None:
        super().__init__(daemon=True, name="watchdog")
        self.ui_thread = ui_thread
        self.beat = time.perf_counter()
        self.stopped = False
        self.stacks: collections.Counter[str] = collections.Counter()
        self.waits: list[tuple[float, float, str]] = []

    def run(self) -> None:
        me = threading.get_ident()
        while not self.stopped:
            asleep = time.perf_counter()
            time.sleep(0.002)
            late = (time.perf_counter() - asleep - 0.002) * 1000
            frames = sys._current_frames()
            if late > 15:
                others = " || ".join(frames_text(f, 3) for t, f in frames.items() if t != me)
                self.waits.append((time.perf_counter() - T0, late, others))
            ui = frames.get(self.ui_thread)
            if ui is not None and time.perf_counter() - self.beat > 0.02:
                self.stacks[frames_text(ui, 6)] += 1


async def probe(seconds: float, presses: int, above_ms: float) -> None:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()  # the presses must not be saved
    from core.connections.sources import get_source
    from core.sampling.sampler import Sampler
    from tui.app import TcpscopeApp

    probe_gc(above_ms / 4)
    probe_loop(above_ms)
    probe_textual(above_ms)
    feed = Sampler(get_source("netlink", tcp_info=False), interval_s=1.0)
    stream = feed.stream

    async def noted_stream() -> Any:
        async for snap in stream():
            note("snap", snap.stats.sample_ms, f"seq {snap.seq}, {len(snap.connections)} rows")
            yield snap

    feed.stream = noted_stream  # type: ignore[method-assign]
    app = TcpscopeApp(feed, hostname="probe")
    painted = record_paints(app)
    watchdog = Watchdog(threading.get_ident())
    latencies: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:
        while app.snapshot is None or app.snapshot.seq < 2:
            await asyncio.sleep(0.01)
        watchdog.start()

        async def heartbeat() -> None:
            while True:
                watchdog.beat = time.perf_counter()
                await asyncio.sleep(0.002)

        beating = asyncio.create_task(heartbeat())
        for i in range(presses):
            key = KEYS[i % len(KEYS)]
            mark, begun = len(painted), time.perf_counter()
            await pilot.press(key)
            while len(painted) <= mark and time.perf_counter() - begun < 5:
                await asyncio.sleep(0.001)
            ms = (painted[mark] - begun) * 1000 if len(painted) > mark else float("nan")
            latencies.append(ms)
            note("key", ms, key)
            await asyncio.sleep(seconds / presses)
        beating.cancel()
        watchdog.stopped = True
        await feed.aclose()
    print(f"# keys ms p50 / p90 / p99 / max (n): {tail(latencies)}; load {os.getloadavg()[0]:.1f}")
    busy = [ms for ms in UI_CPU_MS if ms >= 1]
    print(
        f"# UI callbacks of 1 ms of CPU or more, ms p50 / p90 / p99 / max (n): {tail(busy)}; "
        f"over 12 ms: {sum(ms > 12 for ms in busy)}, over 20 ms: {sum(ms > 20 for ms in busy)}"
    )
    print("# timeline: seconds, kind, ms, what")
    for at, kind, ms, what in sorted(EVENTS):
        print(f"{at:8.3f} {kind:5} {ms:7.1f} {what}")
    print("# the watchdog late by more than 15 ms: seconds, ms, every other thread's frames")
    for at, late, others in watchdog.waits:
        print(f"{at:8.3f} {late:6.1f} {others}")
    print("# the UI thread's stacks while the loop lagged by more than 20 ms (2 ms samples)")
    for stack, count in watchdog.stacks.most_common(30):
        print(f"{count:5} {stack}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="time the presses span")
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--above", type=float, default=20.0, help="ms that make a stall")
    args = parser.parse_args()
    asyncio.run(probe(args.seconds, args.presses, args.above))


if __name__ == "__main__":
    main()
