"""Where a one-shot's wall time goes: per phase, from outside the process and inside it.

Not a benchmark (``bench_oneshot.py`` gives the ratios to ``ss``): the same whole process
(``tcpscope connections`` table, ``--json`` or ``--csv``, its output drained through a pipe),
started under a small driver that runs the tree's own console script (pyproject's
``[project.scripts]``) and times its phases in place, each module patched as the run imports
it (not before: the one-shot forks its owner scan before the heavy imports, and the fork's
time, with the process's CPU until it, is the first line): when each began and ended after
the process was spawned (one monotonic clock for the bench and the process) and the CPU its
main thread spent in it, plus the first output byte as the bench saw it, the process's whole
CPU and its children's (the forked owner scan), and how much of the process list the scanning
child had claimed when the main thread reached the join (1.000: it was on its last process or
done, so the join did not wait on it). Why: a one-shot is a chain of phases on the
main thread, the reader thread (the kernel's dump) and the scanning child share the two cores
with it, and only timestamps show which phase waits on which.

``--trees`` alternates source trees on one load (an A/B: ``--trees /path/to/main,.``); each run
runs its tree's code (the tree first on sys.path). Phases a tree does not have are left out.

Run as root inside a private network namespace: ``python bench/probe_oneshot.py --size 50000``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadGen

FORMATS: Final = {"table": (), "json": ("--json",), "csv": ("--csv",)}
PHASES: Final = (
    # (label, module, attribute path): in the order a one-shot meets them
    ("owner scan forked", "", ""),  # os.register_at_fork: the fork, and the CPU until it
    ("sample", "core.connections.sources.netlink", "NetlinkSource.sample"),
    ("dump", "core.connections.sources.netlink", "NetlinkSource._dump"),
    ("records+owners", "core.connections.sources.netlink", "NetlinkSource._apply"),
    ("  start records", "core.connections.sources.netlink", "NetlinkSource._start_all"),
    ("  early order", "core.commands.connections", "EarlyOrder.__call__"),
    ("  owner scan in", "core.connections.sources.pid_resolver", "PidResolver.resolve"),
    ("  owners joined", "core.connections.sources.pid_resolver", "PidResolver.ownerships"),
    ("processes", "core.connections.sources.procinfo", "ProcessCache.update"),
    ("early order kept", "core.commands.connections", "EarlyOrder.of"),
    ("select+sort", "core.commands.connections", "select"),
    ("write", "core.commands.connections", "_write"),
    ("  json digests", "core.connections.report.json_writer", "_TcpInfoTexts.__init__"),
)
DRIVER: Final = """
import functools, importlib, importlib.abc, json, os, resource, sys, time, tomllib
sys.path.insert(0, os.getcwd())
spans = {}
def timed(label, fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        start, cpu = time.monotonic(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            span = spans.setdefault(label, [start, 0.0, 0.0])
            span[1] = time.monotonic()
            span[2] += time.thread_time() - cpu
    return run
wanted = {}
for label, module, path in json.loads(sys.argv[1]):
    wanted.setdefault(module, []).append((label, path))
progress = {}
wanted.setdefault("core.connections.sources.fd_scan", [])
def patch(module):
    if module.__name__ == "core.connections.sources.fd_scan":  # how far the child got
        result = module.ForkedScan.result
        def joined(scan):
            if scan._shared is not None and scan._pids:
                front = module._CLAIMS.unpack_from(scan._shared)[0]
                progress["child_share_at_join"] = front / len(scan._pids)
            return result(scan)
        module.ForkedScan.result = joined
    for label, path in wanted.get(module.__name__, ()):
        owner = module
        try:
            *outer, name = path.split(".")
            for part in outer:
                owner = getattr(owner, part)
            setattr(owner, name, timed(label, getattr(owner, name)))
        except AttributeError:
            pass
class Patching(importlib.abc.MetaPathFinder):
    # Patches each module as it is imported, where the run imports it (not before).
    def find_spec(self, name, path, target=None):
        if name not in wanted:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                execute = spec.loader.exec_module
                def exec_module(module, execute=execute):
                    execute(module)
                    patch(module)
                spec.loader.exec_module = exec_module
                return spec
        return None
sys.meta_path.insert(0, Patching())
parent = os.getpid()
def fork_began():  # its CPU: the whole process's until the fork
    spans.setdefault("owner scan forked", [time.monotonic(), 0.0, time.process_time()])
def fork_done():  # the first fork (the owner scan's), not the table writer's or others
    span = spans["owner scan forked"]
    span[1] = span[1] or time.monotonic()
os.register_at_fork(before=fork_began, after_in_parent=fork_done)
def report(code):
    sys.stdout.flush()
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"spans": spans, "cpu": me.ru_utime + me.ru_stime,
                      "children_cpu": kids.ru_utime + kids.ru_stime, "code": code,
                      **progress}), file=sys.stderr, flush=True)
real_exit = os._exit
def leave(code):  # the one-shot ends itself once its output is flushed
    if os.getpid() == parent:
        report(code)
    real_exit(code)
os._exit = leave
# The tree's own console script, run as pip's wrapper runs it.
with open("pyproject.toml", "rb") as file:
    entry = tomllib.load(file)["project"]["scripts"]["tcpscope"]
module, _, function = entry.partition(":")
sys.argv = ["tcpscope", "connections", *sys.argv[2:]]
code = getattr(importlib.import_module(module), function)()
report(code)
"""


def run_once(tree: Path, fmt: str) -> dict[str, object]:
    """One one-shot under the driver, its output drained: the driver's report, with times
    made relative to the spawn, the first byte and the end."""
    phases = json.dumps(PHASES)
    spawned = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, phases, *FORMATS[fmt]],
        cwd=tree,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    fd = proc.stdout.fileno()
    first = float("nan")
    while True:
        select.select([fd], [], [])
        if not os.read(fd, 1 << 20):
            break
        if first != first:
            first = time.monotonic() - spawned
    err = proc.stderr.read()
    proc.wait()
    end = time.monotonic() - spawned
    lines = [line for line in err.decode(errors="replace").splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{tree}: tcpscope connections {fmt} failed: {err[-300:]!r}")
    report: dict[str, object] = json.loads(lines[-1])
    spans = report["spans"]
    assert isinstance(spans, dict)
    report["spans"] = {k: (s - spawned, e - spawned, c) for k, (s, e, c) in spans.items()}
    report["first_byte"] = first
    report["end"] = end
    return report


def summary(reports: list[dict[str, object]]) -> dict[str, str]:
    """Per phase, the medians over runs: ``start–end s (main-thread CPU)``."""
    out: dict[str, str] = {}
    for label, _module, _path in PHASES:
        found = [r["spans"][label] for r in reports if label in r["spans"]]  # type: ignore[operator,index]
        if found:
            start, end, cpu = (statistics.median(v[i] for v in found) for i in range(3))
            out[label] = f"{start:.3f}–{end:.3f} ({cpu:.3f})"
    for key in ("first_byte", "end", "cpu", "children_cpu", "child_share_at_join"):
        found = [float(r[key]) for r in reports if key in r]  # type: ignore[arg-type]
        if found:
            out[key] = f"{statistics.median(found):.3f}"
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the load, alternate the trees' one-shots, print a Markdown table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", choices=FORMATS, default="json")
    parser.add_argument("--trees", default=".", help="source trees, comma-separated")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    for tree in trees:  # as an installed package would have them
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "core", "tui"],
            cwd=tree,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    reports: dict[Path, list[dict[str, object]]] = {tree: [] for tree in trees}
    with LoadGen(args.workers) as load:
        load.grow_to(args.size)
        load.time_wait(args.size // 20)
        print(f"# probe_oneshot {args.format} at {args.size:,} sockets, {args.runs} runs a tree")
        print(f"# load average {os.getloadavg()[0]:.2f}")
        for n in range(args.runs):
            for tree in trees if n % 2 == 0 else trees[::-1]:
                reports[tree].append(run_once(tree, args.format))
    table = {tree: summary(found) for tree, found in reports.items()}
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    print()
    print("| s after spawn (main-thread CPU s) | " + " | ".join(str(t) for t in trees) + " |")
    print("|---" * (len(trees) + 1) + "|")
    labels = [label for label, _m, _p in PHASES]
    for key in (*labels, "first_byte", "end", "cpu", "children_cpu", "child_share_at_join"):
        cells = [table[tree].get(key, "–") for tree in trees]
        if any(cell != "–" for cell in cells):
            print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
