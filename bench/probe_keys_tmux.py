"""Where a key's time goes from outside: each press of ``bench_tui_tmux.py`` cut into steps.

Why: at 250k sockets ``bench_tui_tmux.py`` (tmux, a real terminal) measured slower keys than
the in-process ``probe_stalls.py``. This runs the app the same way (120x40 pane, the same
presses and pauses) under ``bench/trace_app.py`` and prints, per press, milliseconds from
``send-keys`` to: the command returned, the input thread's parse (``read``), the UI thread's
(``key``), the claim on the sampler ended (``done``: after the key's frame only with this
branch's app), the next frame composed and written to the terminal, and the pane seen
changed by ``capture-pane``; the UI thread's CPU time from ``key`` to ``done``, and to the
last frame composed before the pane was seen changed (``cpu_to_seen``); with ``--detail``, what
went on meanwhile (collections, samples; with ``--watchdog`` the lock held elsewhere).

A/B on one load: ``--trees`` runs the app of each source tree in turn (``--rounds`` times),
e.g. a ``git worktree`` of main and this one; ``--spawn`` times keys with a ``tmux`` process
per command, as ``bench_tui_tmux.py`` did before round 9. Exploratory, not a benchmark (no
``ss`` ratio); under the bench lock in a namespace:
``python bench/probe_keys_tmux.py --size 250000 --keys 40 --trees /work/main-copy,.``
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_tui import tail
from bench.bench_tui_tmux import FD_LIMIT_PER_WORKER, PAGE_ROWS, SPREAD_GAP_S, Pane
from bench.loadgen import LoadGen

STEPS = ("read", "key", "done", "composed", "written")
Event = list[float | str]
"""(perf_counter, kind, ms, what), as ``trace_app`` writes them."""


def press(pane: Pane, key: str, timeout_s: float = 10.0) -> tuple[float, float, float]:
    """(sent, send-keys returned, pane seen changed), perf_counter."""
    before = pane.text(styles=True)
    sent = time.perf_counter()
    pane.send(key)
    returned = time.perf_counter()
    while time.perf_counter() - sent < timeout_s:
        if pane.text(styles=True) != before:
            return sent, returned, time.perf_counter()
        time.sleep(0.001)
    return sent, returned, float("nan")


def first_after(events: list[Event], kind: str, after: float) -> float:
    return next(
        (float(e[0]) for e in events if e[1] == kind and float(e[0]) >= after), float("nan")
    )


def last_before(events: list[Event], kind: str, before: float) -> float:
    found = [float(e[0]) for e in events if e[1] == kind and float(e[0]) <= before]
    return found[-1] if found else float("nan")


def run_app(
    tree: Path, args: argparse.Namespace
) -> tuple[list[tuple[str, float, float, float]], list[Event]]:
    """Start ``tree``'s app under the tracer, press the keys, quit; the presses and events."""
    trace = Path(tempfile.mkdtemp()) / "trace.jsonl"
    env = ["env", f"TCPSCOPE_TRACE={trace}", f"TCPSCOPE_TREE={tree}"]
    if args.watchdog:
        env.append("TCPSCOPE_TRACE_WATCHDOG=1")
    if args.ui:
        env.append("TCPSCOPE_TRACE_UI=1")
    if args.young:
        env.append("TCPSCOPE_TRACE_YOUNG=1")
    argv = [*env, sys.executable, str(Path(__file__).with_name("trace_app.py")), "--no-ipsec"]
    presses = []
    pane = Pane(argv, spawn=args.spawn)
    try:
        pane.wait_rows(PAGE_ROWS, timeout_s=120)
        pane.wait_whole(timeout_s=120)
        time.sleep(args.settle)
        pane.attach()
        spy = None
        if args.py_spy:
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(pane.pid),
                 "-r", "200", "-f", "raw", "--threads", "--nonblocking", "-o", args.py_spy],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)
        for i in range(args.keys):
            time.sleep(SPREAD_GAP_S[i % len(SPREAD_GAP_S)])
            key = "s" if i % 4 == 3 else "Down"
            presses.append((key, *press(pane, key)))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        pane.send("q")
        begun = time.perf_counter()
        while not trace.exists() and time.perf_counter() - begun < 30:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        pane.close()
    return presses, sorted(json.loads(line) for line in trace.read_text().splitlines())


def report(
    presses: list[tuple[str, float, float, float]], events: list[Event], args: argparse.Namespace
) -> dict[str, list[float]]:
    """Per press: ms from send-keys to each step; the columns."""
    columns: dict[str, list[float]] = {}
    for key, sent, returned, seen in presses:
        at = {"returned": returned}
        at["read"] = first_after(events, "read", sent)
        at["key"] = first_after(events, "key", at["read"])
        at["done"] = first_after(events, "done", at["key"])
        # the key's frame: ``done`` is called as it is drawn, before its ``composed`` note
        at["composed"] = first_after(events, "composed", at["done"])
        at["written"] = first_after(events, "written", at["composed"])
        at["seen"] = seen
        ms = {name: (t - sent) * 1000 for name, t in at.items()}
        cpu = {e[0]: float(e[3]) for e in events if e[1] in ("key", "done", "composed")}
        ms["ui_cpu"] = cpu.get(at["done"], float("nan")) - cpu.get(at["key"], float("nan"))
        # the UI thread's CPU from the key to the last frame composed before the pane changed
        shown = last_before(events, "composed", seen)
        ms["cpu_to_seen"] = cpu.get(shown, float("nan")) - cpu.get(at["key"], float("nan"))
        for name, value in ms.items():
            columns.setdefault(name, []).append(value)
        if args.detail:
            print(f"{key:5} " + " ".join(f"{n} {v:6.1f}" for n, v in ms.items()))
            if ms["seen"] > args.above:
                for e in events:
                    if sent - 0.2 <= float(e[0]) <= seen and e[1] not in STEPS:
                        ago = (float(e[0]) - sent) * 1000
                        print(f"      {ago:+7.1f} {e[1]:6} {float(e[2]):6.1f} {str(e[3])[:300]}")
    return columns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=250_000)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--settle", type=float, default=12.0, help="seconds before the keys")
    parser.add_argument("--trees", default=".", help="source trees to run in turn")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--spawn", action="store_true", help="a tmux process per command")
    parser.add_argument("--watchdog", action="store_true")
    parser.add_argument("--py-spy", help="py-spy's raw samples of the keys' span, to this file")
    parser.add_argument("--ui", action="store_true", help="UI handlers and timers of 2 ms+")
    parser.add_argument("--young", action="store_true", help="what young collections walk")
    parser.add_argument("--detail", action="store_true", help="every press")
    parser.add_argument("--above", type=float, default=100.0, help="presses shown with events")
    args = parser.parse_args()
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    every: dict[Path, dict[str, list[float]]] = {t: {} for t in trees}
    with LoadGen(max(8, -(-args.size // FD_LIMIT_PER_WORKER))) as load:
        load.grow_to(args.size)
        for round_ in range(args.rounds):
            for tree in trees:
                presses, events = run_app(tree, args)
                columns = report(presses, events, args)
                samples = [float(e[2]) for e in events if e[1] == "sample"]
                steps = "; ".join(f"{n} {tail(v)}" for n, v in columns.items())
                sample_ms = statistics.median(samples) if samples else float("nan")
                print(
                    f"# {tree} round {round_ + 1}: samples {sample_ms:.0f} ms; {steps}", flush=True
                )
                for name, values in columns.items():
                    every[tree].setdefault(name, []).extend(values)
    print("# ms p50 / p90 / p99 / max (n), all rounds")
    for tree, columns in every.items():
        print(f"# {tree}: " + "; ".join(f"{n} {tail(v)}" for n, v in columns.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
