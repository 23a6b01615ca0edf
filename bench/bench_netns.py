"""Benchmark: many network namespaces against one, for the same number of sockets.

What it prints (medians over ``--ticks`` steady samples, ms, and their ratios):

* ``one``: 50k sockets in one namespace, sampled the usual way: tcpscope running inside
  that namespace (``ip netns exec``), no ``--netns`` — the single-namespace cost;
* ``spread``: the same 50k sockets spread over 20 namespaces, sampled from outside with
  ``--netns`` naming all 20 — a steady sample (nothing changed, so idle namespaces are
  replayed from their counters, see core.netns.reader);
* ``spread, all dumped``: the same, every namespace dumped every sample (the worst case:
  every namespace busy);
* ``idle``: 20 namespaces with no socket added to one namespace's sample: the cost per idle
  namespace;
* ``ss -tan`` in the 50k namespace, as the same-run reference.

Targets (issue 16): spread ≤ 1.2 × one; idle ≤ 1 ms per namespace. Run as root:
``flock /work/coord/bench.lock python bench/bench_netns.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

HOLDER = """
import socket, sys, time
n = int(sys.argv[1])
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(4096)
keep = [lst]
for _ in range(n):
    c = socket.create_connection(lst.getsockname()); s, _a = lst.accept(); keep += [c, s]
print("ready", flush=True)
sys.stdin.read()
"""


def _sample_child(spec: str | None, ticks: int, force: bool) -> dict[str, Any]:
    """Runs in a child: build the source, one first sample, then ``ticks`` timed ones."""
    from core.connections.sources.netlink import NetlinkSource
    from core.netns import reader
    from core.netns.select import namespace_dumps

    if force:
        reader.FORCE_EVERY = 1
    plan = namespace_dumps(spec, tcp_info=False)
    source = NetlinkSource(tcp_info=False, namespaces=plan)
    source.probe()
    count = len(source.sample(datetime.now(UTC), first=True).connections)
    times = []
    for _ in range(ticks):
        t0 = time.perf_counter()
        source.sample(datetime.now(UTC), first=False)
        times.append((time.perf_counter() - t0) * 1000)
    source.close()
    return {"ms": statistics.median(times), "sockets": count}


def _run(prefix: list[str], spec: str | None, ticks: int, force: bool = False) -> dict[str, Any]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    argv = [*prefix, sys.executable, __file__, "--child", json.dumps([spec, ticks, force])]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=here)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _ss(ns: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", ns, "ss", "-tan"], capture_output=True, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


class Lab:
    """Namespaces and holder processes, all removed on exit."""

    def __init__(self) -> None:
        self.tag = f"t16b{os.getpid()}{secrets.token_hex(2)}"
        self.names: list[str] = []
        self.holders: list[subprocess.Popen[str]] = []

    def netns(self) -> str:
        name = f"{self.tag}n{len(self.names)}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        self.names.append(name)
        return name

    def hold(self, ns: str, pairs: int) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", HOLDER, str(pairs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        self.holders.append(proc)

    def release(self) -> None:
        for proc in self.holders:
            proc.kill()
            proc.wait()
        self.holders = []

    def close(self) -> None:
        self.release()
        for name in self.names:
            subprocess.run(["ip", "netns", "del", name], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tcpscope: many namespaces vs one")
    parser.add_argument("--sockets", type=int, default=50_000)
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=9)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        spec, ticks, force = json.loads(args.child)
        print(json.dumps(_sample_child(spec, ticks, force)))
        return 0
    if os.geteuid() != 0:
        print("bench_netns: needs root (ip netns)", file=sys.stderr)
        return 1
    per_ns = args.sockets // args.namespaces
    pairs = per_ns // 2
    lab = Lab()
    try:
        one = lab.netns()
        for _ in range(args.namespaces):
            lab.hold(one, pairs)
        base = _run(["ip", "netns", "exec", one], None, args.ticks)
        ss_ms = _ss(one, args.ticks)
        lab.release()
        spread = [lab.netns() for _ in range(args.namespaces)]
        for ns in spread:
            lab.hold(ns, pairs)
        many = _run([], ",".join(spread), args.ticks)
        dumped = _run([], ",".join(spread), args.ticks, force=True)
        lab.release()
        alone = _run([], spread[0], args.ticks)
        idle = [lab.netns() for _ in range(args.namespaces)]
        with_idle = _run([], ",".join([spread[0], *idle]), args.ticks)
        idle_dumped = _run([], ",".join([spread[0], *idle]), args.ticks, force=True)
    finally:
        lab.close()
    n = args.namespaces
    rows = [
        ("one namespace (inside it)", base, None),
        (f"spread over {n} (steady)", many, many["ms"] / base["ms"]),
        (f"spread over {n}, all dumped", dumped, dumped["ms"] / base["ms"]),
    ]
    print(f"{'':34} {'sockets':>8} {'ms':>9} {'× one':>7}")
    for label, r, ratio in rows:
        shown = f"{ratio:7.2f}" if ratio is not None else ""
        print(f"{label:34} {r['sockets']:>8} {r['ms']:>9.2f} {shown}")
    print(f"{'ss -tan (in the one namespace)':34} {'':>8} {ss_ms:>9.2f} {ss_ms / base['ms']:7.2f}")
    per_idle = (with_idle["ms"] - alone["ms"]) / n
    per_idle_dumped = (idle_dumped["ms"] - alone["ms"]) / n
    print(
        f"idle namespace: {per_idle:.3f} ms each (target ≤ 1); dumped every sample: "
        f"{per_idle_dumped:.3f} ms each"
    )
    ok = many["ms"] <= 1.2 * base["ms"] and per_idle <= 1.0
    print(
        f"targets: spread ≤ 1.2× one: {many['ms'] / base['ms']:.2f}; "
        f"idle ≤ 1 ms: {per_idle:.3f} -> {'met' if ok else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
