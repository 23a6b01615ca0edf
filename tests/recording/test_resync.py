"""A damaged block in the middle of a recording costs only that block: the replay skips it,
resumes at the next intact block (it starts with a key frame), names the samples it lost, and
numbers the rest by their place in the file. Finding the next block is bounded."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from core.connections.snapshot import Snapshot
from core.errors import RecordingError
from core.recording.reader import Recording
from core.recording.replay import ReplayFeed
from tests.recording.content import content, flipped, gzip_members
from tests.recording.util import demo_snapshots, write_recording

ROOT = Path(__file__).resolve().parents[2]
N = 70
BLOCK = 20


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(11, N, interval_s=0.1)


@pytest.fixture(scope="module")
def good(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.tsr"
    write_recording(path, snaps, key_every=BLOCK)
    return path.read_bytes()


def kept_are(rec: Recording, snaps: list[Snapshot], numbers: list[int]) -> None:
    """The samples kept are exactly the file's samples ``numbers`` (1-based), intact."""
    assert [rec.number(i) for i in range(len(rec))] == numbers
    for i, number in enumerate(numbers):
        got, want = content(rec.snapshot(i)), content(snaps[number - 1])
        got.pop("diff")
        want.pop("diff")
        assert got == want, number


def tcpscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_blocks_after_a_damaged_one_still_replay(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good, 1))
    rec = Recording(path)
    kept_are(rec, snaps, [*range(1, 21), *range(41, N + 1)])
    assert rec.total == N and rec.ends_early is None and not rec.truncated
    (gap,) = rec.gaps
    assert (gap.index, gap.missing) == (BLOCK, BLOCK)
    assert gap.note.startswith("samples 21–40 damaged and skipped (record ")
    assert rec.notes == [gap.note]


def test_the_replay_numbers_samples_by_their_place_in_the_file(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good, 1))
    feed = ReplayFeed(Recording(path))
    assert feed.total == N and feed.length == N - BLOCK
    feed.seek_index(BLOCK - 1)
    assert feed.number == 20
    feed.step(1)  # over the gap: the next sample that exists
    assert feed.number == 41 and feed.position == snaps[40].time
    assert feed.number_of(feed.recording.snapshot(feed.index)) == 41
    feed.seek(snaps[30].time)  # a time inside the gap: the last sample before it
    assert feed.number == 20
    feed.seek(snaps[55].time)
    assert feed.number == 56


def test_several_damaged_blocks_and_a_damaged_last_one(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good, 1, 2, 3))  # blocks 2 and 3 in a row, and the last (61–70)
    rec = Recording(path)
    kept_are(rec, snaps, list(range(1, 21)))
    assert rec.ends_early is not None
    assert rec.ends_early.startswith("recording ends early: damaged after sample 20 (record ")


def test_two_separate_gaps(good: bytes, snaps: list[Snapshot], tmp_path: Path) -> None:
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good, 0, 2))  # block 1 (after the header) and block 3
    rec = Recording(path)
    kept_are(rec, snaps, [*range(21, 41), *range(61, N + 1)])
    assert [g.note.split(" (")[0] for g in rec.gaps] == [
        "samples 1–20 damaged and skipped",
        "samples 41–60 damaged and skipped",
    ]


def test_junk_over_a_block_start_skips_that_block(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    members = gzip_members(good)
    data = bytearray(good)
    data[members[2] : members[2] + 4] = b"junk"
    path = tmp_path / "junk.tsr"
    path.write_bytes(bytes(data))
    rec = Recording(path)
    kept_are(rec, snaps, [*range(1, 41), *range(61, N + 1)])
    assert rec.gaps[0].note.startswith("samples 41–60 damaged and skipped (")


def _header_hit(data: bytes, good: bytes, member: int, byte: int) -> bytes:
    """``data`` with byte ``byte`` of gzip member ``member``'s header flipped (its data
    intact; ``good``, undamaged, says where the member starts)."""
    out = bytearray(data)
    out[gzip_members(good)[member] + byte] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize("byte", [0, 1, 2, 3], ids=["magic1", "magic2", "method", "flags"])
def test_a_damaged_gzip_header_after_a_damaged_block_is_counted(
    good: bytes, snaps: list[Snapshot], tmp_path: Path, byte: int
) -> None:
    """Block 2 fails inside, block 3's own gzip header is damaged: both are skipped, both
    are counted, and the samples after them keep their numbers (seek, step and marks)."""
    path = tmp_path / "header.tsr"
    path.write_bytes(_header_hit(flipped(good, 1), good, 2, byte))
    rec = Recording(path)
    kept_are(rec, snaps, [*range(1, 21), *range(61, N + 1)])
    assert rec.total == N and rec.ends_early is None
    (gap,) = rec.gaps
    assert (gap.index, gap.missing) == (BLOCK, 2 * BLOCK)
    assert gap.note.startswith("samples 21–60 damaged and skipped (record 22")
    assert rec.notes == [gap.note]
    feed = ReplayFeed(rec)
    assert feed.total == N and feed.length == N - 2 * BLOCK
    feed.seek_index(BLOCK - 1)
    feed.step(1)
    assert feed.number == 61 and feed.position == snaps[60].time
    assert feed.number_of(rec.snapshot(feed.index)) == 61
    feed.seek(snaps[50].time)  # inside the skipped stretch: the last sample before it
    assert feed.number == 20
    feed.seek(snaps[65].time)
    assert feed.number == 66


def test_two_damaged_blocks_in_a_row_are_one_gap(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    path = tmp_path / "two.tsr"
    path.write_bytes(flipped(good, 1, 2))
    rec = Recording(path)
    kept_are(rec, snaps, [*range(1, 21), *range(61, N + 1)])
    assert rec.total == N and len(rec.notes) == 1
    assert rec.notes[0].startswith("samples 21–60 damaged and skipped (record 22: ")


def test_damage_in_the_very_last_block_ends_early_with_one_note(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    path = tmp_path / "last.tsr"
    path.write_bytes(flipped(good, 3))
    rec = Recording(path)
    kept_are(rec, snaps, list(range(1, 61)))
    assert rec.gaps == [] and rec.total == 60
    (note,) = rec.notes
    assert note.startswith("recording ends early: damaged after sample 60 (record 62: ")


def test_a_cut_inside_the_block_after_a_damaged_one(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    """The samples of the cut block before the cut still replay, after the gap."""
    members = gzip_members(good)
    path = tmp_path / "cut.tsr"
    path.write_bytes(flipped(good, 1)[: (members[2] + members[3]) // 2])
    rec = Recording(path)
    kept = len(rec) - BLOCK
    assert 0 < kept < BLOCK
    kept_are(rec, snaps, [*range(1, 21), *range(41, 41 + kept)])
    gap, cut = rec.notes
    assert gap.startswith("samples 21–40 damaged and skipped (record 22: ")
    assert cut == f"recording ends early: cut after sample {40 + kept} (truncated gzip member)"


def test_a_cut_inside_a_damaged_header_block_after_a_damaged_one(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    """Nothing intact after the damage: one note, the samples before it kept."""
    members = gzip_members(good)
    data = _header_hit(flipped(good, 1), good, 2, 0)[: (members[2] + members[3]) // 2]
    path = tmp_path / "cut.tsr"
    path.write_bytes(data)
    rec = Recording(path)
    kept_are(rec, snaps, list(range(1, 21)))
    (note,) = rec.notes
    assert note.startswith("recording ends early: damaged after sample 20 (record 22: ")


README = ROOT / "README.md"
_GAP_NOTE = r"samples (\d+)–(\d+) damaged and skipped \(record (\d+): ([^;]+)\)"


def test_the_gap_note_reads_as_the_readme_shows(good: bytes, tmp_path: Path) -> None:
    """The README quotes the note whole; the product prints that same shape (no part of it
    left to "…")."""
    text = " ".join(README.read_text().split())
    quoted = re.findall(r"`(samples \d+–\d+ damaged and skipped[^`]*)`", text)
    assert quoted
    for example in quoted:
        assert re.fullmatch(_GAP_NOTE, example) and "…" not in example, example
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good, 1))
    (note,) = Recording(path).notes
    assert re.fullmatch(_GAP_NOTE, note), note


def test_record_from_a_damaged_replay_names_the_gap(good: bytes, tmp_path: Path) -> None:
    src, out = tmp_path / "flipped.tsr", tmp_path / "out.tsr"
    src.write_bytes(flipped(good, 1))
    done = tcpscope("--replay", str(src), "record", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{src}: samples 21–40 damaged and skipped (record " in done.stderr
    assert len(Recording(out)) == N - BLOCK


def test_a_header_that_cannot_be_read_is_still_refused(good: bytes, tmp_path: Path) -> None:
    """Without the header (interval, block size) nothing after it can be placed."""
    data = bytearray(good)
    data[12] ^= 0xFF  # the start of the first member's deflate data: the header line
    path = tmp_path / "head.tsr"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError):
        Recording(path)


def _nested_lures(depth: int) -> bytes:
    """Gzip-looking members, each one's stored data starting like a key frame and holding the
    next: every lure passes a cheap check and fails only at its end."""
    inner = b""
    for _ in range(depth):
        payload = b'{"k":"K",' + inner
        body = zlib.compressobj(0, zlib.DEFLATED, -15)
        deflated = body.compress(payload) + body.flush()
        inner = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + deflated  # no trailer: torn
    return inner


def test_a_hostile_tail_of_lures_is_bounded(good: bytes, tmp_path: Path) -> None:
    members = gzip_members(good)
    lures = _nested_lures(3000)
    fakes = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff" * 200_000
    path = tmp_path / "lures.tsr"
    path.write_bytes(flipped(good[: members[2]], 1) + lures + fakes + good[members[2] :])
    began = time.monotonic()
    rec = Recording(path)
    assert time.monotonic() - began < 20
    assert len(rec) >= BLOCK
    assert [rec.number(i) for i in range(BLOCK)] == list(range(1, BLOCK + 1))


def test_garbage_gzip_looking_data_is_not_resumed_at(good: bytes, tmp_path: Path) -> None:
    members = gzip_members(good)
    path = tmp_path / "other.tsr"
    other = gzip.compress(b'{"something":"else"}\n' * 50)
    path.write_bytes(flipped(good[: members[2]], 1) + other)
    rec = Recording(path)
    assert len(rec) == BLOCK and rec.ends_early is not None


# --- refusals that say what happened ------------------------------------------------------
def test_a_recording_cut_inside_its_first_sample_says_so(good: bytes, tmp_path: Path) -> None:
    header, first = gzip.decompress(good).split(b"\n")[:2]
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)
    torn = deflate.compress(header + b"\n") + deflate.compress(first[: len(first) // 2])
    path, out = tmp_path / "torn.tsr", tmp_path / "out.tsr"
    path.write_bytes(torn + deflate.flush(zlib.Z_SYNC_FLUSH))
    why = (
        f"{path}: the recording holds no samples: cut before its first complete sample"
        " (truncated gzip member)"
    )
    with pytest.raises(RecordingError) as caught:
        ReplayFeed(Recording(path))
    assert str(caught.value) == why
    done = tcpscope("--replay", str(path), "record", str(out))
    assert done.returncode == 2 and done.stderr.strip() == f"tcpscope: {why}"
    assert not out.exists()


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="mounts: root")
def test_a_full_disk_says_which_samples_the_file_holds(tmp_path: Path) -> None:
    """ENOSPC on a small tmpfs (in a private mount namespace, gone with it): the message
    names the samples the file really holds, and the file replays exactly those."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
        set -e
        mount -t tmpfs -o size=64k tcpscope-test "{disk}"
        set +e
        "{sys.executable}" -m tui --demo record "{disk}/r.tsr" --interval 0.1 --samples 100000
        echo "exit=$?" >&2
        "{sys.executable}" -c "
from core.recording.reader import Recording
rec = Recording('{disk}/r.tsr')
rec.snapshot(len(rec) - 1)
print('replays', len(rec))" >&2
    """
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    err = result.stderr
    assert "Traceback" not in err and "exit=1" in err, err
    found = re.search(
        r"write failed: No space left on device after (\d+) samples taken;"
        r" the file holds samples 1–(\d+)\n",
        err,
    )
    assert found, err
    taken, held = int(found[1]), int(found[2])
    assert 1 < held <= taken
    assert f"replays {held}\n" in err
