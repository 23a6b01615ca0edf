"""``tcpscope record FILE --force`` over an existing recording, with real write failures: the
old recording survives any failure before the new one holds a sample (a file size limit, a
full file system), is replaced (mode kept) once it does, and no temporary file is left."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from core.recording.reader import Recording
from tests.hostile.util import PY, env, one_line_error, tcpscope
from tests.recording.util import demo_snapshots, write_recording


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """An existing recording (30 demo samples), mode 0640."""
    path = tmp_path / "old.tsr"
    write_recording(path, demo_snapshots(3, 30), key_every=10)
    path.chmod(0o640)
    return path


def file_limit(size: int) -> Callable[[], None]:
    """A preexec_fn: writes past ``size`` bytes fail with EFBIG (``ulimit -f``)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "old.tsr")


def record_over(
    old: Path, *extra: str, limit: int | None = None
) -> subprocess.CompletedProcess[bytes]:
    return tcpscope(
        "--demo", "record", str(old), "--force", "--interval", "0.1", *extra,
        preexec_fn=file_limit(limit) if limit is not None else None,
    )  # fmt: skip


def test_a_failure_before_the_first_sample_leaves_the_old_recording(old: Path) -> None:
    before = old.read_bytes()
    result = record_over(old, "--samples", "3", limit=1024)  # less than the first key frame
    assert result.returncode == 1
    line = one_line_error(result)
    assert "write failed: File too large" in line and "left as it was" in line
    assert old.read_bytes() == before
    assert len(Recording(old)) == 30
    assert leftovers(old.parent) == []


def test_a_failure_after_the_first_sample_leaves_a_replayable_new_recording(old: Path) -> None:
    result = record_over(old, "--samples", "100000", limit=16384)
    assert result.returncode == 1
    line = one_line_error(result)
    assert "write failed: File too large" in line and "left as it was" not in line
    rec = Recording(old)
    assert rec.truncated and len(rec) >= 1  # the new recording, cut (the old one was whole)
    rec.snapshot(len(rec) - 1)
    assert leftovers(old.parent) == []


def test_a_complete_overwrite_replaces_it_and_keeps_its_mode(old: Path) -> None:
    result = record_over(old, "--samples", "2")
    assert result.returncode == 0, result.stderr
    assert len(Recording(old)) == 2
    assert old.stat().st_mode & 0o777 == 0o640
    assert leftovers(old.parent) == []


def test_a_symlink_is_still_refused_with_force(old: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.tsr"
    link.symlink_to(old)
    result = tcpscope("--demo", "record", str(link), "--force", "--samples", "1")
    assert result.returncode == 2 and "symbolic link" in one_line_error(result)
    assert link.is_symlink() and len(Recording(old)) == 30


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="mounts: root")
def test_a_full_file_system_leaves_the_old_recording(old: Path, tmp_path: Path) -> None:
    """ENOSPC, as on a full disk: a small tmpfs (in a private mount namespace) filled up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
        set -e
        mount -t tmpfs -o size=256k tcpscope-test "{disk}"
        cp -p "{old}" "{disk}/old.tsr"
        dd if=/dev/zero of="{disk}/fill" bs=4k 2>/dev/null || true
        set +e
        "{PY}" -m tui --demo record "{disk}/old.tsr" --force --samples 3 --interval 0.1
        echo "exit=$?" >&2
        cmp -s "{old}" "{disk}/old.tsr" && echo "old kept" >&2
        ls -a "{disk}" >&2
    """
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=120, env=env(), cwd="/",
    )  # fmt: skip
    err = result.stderr
    assert "Traceback" not in err, err
    assert "write failed: No space left on device" in err and "left as it was" in err, err
    assert "exit=1" in err and "old kept" in err, err
    assert ".tmp" not in err, err  # no temporary file left on the full disk


def test_a_kill_before_the_first_sample_leaves_the_old_recording(old: Path) -> None:
    """``kill -9`` while the new copy holds nothing: the old recording is still there."""
    before = old.read_bytes()
    proc = subprocess.Popen(
        [PY, "-m", "tui", "--demo", "record", str(old), "--force", "--interval", "60"],
        env=env(), stderr=subprocess.PIPE, cwd="/",
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        assert b"recording to" in proc.stderr.readline()  # the output is open
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert old.read_bytes() == before
    assert len(Recording(old)) == 30
