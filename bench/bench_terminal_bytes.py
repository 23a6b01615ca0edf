"""Bytes a second the live app writes to its terminal, beside ``top -d 1`` in the same run.

Why: over a slow link (ssh at 64 kbit/s, 8 KB/s) what the TUI writes is what the user waits
for: when it writes more than the link carries, the screen falls behind and every key waits
for the backlog. Both programs run at the same time in 80x24 tmux panes (``pipe-pane``
records every byte they write) on the same host, so a busy machine slows both alike.

The connections come from a network namespace made for the run: three idle sockets (a
listener and both ends of one connection), or with ``--load N`` ``bench/loadgen.py``'s N
sockets. Printed per program: bytes a second over ``--seconds`` (after ``--warmup``), lines
written a second, and the share of the bytes that rewrote a line exactly as it was.

Run as root (``ip netns``)::

    python bench/bench_terminal_bytes.py                  # idle, 30 s
    python bench/bench_terminal_bytes.py --load 20000     # busy
    python bench/bench_terminal_bytes.py --against /work/main   # another checkout beside it
    python bench/bench_terminal_bytes.py --screen ipsec         # the IPsec counters (key 2)
    python bench/bench_terminal_bytes.py --screen help          # the help (?) over the table

``--screen ipsec`` (or ``ipsec-detail``: the first counter's detail open over them) runs
tcpscope inside the namespace (``--netns current``): its IPsec counters are then the
namespace's own kernel counters, 0 and idle. The warmup is longer there (35 s): a
counter's sparkline grows a bar a sample until it fills its cells, a change while it lasts.
``--screen help`` opens the help (``?``) over the table, ``ipsec-help`` over the counters.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

ROOT: Final = Path(__file__).resolve().parents[1]
MOVE: Final = re.compile(rb"\x1b\[(\d+);(\d+)H")
IDLE: Final = (
    "import socket, time\n"
    "srv = socket.socket(); srv.bind(('127.0.0.1', 8080)); srv.listen()\n"
    "c = socket.create_connection(('127.0.0.1', 8080)); a, _ = srv.accept()\n"
    "print('ready', flush=True); time.sleep(100000)\n"
)
SCREEN_KEYS: Final = {
    "connections": (),
    "help": ("?",),
    "ipsec": ("2",),
    "ipsec-detail": ("2", "Enter"),
    "ipsec-help": ("2", "?"),
}
"""The keys that open each ``--screen`` once the app has started."""
KEYS_AFTER_S: Final = 8.0
KEY_GAP_S: Final = 3.0
"""When those keys are sent (the app is up by then), and how far apart (the first counter
row takes the cursor once the screen is drawn: an Enter before that opens nothing)."""


class Written(NamedTuple):
    """What one program wrote in the measured window."""

    bytes_per_s: float
    lines_per_s: float | None
    """None: the program moves the cursor in other ways (``top``), lines are not told apart."""
    same_share: float
    """Share of the bytes that rewrote a line (from a cursor move on) exactly as before."""


def measure(raw: bytes, start: int, seconds: float) -> Written:
    """The window ``raw[start:]`` of a pane's output (what came before tells which lines
    are rewritten as they were)."""
    last: dict[tuple[bytes, bytes], bytes] = {}
    total = same = lines = 0
    moves = list(MOVE.finditer(raw))
    ends = [after.start() for after in moves[1:]] + [len(raw)] if moves else []
    for here, end in zip(moves, ends, strict=True):
        key, body = (here[1], here[2]), raw[here.end() : end]
        if here.start() >= start:
            lines += 1
            total += end - here.start()
            if last.get(key) == body:
                same += end - here.start()
        last[key] = body
    per_s = lines / seconds if moves else None
    return Written((len(raw) - start) / seconds, per_s, same / max(total, 1))


@contextlib.contextmanager
def namespace(load: int, seconds: float) -> Iterator[str]:
    """A network namespace with three idle sockets, or ``load`` loadgen sockets."""
    name = f"bytes{os.getpid()}{secrets.token_hex(2)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    proc: subprocess.Popen[str] | None = None
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        if load:
            argv = [sys.executable, str(ROOT / "bench" / "loadgen.py"), str(load), str(seconds)]
        else:
            argv = [sys.executable, "-c", IDLE]
        # A session of its own: loadgen's workers outlive its SIGTERM; the group is killed.
        proc = subprocess.Popen(
            ["ip", "netns", "exec", name, *argv],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert proc.stdout is not None
        print(f"# namespace {name}: {proc.stdout.readline().strip()}", flush=True)
        yield name
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run(["ip", "netns", "del", name], check=False)


def main(argv: list[str] | None = None) -> int:
    """Run the panes, print bytes a second side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds before it (default 8; 14 with a pop-up; 35 on an IPsec screen)",
    )
    parser.add_argument("--load", type=int, default=0, help="loadgen sockets (0: 3 idle)")
    parser.add_argument("--interval", default="1", help="tcpscope --interval")
    parser.add_argument("--against", type=Path, help="another checkout, run beside this one")
    parser.add_argument(
        "--screen", choices=tuple(SCREEN_KEYS), default="connections", help="what tcpscope shows"
    )
    args = parser.parse_args(argv)
    keys = SCREEN_KEYS[args.screen]
    ipsec = args.screen.startswith("ipsec")
    warmup = args.warmup if args.warmup is not None else 35.0 if ipsec else 14.0 if keys else 8.0
    tmux = ["tmux", "-L", f"bench-bytes-{os.getpid()}"]
    with tempfile.TemporaryDirectory() as tmp, namespace(args.load, args.seconds + 600) as ns:
        app = f"unset COLUMNS LINES; XDG_CONFIG_HOME={tmp} "
        if ipsec:  # IPsec counters come from the namespace tcpscope runs in
            app += f"ip netns exec {ns} {sys.executable} -m tui --netns current"
        else:
            app += f"{sys.executable} -m tui --netns {ns}"
        app += f" --interval {args.interval}"
        panes = {"tcpscope": f"cd {ROOT} && {app}", "top -d 1": "top -d 1"}
        if args.against is not None:
            panes[f"tcpscope ({args.against})"] = f"cd {args.against} && {app}"
        outs: dict[str, Path] = {}
        try:
            for i, (label, command) in enumerate(panes.items()):
                session = f"p{i}"
                subprocess.run(
                    [*tmux, "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command],
                    check=True,
                )
                outs[label] = Path(tmp) / f"{session}.raw"
                pipe = f"cat > {outs[label]}"
                subprocess.run([*tmux, "pipe-pane", "-o", "-t", session, pipe], check=True)
            time.sleep(KEYS_AFTER_S)
            for key in keys:
                for i, label in enumerate(outs):
                    if label.startswith("tcpscope"):
                        subprocess.run([*tmux, "send-keys", "-t", f"p{i}", key], check=True)
                time.sleep(KEY_GAP_S)
            time.sleep(max(0.0, warmup - KEYS_AFTER_S - KEY_GAP_S * len(keys)))
            for i, label in enumerate(outs):  # what is measured (a key taken, a screen shown)
                shown = subprocess.run(
                    [*tmux, "capture-pane", "-p", "-t", f"p{i}"], capture_output=True, text=True
                ).stdout.splitlines()
                print(f"# {label}: {shown[-1] if shown else ''}", flush=True)
            starts = {label: out.stat().st_size for label, out in outs.items()}
            began = time.monotonic()
            time.sleep(args.seconds)
            raws = {label: out.read_bytes() for label, out in outs.items()}
            took = time.monotonic() - began
        finally:
            subprocess.run([*tmux, "kill-server"], capture_output=True)
    what = f"{args.load} loadgen sockets" if args.load else "3 idle sockets"
    print(f"80x24, {what}, tcpscope --interval {args.interval} on {args.screen}, {took:.0f} s")
    print(f"{'program':40s} {'bytes/s':>9s} {'lines/s':>8s} {'rewritten as it was':>20s}")
    for label, raw in raws.items():
        w = measure(raw, starts[label], took)
        lines = "-" if w.lines_per_s is None else f"{w.lines_per_s:.1f}"
        print(f"{label:40s} {w.bytes_per_s:9.0f} {lines:>8s} {w.same_share:19.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
