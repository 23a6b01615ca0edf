"""A recording that ends early (cut mid-block, or damaged after intact blocks) replays what
came before with a note saying how it ends; one with no usable sample is refused (exit 2);
``record`` from a replay says the true interval, refuses a sample-less input, and no NaN is
ever read or written."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from core.connections.snapshot import Snapshot
from core.errors import RecordingError
from core.recording.reader import Recording
from core.recording.replay import ReplayFeed
from core.recording.writer import RecordingWriter
from tests.recording.content import content, flipped, gzip_members
from tests.recording.util import demo_snapshots, header_for, write_recording

ROOT = Path(__file__).resolve().parents[2]
N = 60
BLOCK = 20


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(7, N, interval_s=0.1)


@pytest.fixture(scope="module")
def good(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.tsr"
    write_recording(path, snaps, key_every=BLOCK)
    return path.read_bytes()


def same_samples(rec: Recording, snaps: list[Snapshot]) -> None:
    for i in range(len(rec)):
        got, want = content(rec.snapshot(i)), content(snaps[i])
        got.pop("diff")
        want.pop("diff")
        assert got == want, i


def tcpscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_cut_in_a_later_block_replays_up_to_it_and_says_so(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    second = gzip_members(good)[1]
    path = tmp_path / "cut.tsr"
    path.write_bytes(good[: second + (gzip_members(good)[2] - second) // 2])
    rec = Recording(path)
    assert BLOCK < len(rec) < 2 * BLOCK and rec.truncated
    assert rec.ends_early == (
        f"recording ends early: cut after sample {len(rec)} (truncated gzip member)"
    )
    same_samples(rec, snaps)


def test_a_flipped_byte_in_the_last_block_keeps_the_intact_blocks_before_it(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    """(A damaged block with intact ones after it is skipped: tests/recording/test_resync.py.)"""
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good, 2))
    rec = Recording(path)
    assert len(rec) == 2 * BLOCK  # the damaged block is dropped whole: its CRC failed
    assert rec.ends_early is not None
    assert rec.ends_early.startswith(
        f"recording ends early: damaged after sample {2 * BLOCK} (record "
    )
    assert rec.ends_early.endswith(
        (f"; its block, from record {2 * BLOCK + 2}, left out)", "; that block left out)")
    )
    same_samples(rec, snaps)


def test_a_flipped_byte_in_the_only_block_leaves_nothing_to_replay(
    good: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "flipped.tsr"
    path.write_bytes(flipped(good[: gzip_members(good)[1]], 0))
    with pytest.raises(RecordingError):
        Recording(path)


def test_a_whole_recording_has_no_note(good: bytes, tmp_path: Path) -> None:
    path = tmp_path / "good.tsr"
    path.write_bytes(good)
    rec = Recording(path)
    assert len(rec) == N and rec.ends_early is None and not rec.truncated


def test_record_from_a_damaged_replay_notes_it_and_keeps_the_samples_before(
    good: bytes, tmp_path: Path
) -> None:
    src, out = tmp_path / "flipped.tsr", tmp_path / "out.tsr"
    src.write_bytes(flipped(good, 2))
    done = tcpscope("--replay", str(src), "record", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{src}: recording ends early: damaged after sample {2 * BLOCK} (record " in done.stderr
    assert "Traceback" not in done.stderr
    assert len(Recording(out)) == 2 * BLOCK


def test_record_from_a_sample_less_replay_is_refused_and_writes_nothing(
    good: bytes, tmp_path: Path
) -> None:
    src, out = tmp_path / "hdronly.tsr", tmp_path / "out.tsr"
    src.write_bytes(gzip.compress(gzip.decompress(good).split(b"\n")[0] + b"\n"))
    done = tcpscope("--replay", str(src), "record", str(out))
    assert done.returncode == 2
    assert done.stderr.strip() == f"tcpscope: {src}: the recording holds no samples"
    assert not out.exists()


def test_record_from_a_replay_says_the_interval_it_keeps(good: bytes, tmp_path: Path) -> None:
    src, out = tmp_path / "long.tsr", tmp_path / "x.tsr"
    src.write_bytes(good)
    done = tcpscope("--replay", str(src), "record", str(out))
    assert done.returncode == 0, done.stderr
    assert f"recording to {out} every 0.1 s" in done.stderr
    assert Recording(out).header.interval_s == 0.1


@pytest.mark.parametrize("interval", [math.nan, 0.0], ids=["nan", "zero"])
def test_a_nan_or_zero_interval_in_a_record_is_refused(
    good: bytes, tmp_path: Path, interval: float
) -> None:
    """0 is a one-shot's interval (the agent's answer to `--remote connections`): in a file
    it was accepted, and `--replay f record g` then wrote a header tcpscope refuses."""
    lines = gzip.decompress(good).split(b"\n")
    rec = json.loads(lines[3])
    rec["iv"] = interval
    lines[3] = json.dumps(rec).encode()  # Python writes NaN, as a broken tool might
    path = tmp_path / "bad-iv.tsr"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    with pytest.raises(
        RecordingError, match=rf"record 4: key 'iv': interval out of range \({interval}\)"
    ):
        Recording(path)


def test_the_writer_never_writes_nan(snaps: list[Snapshot], tmp_path: Path) -> None:
    path = tmp_path / "out.tsr"
    with path.open("wb") as out:
        writer = RecordingWriter(out, lambda s: header_for(s))
        writer.write(snaps[0])
        writer.write(replace(snaps[1], interval_s=math.nan))
        with pytest.raises(RecordingError, match="non-finite"):
            writer.write(snaps[2])  # emits the NaN sample
        assert writer.samples_written == 1


def test_a_block_whose_time_goes_back_is_damage_and_numbering_holds(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    """A block appended again (time goes back) was taken as complete, and the bar's numbers
    (bisected over unsorted times) broke; now it is damage and the samples before it replay."""
    members = [*gzip_members(good), len(good)]
    path = tmp_path / "again.tsr"
    path.write_bytes(good + good[members[1] : members[2]])
    rec = Recording(path)
    assert len(rec) == N and rec.truncated
    assert rec.ends_early is not None
    assert rec.ends_early.startswith(
        f"recording ends early: damaged after sample {N} (record {N + 2}: sample number goes "
        "backwards ("
    )
    assert rec.ends_early.endswith("; that block left out)")
    feed = ReplayFeed(rec)
    for i in range(len(rec)):
        assert feed.number_of(rec.snapshot(i)) == i + 1
        assert rec.index_at(rec.times[i]) == i
    same_samples(rec, snaps)


def test_a_clock_set_back_while_recording_loses_no_sample(good: bytes, tmp_path: Path) -> None:
    """The host's clock set back (an NTP step) while ``n`` goes on: the samples after it are
    real; the file is complete, not damaged from there."""
    cut = gzip_members(good)[1]
    later = gzip.decompress(good[cut:]).split(b"\n")
    first = json.loads(later[0])
    first["t"] -= 3_000_000  # three seconds back, in the record's microseconds
    later[0] = json.dumps(first).encode()
    path = tmp_path / "clock-back.tsr"
    path.write_bytes(good[:cut] + gzip.compress(b"\n".join(later)))
    rec = Recording(path)
    assert len(rec) == N and rec.ends_early is None


def test_a_sample_number_going_back_is_damage(good: bytes, tmp_path: Path) -> None:
    cut = gzip_members(good)[1]
    later = gzip.decompress(good[cut:]).split(b"\n")  # from record BLOCK + 2 on
    second = json.loads(later[1])
    second["n"] = json.loads(later[0])["n"] - 1
    later[1] = json.dumps(second).encode()
    path = tmp_path / "n-back.tsr"
    path.write_bytes(good[:cut] + gzip.compress(b"\n".join(later)))
    rec = Recording(path)
    assert len(rec) == BLOCK
    assert rec.ends_early == (
        f"recording ends early: damaged after sample {BLOCK} (record {BLOCK + 3}: sample number"
        f" goes backwards (n {second['n']} after {second['n'] + 1}); its block, from record"
        f" {BLOCK + 2}, left out)"
    )


def test_a_repeated_n_at_a_later_time_is_a_failed_sample_not_damage(
    snaps: list[Snapshot], tmp_path: Path
) -> None:
    """A failed sample (and a ``record --remote`` outage record) keeps the previous ``n``."""
    again = replace(snaps[5], seq=snaps[4].seq)
    path = tmp_path / "outage.tsr"
    write_recording(path, [*snaps[:5], again, *snaps[6:]], key_every=BLOCK)
    rec = Recording(path)
    assert len(rec) == N and rec.ends_early is None
    assert rec.seqs[4] == rec.seqs[5]
    feed = ReplayFeed(rec)
    assert [feed.number_of(rec.snapshot(i)) for i in range(len(rec))] == list(range(1, N + 1))


@pytest.mark.parametrize("mask", [0x01, 0xFF])
def test_a_flipped_byte_at_the_end_of_a_full_file_is_damage_never_a_cut(
    good: bytes, snaps: list[Snapshot], tmp_path: Path, mask: int
) -> None:
    """A flip in the last block's final bytes can leave inflate wanting more data at the end
    of the file: it read the gzip trailer as data. That was `cut after sample 59 (truncated
    gzip member)` for a file whose bytes all were there; the block fails its check (it is left
    out whole), or its data matches the trailer's CRC and every sample is kept."""
    path = tmp_path / "flipped.tsr"
    for back in range(9, 61):
        data = bytearray(good)
        data[-back] ^= mask
        path.write_bytes(data)
        rec = Recording(path)
        assert rec.ends_early is None or "cut" not in rec.ends_early, (back, rec.ends_early)
        if len(rec) == N:  # the block's data checks out: only the deflate end is damaged
            assert rec.notes == [INTACT_END], back
            assert not rec.truncated
        else:
            assert len(rec) == 2 * BLOCK, (back, rec.ends_early)
            assert rec.ends_early is not None
            assert rec.ends_early.startswith(
                f"recording ends early: damaged after sample {2 * BLOCK} (record "
            ), back
    same_samples(rec, snaps)


INTACT_END = (
    f"recording's end is damaged after sample {N}, its last: the samples of its last block"
    " are all there (they match the block's CRC); the compressed bytes after them are corrupt"
)


def test_a_flip_in_the_last_deflate_byte_keeps_every_sample_and_says_the_end_is_damaged(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    """The byte before the gzip trailer holds the final block's end code: all samples are
    there, and said to be (not `cut after sample 60`)."""
    src, out = tmp_path / "end.tsr", tmp_path / "out.tsr"
    data = bytearray(good)
    data[-9] ^= 0xFF
    src.write_bytes(data)
    rec = Recording(src)
    assert len(rec) == N and rec.ends_early is None and not rec.truncated
    assert rec.notes == [INTACT_END]
    same_samples(rec, snaps)
    done = tcpscope("--replay", str(src), "record", str(out))
    assert done.returncode == 0, done.stderr
    assert f"tcpscope: {src}: {INTACT_END}\n" in done.stderr
    assert len(Recording(out)) == N


def test_every_cut_inside_the_last_block_is_still_a_cut(
    good: bytes, snaps: list[Snapshot], tmp_path: Path
) -> None:
    """The end is told from a cut by the gzip trailer at the end of the file; a cut file has
    none (its last 8 bytes are compressed data), so each cut point still says `cut`."""
    last = gzip_members(good)[2]
    path = tmp_path / "cut.tsr"
    sizes = [*range(last + 20, len(good), 211), *range(len(good) - 40, len(good))]
    for size in sizes:
        path.write_bytes(good[:size])
        rec = Recording(path)
        assert rec.ends_early == (
            f"recording ends early: cut after sample {len(rec)} (truncated gzip member)"
        ), size
    same_samples(rec, snaps)
