"""``tcpscope record FILE`` stopped (Ctrl-C) before its first sample: the new file it made
holds no sample, so it is removed and the message says so; it was left behind, and the next
``record`` to the same path refused it as existing.

The first sample is slow for real: processes holding many fds make the owner scan take
seconds (tests.metrics.slow_sample), so SIGINT lands before it ends.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.hostile.util import PY, env
from tests.metrics.slow_sample import fd_hoarders


def test_a_new_file_stopped_before_its_first_sample_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "early.tsr"
    with fd_hoarders():
        proc = subprocess.Popen(
            [PY, "-m", "tui", "--no-ipsec", "record", str(out), "--interval", "5"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            cwd="/",
        )
        try:
            assert proc.stderr is not None
            banner = proc.stderr.readline()
            assert "recording to" in banner, banner
            time.sleep(0.3)  # the first sample is under way (seconds over 500k fds)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert f"nothing recorded; removed {out} (it held no sample)" in err, err
    assert not out.exists()
