"""The live app measured from outside, as a user meets it: tmux, a real terminal, real sockets.

Why from outside: the first full table is what a user waits for after pressing Enter, and it
includes the interpreter, the imports, the first (cold) sample and the first frame; CPU and
memory are what ``top`` shows. Per size N (``bench/loadgen.py`` holds N loopback sockets):

* first full table: seconds from starting ``tcpscope --no-ipsec`` in a 120x40 tmux pane until
  the pane shows a full page of connection rows (polled with ``capture-pane``);
* owners in: seconds until that page's owners are filled in (the first page is drawn while
  they are looked up, and says so), i.e. the whole first sample is in the table;
* CPU % of one core at the default 1 s interval, over ``--seconds`` from 2 s after that;
* RSS (the median of one reading a second over the CPU window; and peak RSS) from /proc,
  and RSS above the same app on an idle host (the baseline, measured first with the load
  not yet opened, the same way), per connection;
* Down and ``s`` (re-sort): seconds from ``send-keys`` until the pane changes (the poll adds
  a few ms; the in-process timings of ``bench_tui.py`` are the finer ones), ``--keys``
  presses spread over several samples: medians, and p90 / p99 / max of all presses.
* ``ss -tan`` in the same run, for scale.

Run as root (owners of every socket): ``python bench/bench_tui_tmux.py --sizes 50000,250000``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadGen

ROW: Final = re.compile(r"\d+\.\d+\.\d+\.\d+:\d+|\]:\d+")
FD_LIMIT_PER_WORKER: Final = 12_500
PAGE_ROWS: Final = 30
PAGE_NOTE: Final = "owners: looking up"
SPREAD_GAP_S: Final = (0.23, 0.41, 0.17, 0.53, 0.31)
"""Pauses before each key press: about 3 a second, at every phase of the sampler's second."""


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


class Control:
    """A tmux control-mode client: commands sent on one connection, no process per command.

    Why: a ``tmux`` process per ``send-keys`` and per ``capture-pane`` (polled every ms while
    a key is timed) kept about one of the host's two cores busy while the app answered
    the key, and the time to start ``tmux send-keys`` (3-60 ms on a busy host) was counted
    in the key's latency (measured with ``bench/probe_keys_tmux.py`` at 250k).
    """

    def __init__(self, session: str) -> None:
        self._proc = subprocess.Popen(
            ["tmux", "-C", "attach-session", "-t", session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._block()  # attach-session's own
        self.run("refresh-client", "-f", "no-output")  # no %output notifications

    def run(self, *args: str) -> str:
        """Run one tmux command; its output."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write((" ".join(_quoted(a) for a in args) + "\n").encode())
        self._proc.stdin.flush()
        return self._block()

    def _block(self) -> str:
        """The next command output block (notifications between blocks are skipped)."""
        assert self._proc.stdout is not None
        lines: list[bytes] = []
        inside = False
        for line in self._proc.stdout:
            if not inside:
                inside = line.startswith(b"%begin ")
            elif line.startswith((b"%end ", b"%error ")):
                if line.startswith(b"%error "):
                    raise RuntimeError(b"".join(lines).decode(errors="replace"))
                return b"".join(lines).decode(errors="replace")
            else:
                lines.append(line)
        raise RuntimeError("tmux control client ended")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        self._proc.wait(10)


def _quoted(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


class Pane:
    """One tmux session running the app (with preferences of its own: the bench's ``s``
    presses are saved, and must not change the next run's order, nor the user's).

    Keys are sent and the pane read for them through one control-mode client
    (:class:`Control`), or with ``spawn`` a ``tmux`` process per command (as before round 9;
    the first table is waited for that way either way)."""

    def __init__(self, argv: list[str], spawn: bool = False) -> None:
        self.name = f"tcpscope-bench-{os.getpid()}"
        self._config = tempfile.TemporaryDirectory(prefix="tcpscope-bench-")
        env = ["env", f"XDG_CONFIG_HOME={self._config.name}"]
        self.started = time.perf_counter()
        _tmux("new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", *env, *argv)
        self.pid = int(_tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").strip())
        self._spawn = spawn
        self._control: Control | None = None

    def tmux(self, *args: str) -> str:
        """One tmux command's output."""
        return _tmux(*args) if self._control is None else self._control.run(*args)

    def attach(self) -> None:
        """From now on commands go through a control client (unless ``spawn``)."""
        if self._control is None and not self._spawn:
            self._control = Control(self.name)

    def send(self, key: str) -> None:
        """Press ``key`` in the pane."""
        self.tmux("send-keys", "-t", self.name, key)

    def text(self, styles: bool = False) -> str:
        """The pane's text; with ``styles``, its colours too (a cursor move changes only
        those: without them Down was timed until the header's age next ticked)."""
        return self.tmux("capture-pane", "-p", *(["-e"] if styles else []), "-t", self.name)

    def wait_rows(self, rows: int, timeout_s: float) -> float:
        """Seconds from start until the pane shows ``rows`` connection rows."""
        while time.perf_counter() - self.started < timeout_s:
            if len(ROW.findall(self.text())) >= rows:
                return time.perf_counter() - self.started
            time.sleep(0.005)
        raise TimeoutError(f"no full table within {timeout_s} s")

    def wait_whole(self, timeout_s: float) -> float:
        """Seconds from start until the table is whole: a first page says its owners are
        still being looked up (``PAGE_NOTE``); once that is gone the first sample is in."""
        while time.perf_counter() - self.started < timeout_s:
            if PAGE_NOTE not in self.text():
                return time.perf_counter() - self.started
            time.sleep(0.02)
        raise TimeoutError(f"owners not filled in within {timeout_s} s")

    def key_latency(self, key: str, timeout_s: float = 10.0) -> float:
        """Seconds from sending ``key`` until the pane changes (text or colours)."""
        self.attach()
        before = self.text(styles=True)
        sent = time.perf_counter()
        self.send(key)
        while time.perf_counter() - sent < timeout_s:
            if self.text(styles=True) != before:
                return time.perf_counter() - sent
            time.sleep(0.001)
        return float("nan")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mib(self) -> tuple[float, float]:
        status = Path(f"/proc/{self.pid}/status").read_text()
        values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
        return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024

    def close(self) -> None:
        if self._control is not None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self._control.close()
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        self._config.cleanup()


def _app() -> list[str]:
    exe = Path(sys.executable).with_name("tcpscope")
    return [str(exe), "--no-ipsec"] if exe.exists() else [sys.executable, "-m", "tui", "--no-ipsec"]


def _ss_tan() -> float:
    start = time.perf_counter()
    subprocess.run([shutil.which("ss") or "ss", "-tan"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(
    seconds: float, keys: int, rows: int = PAGE_ROWS, spawn: bool = False
) -> dict[str, float]:
    """Start the app, wait for ``rows`` rows, then CPU, memory and key latencies."""
    pane = Pane(_app(), spawn=spawn)
    try:
        first = pane.wait_rows(rows, timeout_s=120)
        whole = pane.wait_whole(timeout_s=120)
        time.sleep(2.0)  # CPU at 1 Hz is the steady state's: from 2 s after the whole table
        cpu0, wall0 = pane.cpu_s(), time.perf_counter()
        # RSS once a second over the same window: its median (one reading can land in a
        # sample's few transient MiB, in flight for ~0.1 s of each second).
        readings = []
        while (left := seconds - (time.perf_counter() - wall0)) > 0:
            time.sleep(min(1.0, left))
            readings.append(pane.memory_mib()[0])
        cpu = 100 * (pane.cpu_s() - cpu0) / (time.perf_counter() - wall0)
        rss, peak = statistics.median(readings or [pane.memory_mib()[0]]), pane.memory_mib()[1]
        # Spread over several samples: some presses meet a snapshot being taken in, the
        # work it leaves, or the sampler's thread at work (the tail, not only the median).
        downs: list[float] = []
        sorts: list[float] = []
        for i in range(keys):
            time.sleep(SPREAD_GAP_S[i % len(SPREAD_GAP_S)])
            if i % 4 == 3:
                sorts.append(1000 * pane.key_latency("s"))
            else:
                downs.append(1000 * pane.key_latency("Down"))
        every = sorted(downs + sorts)
        return {
            "first_s": first,
            "whole_s": whole,
            "cpu_pct": cpu,
            "rss_mib": rss,
            "peak_mib": peak,
            "down_ms": statistics.median(downs),
            "sort_ms": statistics.median(sorts) if sorts else float("nan"),
            "p90_ms": every[min(len(every) - 1, int(0.9 * len(every)))],
            "p99_ms": every[min(len(every) - 1, int(0.99 * len(every)))],
            "max_ms": every[-1],
            "presses": len(every),
        }
    finally:
        pane.close()


def main(argv: list[str] | None = None) -> int:
    """Baseline on the idle host, then each size; prints a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU measuring window")
    parser.add_argument(
        "--keys", type=int, default=40, help="key presses (3 Down, then s), spread over samples"
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="time keys with a tmux process per send-keys and capture-pane (before round 9)",
    )
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print("bench_tui_tmux: needs tmux", file=sys.stderr)
        return 2
    sizes = sorted(int(s) for s in args.sizes.split(","))
    workers = max(8, -(-max(sizes) // FD_LIMIT_PER_WORKER))
    print(f"# bench_tui_tmux {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.uname().nodename}, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    base = measure(args.seconds, keys=1, rows=1)
    print(
        f"# baseline (idle host): RSS {base['rss_mib']:.0f} MiB, "
        f"first table {base['first_s']:.2f} s"
    )
    print()
    print("| N sockets | first full table s | owners in s | `ss -tan` s | CPU % at 1 Hz "
          "| RSS MiB [peak] | bytes per connection above baseline "
          "| Down ms | s (re-sort) ms | keys p90 / p99 / max ms (n) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    with LoadGen(workers) as load:
        for size in sizes:
            load.grow_to(size)
            ss = statistics.median(_ss_tan() for _ in range(3))
            row = measure(args.seconds, args.keys, spawn=args.spawn)
            per_conn = (row["rss_mib"] - base["rss_mib"]) * 1024 * 1024 / size
            print(
                f"| {size:,} | {row['first_s']:.2f} | {row['whole_s']:.2f} | {ss:.2f} | "
                f"{row['cpu_pct']:.1f} | "
                f"{row['rss_mib']:.0f} [{row['peak_mib']:.0f}] | {per_conn:.0f} | "
                f"{row['down_ms']:.0f} | {row['sort_ms']:.0f} | "
                f"{row['p90_ms']:.0f} / {row['p99_ms']:.0f} / {row['max_ms']:.0f} "
                f"({row['presses']:.0f}) |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
