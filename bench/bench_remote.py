"""Bandwidth of ``tcpscope --remote``: bytes/s the agent's stream costs at 1k connections.

Needs root and openssh-server (the SSH lab of ``tests/lab/ssh_lab.py``): a real sshd in a
network namespace, the agent started on the system python3 there. The namespace holds
``--sockets`` established sockets (``loadgen.py``, both ends of loopback connections) with
``--churn`` of them replaced every second (reset and reopened: removals and additions).

Measured per mode, over ``--seconds`` after the first frame:

* ``wire``: the agent's compressed stream as the client reads it from ssh (first frame =
  hello + header + key frame; then deltas only, heartbeats included);
* ``json``: the same messages uncompressed (what the deflate stream saves);
* ``ssh+tcp``: bytes on the veth from the server to the client (ssh's encryption and framing,
  TCP/IP headers and ACKs included);
* ``ss -tanp``: the reference of the same run — bytes per second of ``ss -tanp`` output in the
  namespace, i.e. what watching it with ``ssh host 'while :; do ss -tanp; sleep 1; done'``
  would transfer before compression.

Modes: ``app`` (what the TUI asks: tcp_info only for the shown connection, IPsec on),
``record`` (every connection's tcp_info in every sample, as ``record`` and ``connections``)
and ``no-ipsec`` (the app with ``--no-ipsec``: the IPsec view's per-sample changes — rates,
history — are most of a delta on a host this quiet).
Run: ``sudo python bench/bench_remote.py [--sockets 1000] [--churn 0.01] [--seconds 30]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.remote.feed import stream_config
from core.remote.session import AgentSession
from core.remote.target import parse_target
from tests.lab.ssh_lab import SshLab, have_ssh_lab

HERE = Path(__file__).resolve().parent


def hold_load(sockets: int, churn: float) -> int:
    """(Runs inside the namespace.) Hold the load, churn every second until stdin closes."""
    sys.path.insert(0, str(HERE))
    import select

    from loadgen import LoadGen

    per_second = max(1, round(sockets * churn / 2))  # connections: two sockets each
    with LoadGen(workers=4) as load:
        load.grow_to(sockets)
        print(f"ready {2 * load.connections} {per_second}", flush=True)
        while not select.select([sys.stdin], [], [], 1.0)[0]:
            load.churn(per_second)
    return 0


def veth_tx(lab: SshLab) -> int:
    """Bytes the server side of the veth sent (towards the client)."""
    path = Path(f"/sys/class/net/{lab.veth_out}/statistics/rx_bytes")
    return int(path.read_text())


def measure(lab: SshLab, mode: str, seconds: float) -> dict[str, float]:
    """One stream of ``seconds`` after its first frame; bytes per second by layer."""
    config = stream_config(
        interval_s=1.0,
        ghost_ttl_s=5.0,
        ipsec=mode != "no-ipsec",
        provider="auto",
        vici=None,
        every_tcp_info=mode == "record",
    )
    session = AgentSession(parse_target(lab.target), config, batch=True)
    session.start()
    first = first_json = 0
    json_bytes = samples = rows = 0
    ss_bytes: list[int] = []
    start = veth_start = 0.0
    wire_start = 0
    try:
        for message in session.messages():
            size = len(json.dumps(message, separators=(",", ":"))) + 1
            if message.get("k") == "K" and not first:
                first, first_json = session.wire_bytes, size
                start, veth_start = time.monotonic(), veth_tx(lab)
                wire_start = session.wire_bytes
                rows = len(message["c"])
                continue
            if not first:
                continue
            json_bytes += size
            if message.get("k") == "D":
                samples += 1
                ss = subprocess.run(
                    ["ip", "netns", "exec", lab.netns, "ss", "-tanp"],
                    capture_output=True,
                    check=True,
                )
                ss_bytes.append(len(ss.stdout))
            if time.monotonic() - start >= seconds:
                break
        elapsed = time.monotonic() - start
        wire = (session.wire_bytes - wire_start) / elapsed
        on_veth = (veth_tx(lab) - veth_start) / elapsed
    finally:
        session.close()
    ss_per_s = statistics.median(ss_bytes) if ss_bytes else float("nan")
    return {
        "rows": rows,
        "first_frame_wire": first,
        "first_frame_json": first_json,
        "samples": samples,
        "wire_Bps": wire,
        "json_Bps": json_bytes / elapsed,
        "ssh_tcp_Bps": on_veth,
        "ss_tanp_Bps": ss_per_s,
        "wire_per_ss": wire / ss_per_s,
        "ssh_tcp_per_ss": on_veth / ss_per_s,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse options, run both modes, print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--churn", type=float, default=0.01, help="share replaced per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--hold-load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hold_load:
        return hold_load(args.sockets, args.churn)
    problem = have_ssh_lab()
    if problem:
        print(f"bench_remote: {problem}", file=sys.stderr)
        return 1
    results: dict[str, dict[str, float]] = {}
    with SshLab() as lab:
        load = subprocess.Popen(
            [
                *("ip", "netns", "exec", lab.netns, sys.executable, __file__, "--hold-load"),
                *("--sockets", str(args.sockets), "--churn", str(args.churn)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert load.stdout is not None and load.stdin is not None
        ready = load.stdout.readline().split()
        print(f"load: {ready[1]} sockets, {ready[2]} connections reset+reopened per second")
        env_before = os.environ.get("TCPSCOPE_SSH")
        os.environ["TCPSCOPE_SSH"] = lab.ssh_command
        try:
            for mode in ("app", "record", "no-ipsec"):
                results[mode] = measure(lab, mode, args.seconds)
        finally:
            if env_before is None:
                os.environ.pop("TCPSCOPE_SSH", None)
            load.stdin.close()
            load.wait(30)
    head = (
        f"{'mode':<8} {'rows':>5} {'first frame wire/json B':>24} {'wire B/s':>9} "
        f"{'json B/s':>9} {'ssh+tcp B/s':>11} {'ss -tanp B/s':>12} {'wire/ss':>8} {'ssh/ss':>7}"
    )
    print(head)
    for mode, r in results.items():
        print(
            f"{mode:<8} {r['rows']:>5.0f} {r['first_frame_wire']:>11.0f} / "
            f"{r['first_frame_json']:<10.0f} {r['wire_Bps']:>9.0f} {r['json_Bps']:>9.0f} "
            f"{r['ssh_tcp_Bps']:>11.0f} {r['ss_tanp_Bps']:>12.0f} {r['wire_per_ss']:>8.3f} "
            f"{r['ssh_tcp_per_ss']:>7.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
