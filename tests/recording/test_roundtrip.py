"""A recording replays exactly what was recorded: every field of every sample, in any order,
across blocks, including errors, stale samples, privilege notes, skips and IPsec history."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from core.connections.snapshot import ErrorKind, Privilege, Snapshot, SourceError
from core.recording.format import FORMAT_NAME, FORMAT_VERSION
from core.recording.reader import Recording
from tests.recording.content import content
from tests.recording.util import demo_snapshots, write_recording

N = 420
KEY_EVERY = 100


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    """Demo samples covering the SYN spike, the auth burst and the IPsec restart."""
    return demo_snapshots(5, N)


@pytest.fixture(scope="module")
def recorded(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "demo.tsr"
    write_recording(path, snaps, key_every=KEY_EVERY)
    return path


def test_every_sample_replays_identically(snaps: list[Snapshot], recorded: Path) -> None:
    rec = Recording(recorded)
    assert len(rec) == N
    assert not rec.truncated
    assert len(rec.blocks) == -(-N // KEY_EVERY)
    for i, snap in enumerate(snaps):
        replayed = rec.snapshot(i)
        expected = content(snap)
        if i > 0:
            # A replayed diff is against the previous sample (the sampler's is too).
            assert content(replayed) == expected, f"sample {i}"
        else:
            assert content(replayed)["connections"] == expected["connections"]


def test_random_access_in_any_order(snaps: list[Snapshot], recorded: Path) -> None:
    rec = Recording(recorded)
    order = list(range(N))
    random.Random(3).shuffle(order)
    for i in order[:80]:
        got = content(rec.snapshot(i))
        want = content(snaps[i])
        got.pop("diff")
        want.pop("diff")
        assert got == want, f"sample {i}"


def test_times_and_index(snaps: list[Snapshot], recorded: Path) -> None:
    rec = Recording(recorded)
    assert rec.times == [s.time for s in snaps]
    assert rec.seqs == [s.seq for s in snaps]
    assert rec.index_at(snaps[150].time) == 150
    assert rec.index_at(snaps[150].time + timedelta(milliseconds=500)) == 150
    assert rec.index_at(snaps[0].time - timedelta(days=1)) == 0
    assert rec.index_at(snaps[-1].time + timedelta(days=1)) == N - 1


def test_header_fields(recorded: Path, snaps: list[Snapshot]) -> None:
    rec = Recording(recorded)
    h = rec.header
    assert h.version == FORMAT_VERSION
    assert h.source == "demo"
    assert h.providers == ("demo",)
    assert h.start == snaps[0].started_at
    assert h.interval_s == 1.0
    with gzip.open(recorded, "rt") as f:
        first = json.loads(f.readline())
    assert first["format"] == FORMAT_NAME
    assert first["start_iso"].startswith("2026-01-15T09:00:00")


def test_file_is_plain_gzip_of_json_lines(recorded: Path) -> None:
    """zcat/jq can read a recording: concatenated members decompress as one stream."""
    with gzip.open(recorded, "rt") as f:
        lines = f.read().splitlines()
    assert len(lines) == N + 1
    kinds = [json.loads(line)["k"] for line in lines[1:]]
    assert kinds.count("K") == len(range(0, N, KEY_EVERY))
    assert all(k == "K" for k in kinds[::KEY_EVERY])


def test_tcp_info_is_stored_only_when_it_changed(recorded: Path) -> None:
    with gzip.open(recorded, "rt") as f:
        records = [json.loads(line) for line in f.read().splitlines()[1:]]
    listener_ids = {
        cid
        for cid, c in records[0]["c"].items()
        if c[27] == 2  # State = Listen
    }
    assert listener_ids
    for rec in records[1:KEY_EVERY]:
        assert not listener_ids & set(rec.get("c", {}))  # unchanged rows are not repeated
    long_lived = "tcpscope:[192.0.2.10]:51432-[203.0.113.50]:5432"
    number = list(records[0]["c"]).index(long_lived)  # connections are numbered per block
    assert long_lived in records[0]["ti"]
    stepped = 0
    for rec in records[1:KEY_EVERY]:
        assert long_lived not in rec.get("ti", {})  # after the key frame: steps only
        if "td" in rec:
            handles = list(itertools.accumulate(rec["td"][0], initial=-1))[1:]
            stepped += number in handles
    assert stepped > 50


def test_error_stale_privilege_skipped_and_paused_survive(tmp_path: Path) -> None:
    base = demo_snapshots(2, 6)
    error = SourceError(ErrorKind.PERMISSION, "netlink: permission denied", base[3].time)
    odd = [
        base[0],
        dataclasses.replace(base[1], privilege=Privilege(("owners of other users' sockets",))),
        dataclasses.replace(base[2], skipped=3),
        dataclasses.replace(base[2], time=base[3].time, error=error, stale=True, diff=base[3].diff),
        dataclasses.replace(base[4], paused=True),
        base[5],
    ]
    path = tmp_path / "odd.tsr"
    write_recording(path, odd)
    rec = Recording(path)
    assert len(rec) == len(odd)
    for i in range(1, len(odd)):
        got, want = content(rec.snapshot(i)), content(odd[i])
        got.pop("diff")
        want.pop("diff")
        assert got == want, f"sample {i}"
    assert rec.snapshot(3).error == error
    assert rec.snapshot(1).privilege.limited
    assert rec.snapshot(2).skipped == 3


def test_republished_sample_replaces_the_previous(tmp_path: Path) -> None:
    """The sampler re-publishes a sample (same seq and time) when only IPsec changed."""
    base = demo_snapshots(2, 4)
    newer = dataclasses.replace(base[1], ipsec=base[2].ipsec)
    path = tmp_path / "re.tsr"
    write_recording(path, [base[0], base[1], newer, base[2], base[3]])
    rec = Recording(path)
    assert len(rec) == 4
    assert rec.snapshot(1).ipsec == base[2].ipsec


def test_ipsec_history_is_reproduced(snaps: list[Snapshot], recorded: Path) -> None:
    rec = Recording(recorded)
    for i in (1, 99, 100, 101, 281, N - 1):
        view = rec.snapshot(i).ipsec
        assert view is not None and view == snaps[i].ipsec
        assert len(view.providers[0].rows[0].history) == min(i + 1, 600)
