"""Hostile recordings and failing outputs: refused in bounded memory with one line, the output
untouched until the input is checked, a recording cut by a full disk readable to its last record,
and SIGHUP closing a recording cleanly. Every run is a real tcpscope process."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core.errors import RecordingError
from core.recording import reader
from core.recording.codec import CONNECTION
from core.recording.reader import Recording
from tests.hostile.util import PY, env, one_line_error, tcpscope
from tests.recording.util import demo_snapshots, write_recording

MEMORY_LIMIT = 768 * 1024 * 1024
"""Address space of a tcpscope under test: a regression that inflates a bomb fails the test."""


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.tsr"
    write_recording(path, demo_snapshots(3, 30), key_every=10)
    return path


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "rec.tsr"
    os.mkfifo(fifo)
    result = tcpscope("--replay", str(fifo), "record", str(tmp_path / "out.tsr"))
    assert result.returncode == 2
    assert "is a FIFO, not a regular file" in one_line_error(result)
    assert not (tmp_path / "out.tsr").exists()


@pytest.mark.parametrize("path", ["/dev/zero", "-"])
def test_devices_and_stdin_are_refused(path: str, tmp_path: Path) -> None:
    result = tcpscope("--replay", path, "record", str(tmp_path / "out.tsr"))
    assert result.returncode == 2
    one_line_error(result)


def test_a_gzip_bomb_fails_in_bounded_memory_and_leaves_the_output_alone(
    good: Path, tmp_path: Path
) -> None:
    header = gzip.decompress(good.read_bytes()).split(b"\n")[0]
    bomb = tmp_path / "bomb.tsr"
    with gzip.open(bomb, "wb", compresslevel=1) as f:  # 200 MB of one endless record
        f.write(header + b"\n" + b'{"k":"K","c":"')
        for _ in range(200):
            f.write(b"a" * 1024 * 1024)
    assert bomb.stat().st_size < 2_000_000
    out = tmp_path / "keep.tsr"
    out.write_bytes(b"precious")
    result = tcpscope("--replay", str(bomb), "record", str(out), "--force", preexec_fn=limit_memory)
    assert result.returncode == 2
    assert f"record longer than {reader.MAX_RECORD_BYTES} bytes" in one_line_error(result)
    assert out.read_bytes() == b"precious"  # checked the input before truncating


def test_a_gzip_bomb_of_zeros_is_not_a_recording(tmp_path: Path) -> None:
    bomb = tmp_path / "zeros.tsr"
    with gzip.open(bomb, "wb", compresslevel=1) as f:
        for _ in range(300):
            f.write(bytes(1024 * 1024))
    result = tcpscope("--replay", str(bomb), "record", str(tmp_path / "o"), preexec_fn=limit_memory)
    assert result.returncode == 2
    assert "not a tcpscope recording" in one_line_error(result)


def test_a_sparse_file_is_scanned_without_reading_it_whole(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.tsr"
    with open(sparse, "wb") as f:
        f.truncate(1024**3)
    result = tcpscope(
        "--replay", str(sparse), "record", str(tmp_path / "o"), preexec_fn=limit_memory
    )
    assert result.returncode == 2
    assert "not a tcpscope recording" in one_line_error(result)


def test_sample_count_is_capped(good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_SAMPLES", 10)
    with pytest.raises(RecordingError, match="more than 10 samples"):
        Recording(good)


def test_a_block_bigger_than_the_cache_replays_by_streaming(
    good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = Recording(good)
    want = [cached.snapshot(i) for i in range(len(cached))]
    monkeypatch.setattr(reader, "BLOCK_CACHE_BYTES", 100)
    streamed = Recording(good)
    order = [*range(len(want)), 25, 3, 14, 13, 29, 0]
    for i in order:
        assert streamed.snapshot(i).connections == want[i].connections


def test_a_negative_local_port_is_corrupt(good: Path, tmp_path: Path) -> None:
    lines = gzip.decompress(good.read_bytes()).split(b"\n")
    key = json.loads(lines[1])
    cid, raw = next(iter(key["c"].items()))
    conn = CONNECTION.decode(raw)
    key["c"][cid] = CONNECTION.encode(dataclasses.replace(conn, local_port=-conn.local_port - 1))
    lines[1] = json.dumps(key).encode()
    bad = tmp_path / "negative.tsr"
    bad.write_bytes(gzip.compress(b"\n".join(lines)))
    with pytest.raises(RecordingError, match=r"record 2: .*port out of range"):
        Recording(bad)


def test_dev_full_as_recording_is_one_line_exit_1() -> None:
    result = tcpscope("--demo", "record", "/dev/full", "--samples", "3", "--interval", "0.1")
    assert result.returncode == 1
    assert "write failed: No space left on device" in one_line_error(result)


def test_a_recording_cut_by_a_full_disk_replays_to_its_last_record(tmp_path: Path) -> None:
    out = tmp_path / "cut.tsr"

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    result = tcpscope(
        "--demo", "record", str(out), "--interval", "0.1", "--samples", "100000",
        preexec_fn=small_disk,
    )  # fmt: skip
    assert result.returncode == 1
    assert "write failed: File too large" in one_line_error(result)
    rec = Recording(out)
    assert rec.truncated and len(rec) >= 1
    rec.snapshot(len(rec) - 1)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_record_closes_the_file_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "signal.tsr"
    proc = subprocess.Popen(
        [PY, "-m", "tui", "--demo", "record", str(out), "--interval", "0.1"],
        env=env(),
        stderr=subprocess.PIPE,
    )
    try:
        while not out.exists() or out.stat().st_size == 0:  # the first flush
            assert proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    rec = Recording(out)
    assert not rec.truncated and len(rec) >= 1


@pytest.mark.parametrize("target", ["full", "closed pipe"])
def test_connections_output_failure_is_one_line_exit_1(target: str) -> None:
    if target == "full":
        with open("/dev/full", "wb") as full:
            result = tcpscope("connections", stdout=full)
        assert "No space left on device" in one_line_error(result)
    else:
        proc = subprocess.Popen(
            [PY, "-m", "tui", "connections"], env=env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        proc.stdout.close()  # the reader is gone before anything is written (`| head -0`)
        _, err = proc.communicate(timeout=60)
        result = subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)
        assert "broken pipe" in one_line_error(result)
    assert result.returncode == 1


def test_an_empty_record_path_is_bad_input() -> None:
    """``record ''`` said "tcpscope: : cannot write: No such file or directory", exit 1."""
    result = tcpscope("--demo", "record", "", "--samples", "1")
    assert one_line_error(result) == "tcpscope: record needs a file path ('-' for stdout)"
    assert result.returncode == 2
