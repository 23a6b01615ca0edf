"""``tcpscope record FILE`` (a new file) on a full file system: the file it created holds no
sample, so it is removed and the message says so; it was left as 0 bytes, which replay called
"empty file" and the next ``record`` refused as existing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hostile.util import PY, env


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="mounts: root")
def test_a_new_file_that_holds_no_sample_is_removed(tmp_path: Path) -> None:
    """ENOSPC, as on a full disk: a small tmpfs (in a private mount namespace, so the mount
    goes with it) filled up; then room is made and the same command runs again."""
    disk = tmp_path / "disk"
    disk.mkdir()
    record = f'"{PY}" -m tui --demo record "{disk}/g.tsr" --samples 3 --interval 0.1'
    script = f"""
        mount -t tmpfs -o size=200k tcpscope-test "{disk}" || {{ echo "no-mount" >&2; exit 0; }}
        dd if=/dev/zero of="{disk}/pad" bs=1k count=300 2>/dev/null
        {record}
        echo "exit=$?" >&2
        ls -a "{disk}" >&2
        echo "listed" >&2
        rm "{disk}/pad"
        {record}
        echo "again=$?" >&2
    """
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=120, env=env(), cwd="/",
    )  # fmt: skip
    err = result.stderr
    if "no-mount" in err:
        pytest.skip(f"mounting a tmpfs is not permitted here: {err.strip()}")
    assert "Traceback" not in err, err
    assert "write failed: No space left on device" in err, err
    assert "holds no complete sample; removed it" in err, err
    assert "exit=1" in err, err
    assert "g.tsr" not in err.split("exit=1")[1].split("listed")[0], err  # not in the listing
    assert "again=0" in err and "already exists" not in err, err
    assert "recorded 3 samples" in err, err
