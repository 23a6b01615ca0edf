"""bench/loadgen.py's workers end with it, however it ends.

Why: each worker holds its pipes' other ends too (fork), so it never saw their EOF: a
``loadgen`` stopped with SIGTERM or SIGKILL left 20k sockets held by orphans under PID 1.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl: Linux")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_workers_end_with_loadgen(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "loadgen.py"), "200", "60", "--workers", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        workers = [int(p) for p in re.findall(r"\d+", line.split("workers", 1)[1])]
        assert len(workers) == 2 and all(map(_alive, workers)), line
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        for _ in range(300):
            if not any(map(_alive, workers)):
                break
            time.sleep(0.05)
        assert not any(map(_alive, workers)), [w for w in workers if _alive(w)]
    finally:
        proc.kill()
        proc.wait()
