"""``tcpscope record`` as a real process: file and stdout, limits, clean stop on SIGINT/SIGTERM,
a readable file after ``kill -9`` (flushed every couple of seconds), no Textual on this path."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import RecordingError
from core.recording.reader import Recording
from tests.recording.content import content
from tests.recording.util import demo_snapshots

ROOT = Path(__file__).resolve().parents[2]
TCPSCOPE = [sys.executable, "-m", "tui"]
SYNC_FLUSH = b"\x00\x00\xff\xff"
"""The empty stored block a deflate Z_SYNC_FLUSH ends with."""


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TCPSCOPE, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def same_as_demo(rec: Recording, seed: int) -> None:
    """Every recorded sample equals the demo's sample with the same seq (and interval).

    The recorder may skip a sample when the machine is busy (latest wins); then the diff is the
    coalesced one, so diffs are compared only where no sample was skipped.
    """
    expected = demo_snapshots(seed, rec.seqs[-1], interval_s=rec.header.interval_s)
    for i in range(len(rec)):
        snap = rec.snapshot(i)
        got, want = content(snap), content(expected[snap.seq - 1])
        if snap.skipped or (i and rec.seqs[i - 1] != snap.seq - 1):
            got.pop("diff")
            want.pop("diff")
        assert got == want, f"sample {i}"


def wait_for_samples(path: Path, count: int, proc: subprocess.Popen[bytes]) -> int:
    """Poll the growing file until ``count`` samples are readable (generous liveness bound)."""
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline:
        assert proc.poll() is None, "recorder exited early"
        try:
            seen = len(Recording(path))
        except RecordingError:
            seen = 0
        if seen >= count:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"only {seen} samples became readable")


def test_record_samples_to_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.tsr"
    done = run("--demo", "--seed", "4", "record", str(out), "--interval", "0.1", "--samples", "25")
    assert done.returncode == 0, done.stderr
    assert "recorded 25 samples" in done.stderr
    rec = Recording(out)
    assert len(rec) == 25 and not rec.truncated
    assert rec.header.source == "demo" and rec.header.interval_s == 0.1
    assert rec.header.host == "demo-web01"
    same_as_demo(rec, 4)


def test_one_sample_is_said_in_the_singular(tmp_path: Path) -> None:
    """``recorded 1 samples (1 seen)`` read wrong; one sample is "1 sample"."""
    out = tmp_path / "one.tsr"
    done = run("--demo", "--no-ipsec", "record", str(out), "--samples", "1")
    assert done.returncode == 0, done.stderr
    assert "tcpscope: recorded 1 sample (1 seen), " in done.stderr, done.stderr


def test_record_to_stdout(tmp_path: Path) -> None:
    out = tmp_path / "piped.tsr"
    with out.open("wb") as sink:
        done = subprocess.run(
            [*TCPSCOPE, "--demo", "record", "-", "--interval", "0.1", "--samples", "12"],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.PIPE,
            text=False,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    rec = Recording(out)
    assert len(rec) == 12
    same_as_demo(rec, 1)


def test_duration_limit(tmp_path: Path) -> None:
    out = tmp_path / "short.tsr"
    done = run("--demo", "record", str(out), "--interval", "0.2", "--duration", "1.5")
    assert done.returncode == 0, done.stderr
    assert 2 <= len(Recording(out)) <= 12


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "exists.tsr"
    out.write_bytes(b"keep me")
    done = run("--demo", "record", str(out), "--samples", "2", "--interval", "0.1")
    assert done.returncode == 2
    assert "already exists" in done.stderr and done.stderr.count("\n") == 1
    assert out.read_bytes() == b"keep me"
    done = run("--demo", "record", str(out), "--samples", "2", "--interval", "0.1", "--force")
    assert done.returncode == 0 and len(Recording(out)) == 2


def test_a_demo_recording_is_the_same_bytes_in_every_run(tmp_path: Path) -> None:
    """``--demo --seed N record`` twice gave files that differ: the IPsec native rates were
    written in set order, which follows PYTHONHASHSEED. The demo header holds no clock or
    host of this machine, so the same seed must give the same bytes. Over several flush
    periods too, however the machine's clock runs: the writer sync-flushed when the wall
    clock said so, so a run held up for a moment (here: stopped for 1.3 s) had its flushes
    elsewhere in the stream. 62 samples at 0.1 s span three flush periods of demo time."""
    count = 62
    for _attempt in range(3):
        files = []
        for hash_seed in ("1", "2"):
            out = tmp_path / f"hash{hash_seed}.tsr"
            args = ["record", str(out), "--force", "--samples", str(count), "--interval", "0.1"]
            proc = subprocess.Popen(
                [*TCPSCOPE, "--demo", "--seed", "3", *args],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONHASHSEED": hash_seed},
            )
            if hash_seed == "2":  # held up mid-run, as a busy machine holds a process
                wait_for_samples(out, 5, proc)
                proc.send_signal(signal.SIGSTOP)
                time.sleep(1.3)
                proc.send_signal(signal.SIGCONT)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            files.append(out)
        # A sample the recorder skipped on a busy machine (latest wins) changes the file
        # for a reason of its own: compare only runs that wrote every sample.
        if all(Recording(f).seqs == list(range(1, count + 1)) for f in files):
            break
    else:
        pytest.fail("the recorder skipped samples in every attempt (machine too busy)")
    data = files[0].read_bytes()
    assert data.count(SYNC_FLUSH) >= 3  # the stream holds flushes, not just one gzip member
    assert data == files[1].read_bytes()


def test_key_frames_are_the_same_bytes_in_every_run(tmp_path: Path) -> None:
    """A key frame after the first lists the ghosts: in the order the sampler added them,
    which follows PYTHONHASHSEED, so a demo recording longer than a block differed run to
    run. Blocks of 32 (the record command's are 300 samples) give key frames with ghosts."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tests.recording.util import demo_snapshots, write_recording\n"
        "write_recording(Path(sys.argv[1]), demo_snapshots(1, 200, interval_s=0.1), 32)\n"
    )
    files = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash{hash_seed}.tsr"
        done = subprocess.run(
            [sys.executable, "-c", script, str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert done.returncode == 0, done.stderr
        files.append(out)
    rec = Recording(files[0])
    assert any(rec.snapshot(i).ghosts for i in range(32, len(rec), 32))  # ghosts in key frames
    assert files[0].read_bytes() == files[1].read_bytes()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--samples", "0"], "--samples"),
        (["--duration", "-3"], "--duration"),
        (["--interval", "0.01"], "interval"),
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str], words: str) -> None:
    done = run("--demo", "record", str(tmp_path / "x.tsr"), *args)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.tsr").exists() or args[0] != "--interval"


def test_writing_into_a_directory_path(tmp_path: Path) -> None:
    done = run("--demo", "record", str(tmp_path), "--samples", "2")
    assert done.returncode == 2 and "is a directory" in done.stderr


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder in /tmp (which ``nobody`` can reach) owned by this user, mode 755, holding a
    recording: as ``nobody`` nothing can be created in it."""
    folder = Path(tempfile.mkdtemp(prefix="tcpscope-ro-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        (folder / "old.tsr").write_bytes(b"keep me")
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
@pytest.mark.parametrize(
    ("name", "force", "user"),
    [("new.tsr", False, "nobody"), ("old.tsr", True, "nobody"), ("/proc/nope/x", False, None)],
)
def test_an_output_that_cannot_be_written_exits_1(
    read_only_folder: Path, name: str, force: bool, user: str | None
) -> None:
    """README: "1 a runtime failure, such as output that cannot be written" — a file that
    cannot be created (a folder not ours, a path that cannot exist) as much as a full disk."""
    argv = [*TCPSCOPE, "--demo", "record", str(read_only_folder / name), "--samples", "2"]
    if force:
        argv.append("--force")
    if user:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, cwd="/", capture_output=True, text=True, timeout=120, env=env)
    assert "cannot write" in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.returncode == 1
    assert (read_only_folder / "old.tsr").read_bytes() == b"keep me"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_closes_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "signal.tsr"
    proc = subprocess.Popen(
        [*TCPSCOPE, "--demo", "record", str(out), "--interval", "0.1"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    wait_for_samples(out, 5, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"recorded" in err
    rec = Recording(out)
    assert not rec.truncated  # the last gzip member was finished
    assert len(rec) >= 5
    same_as_demo(rec, 1)


def test_kill_9_leaves_a_replayable_file(tmp_path: Path) -> None:
    """No chance to clean up: the periodic flush is what makes the file readable."""
    out = tmp_path / "killed.tsr"
    proc = subprocess.Popen(
        [*TCPSCOPE, "--demo", "record", str(out), "--interval", "0.1"],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    seen = wait_for_samples(out, 8, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rec = Recording(out)
    assert rec.truncated
    assert len(rec) >= seen
    same_as_demo(rec, 1)


def test_record_path_never_imports_textual(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from tui.cli import main\n"
        f"rc = main(['--demo', 'record', {str(tmp_path / 'h.tsr')!r}, '--samples', '3',"
        " '--interval', '0.1'])\n"
        "bad = [m for m in ('textual', 'rich', 'humanize') if m in sys.modules]\n"
        "print(rc, bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "0 []", done.stderr


def test_core_recording_and_replay_import_no_ui() -> None:
    script = (
        "import sys\n"
        "import core.commands.record, core.recording.reader, core.recording.replay\n"
        "import core.recording.redact, core.demo\n"
        "print([m for m in ('textual', 'rich', 'humanize') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr
