"""Bad recordings: each is one RecordingError line naming the file (and the record where there
is one); through the CLI, one line on stderr and exit code 2. A file cut anywhere replays up to
its last complete record. Random byte edits never raise anything else (hypothesis)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.connections.snapshot import Snapshot
from core.errors import RecordingError
from core.recording.format import FORMAT_VERSION
from core.recording.reader import ZERO_CHECK_BYTES, Recording
from tests.recording.content import content
from tests.recording.util import demo_snapshots, write_recording

ROOT = Path(__file__).resolve().parents[2]
N = 60


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(11, N)


@pytest.fixture(scope="module")
def good(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.tsr"
    write_recording(path, snaps, key_every=20)
    return path.read_bytes()


def lines_of(data: bytes) -> list[bytes]:
    return gzip.decompress(data).splitlines()


def rewrite(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0)


def error_of(path: Path) -> str:
    with pytest.raises(RecordingError) as caught:
        rec = Recording(path)
        for i in range(len(rec)):
            rec.snapshot(i)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.tsr")


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in error_of(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tsr"
    path.write_bytes(b"")
    assert "empty file" in error_of(path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.tsr"
    path.write_bytes(os.urandom(4096))
    assert "not a tcpscope recording" in error_of(path)


def test_gzip_with_random_bytes_inside(tmp_path: Path) -> None:
    path = tmp_path / "junk.tsr"
    path.write_bytes(gzip.compress(os.urandom(2048)))
    message = error_of(path)
    assert "not a tcpscope recording" in message or "not JSON" in message


def test_corrupt_deflate_data(good: bytes, tmp_path: Path) -> None:
    data = bytearray(good)
    data[40:60] = bytes(20)
    path = tmp_path / "corrupt.tsr"
    path.write_bytes(bytes(data))
    error_of(path)


def test_header_from_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.tsr"
    path.write_bytes(gzip.compress(b'{"format": "pcap-ng-json", "version": 1}\n{"k": "K"}\n'))
    assert "not a tcpscope recording" in error_of(path)


def test_newer_format_version_names_both(good: bytes, tmp_path: Path) -> None:
    lines = lines_of(good)
    header = json.loads(lines[0])
    header["version"] = FORMAT_VERSION + 1
    path = tmp_path / "newer.tsr"
    path.write_bytes(rewrite([json.dumps(header).encode(), *lines[1:]]))
    message = error_of(path)
    assert f"version {FORMAT_VERSION + 1}" in message
    assert f"version {FORMAT_VERSION})" in message


@pytest.mark.parametrize(
    ("record", "edit", "words"),
    [
        (2, lambda r: r.update(n="seven"), "expected int"),
        (2, lambda r: r.pop("t"), "missing key 't'"),
        (3, lambda r: r.update(ss="fast"), "expected list"),
        (2, lambda r: r.update(c={"x": [1, 2, 3]}), "TcpConnection"),
        (4, lambda r: r.update(k="Z"), "unknown record kind"),
        (5, lambda r: r.update(cr=["tcpscope:nothing"]), "was not there"),
        (2, lambda r: r.update(p={"abc": None}), "not a PID"),
        (6, lambda r: r.update(ip={"i": {"99": {"v": 1}}}), "out of range"),
    ],
)
def test_record_with_wrong_types_or_missing_keys(
    good: bytes, tmp_path: Path, record: int, edit: object, words: str
) -> None:
    lines = lines_of(good)
    rec = json.loads(lines[record - 1])
    edit(rec)  # type: ignore[operator]
    lines[record - 1] = json.dumps(rec).encode()
    path = tmp_path / "edited.tsr"
    path.write_bytes(rewrite(lines))
    message = error_of(path)
    assert f"record {record}:" in message
    assert words in message


def test_a_block_must_start_with_a_key_frame(good: bytes, tmp_path: Path) -> None:
    lines = lines_of(good)
    path = tmp_path / "nokey.tsr"
    path.write_bytes(gzip.compress(lines[0] + b"\n") + gzip.compress(lines[3] + b"\n"))
    assert "key frame" in error_of(path)


def test_trailing_garbage_after_a_block_ends_the_recording_early(
    good: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "trail.tsr"
    path.write_bytes(good + b"not gzip at all")
    rec = Recording(path)
    assert len(rec) == N and rec.ends_early is not None
    assert f"record {N + 2}: unexpected data after block 3" in rec.ends_early


def test_trailing_garbage_with_no_sample_before_it(good: bytes, tmp_path: Path) -> None:
    path = tmp_path / "trail.tsr"
    path.write_bytes(gzip.compress(lines_of(good)[0] + b"\n") + b"not gzip at all")
    assert "unexpected data" in error_of(path)


def test_zero_filled_tail_is_a_cut_not_an_error(good: bytes, tmp_path: Path) -> None:
    path = tmp_path / "zeros.tsr"
    path.write_bytes(good + bytes(4096))
    rec = Recording(path)
    assert len(rec) == N and rec.truncated
    assert rec.ends_early == (
        f"recording ends early: cut after sample {N}"
        " (zero-filled tail of 4096 bytes, as a power loss leaves)"
    )


def test_a_sparse_20_gib_zero_tail_opens_at_once(good: bytes, tmp_path: Path) -> None:
    """``truncate -s +20G`` made the opening check read 20 GiB of zeros (215 s, no word);
    holes are skipped now. Run in a child so the old code fails by its timeout."""
    path = tmp_path / "sparse.tsr"
    path.write_bytes(good)
    os.truncate(path, len(good) + 20 * 1024**3)
    code = (
        "import sys, time; from core.recording.reader import Recording; t = time.monotonic();"
        f" rec = Recording({str(path)!r}); print(time.monotonic() - t); print(rec.ends_early)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    took, note = done.stdout.splitlines()
    assert float(took) < 1.0
    assert note == (
        f"recording ends early: cut after sample {N}"
        f" (zero-filled tail of {20 * 1024**3} bytes, as a power loss leaves)"
    )


def test_a_long_written_zero_tail_is_read_only_so_far(good: bytes, tmp_path: Path) -> None:
    """Written (not sparse) zeros are read up to ZERO_CHECK_BYTES; the note says how far."""
    tail = ZERO_CHECK_BYTES + 3 * 1024 * 1024
    path = tmp_path / "zeros.tsr"
    with path.open("wb") as out:
        out.write(good)
        out.write(bytes(tail))
    rec = Recording(path)
    assert len(rec) == N and rec.ends_early == (
        f"recording ends early: cut after sample {N} (a tail of {tail} bytes, zeros as far as"
        f" read ({ZERO_CHECK_BYTES} bytes), as a power loss leaves)"
    )


def test_data_after_zeros_and_a_hole_is_not_a_zero_tail(good: bytes, tmp_path: Path) -> None:
    path = tmp_path / "hole-then-data.tsr"
    with path.open("wb") as out:
        out.write(good)
        out.write(bytes(8192))
        out.seek(64 * 1024 * 1024, os.SEEK_CUR)  # a hole, then data
        out.write(b"x")
    rec = Recording(path)
    assert len(rec) == N and rec.ends_early is not None
    assert "unexpected data after block 3" in rec.ends_early


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.77, 0.999])
def test_truncated_file_replays_up_to_last_complete_record(
    good: bytes, snaps: list[Snapshot], tmp_path: Path, fraction: float
) -> None:
    cut = int(len(good) * fraction)
    path = tmp_path / "cut.tsr"
    path.write_bytes(good[:cut])
    try:
        rec = Recording(path)
    except RecordingError as exc:
        # Only a cut inside the header leaves nothing to replay.
        assert "no header" in str(exc) or "no samples" in str(exc)
        return
    assert rec.truncated
    # Everything that decompresses from the cut file, line by line, is what replays.
    inflater = zlib.decompressobj(31)
    available = b""
    rest = good[:cut]
    while rest:
        available += inflater.decompress(rest)
        rest = inflater.unused_data
        if not inflater.eof:
            break
        inflater = zlib.decompressobj(31)
    complete = available.count(b"\n") - 1  # minus the header
    assert len(rec) == complete
    assert complete < N
    for i in range(len(rec)):
        got, want = content(rec.snapshot(i)), content(snaps[i])
        got.pop("diff")
        want.pop("diff")
        assert got == want


def test_cut_inside_the_header(good: bytes, tmp_path: Path) -> None:
    path = tmp_path / "tiny.tsr"
    path.write_bytes(good[:12])
    message = error_of(path)
    assert "no header" in message or "no complete record" in message


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    cases = {
        "missing": tmp_path / "missing.tsr",
        "dir": tmp_path,
        "random": tmp_path / "random.tsr",
    }
    cases["random"].write_bytes(os.urandom(300))
    for path in cases.values():
        done = subprocess.run(
            [sys.executable, "-m", "tui", "--replay", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert str(path) in done.stderr
        assert "Traceback" not in done.stderr


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_random_byte_edits(good: bytes, tmp_path: Path, data: st.DataObject) -> None:
    """Random edits (overwrite, insert, delete, cut) raise RecordingError or replay fine."""
    blob = bytearray(good)
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        pos = data.draw(st.integers(0, len(blob) - 1), label="pos")
        kind = data.draw(st.sampled_from(["set", "insert", "delete", "cut"]), label="kind")
        if kind == "set":
            blob[pos] = data.draw(st.integers(0, 255), label="byte")
        elif kind == "insert":
            blob[pos:pos] = data.draw(st.binary(min_size=1, max_size=8), label="bytes")
        elif kind == "delete":
            del blob[pos : pos + data.draw(st.integers(1, 8), label="len")]
        else:
            del blob[pos:]
        if not blob:
            break
    path = tmp_path / "fuzz.tsr"
    path.write_bytes(bytes(blob))
    try:
        rec = Recording(path)
        for i in range(len(rec)):
            rec.snapshot(i)
    except RecordingError as exc:
        assert "\n" not in str(exc)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_edits_of_the_decompressed_records(
    good: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    """Edits inside the JSON (recompressed, so gzip is valid) reach the record decoder."""
    text = bytearray(gzip.decompress(good))
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        pos = data.draw(st.integers(0, len(text) - 1), label="pos")
        choice = data.draw(
            st.sampled_from([b"0", b"-1", b'"x"', b"null", b"[]", b"{}", b"9" * 30, b"1e999"]),
            label="token",
        )
        width = data.draw(st.integers(0, 6), label="width")
        text[pos : pos + width] = choice
    path = tmp_path / "fuzz-json.tsr"
    path.write_bytes(gzip.compress(bytes(text)))
    try:
        rec = Recording(path)
        for i in range(len(rec)):
            rec.snapshot(i)
    except RecordingError as exc:
        assert "\n" not in str(exc)
