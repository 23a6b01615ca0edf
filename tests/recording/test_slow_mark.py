"""A slow daemon's mark (:attr:`ProviderView.slow_s`) in recordings: recorded and replayed in
key and delta frames alike, and files written before tcpscope marked slow daemons (their
provider views end at ``event_gaps``) still replay, with no mark and no sample number.

The lab test (tests/ipsec/test_slow_charon_recorded_lab.py) records a real slow charon; this
one covers the format's edges a lab run does not choose: the mark coming and going between
two key frames, and an older file."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

from core.connections.snapshot import Snapshot
from core.ipsec.model import ProviderView
from core.recording.reader import Recording
from tests.recording.util import demo_snapshots, write_recording

N = 24
SLOW_S = {3: 1.25, 4: 1.5, 5: 1.5, 12: 2.0}
"""Sample → how long the demo's provider took (None elsewhere): set, changed, unchanged and
cleared within a block of :data:`KEY_EVERY`, and set again in the next."""
KEY_EVERY = 10
OLD_FIELDS = [f.name for f in dataclasses.fields(ProviderView)].index("event_gaps") + 1
"""A provider view's fields in files written before ``slow_s`` (and ``sample_no``)."""


def with_slow(snaps: list[Snapshot]) -> list[Snapshot]:
    out = []
    for i, snap in enumerate(snaps):
        assert snap.ipsec is not None
        providers = tuple(
            dataclasses.replace(p, slow_s=SLOW_S.get(i)) for p in snap.ipsec.providers
        )
        view = dataclasses.replace(snap.ipsec, providers=providers)
        out.append(dataclasses.replace(snap, ipsec=view))
    return out


def slow_marks(snap: Snapshot) -> dict[str, float | None]:
    assert snap.ipsec is not None
    return {p.name: p.slow_s for p in snap.ipsec.providers}


def test_the_slow_mark_is_recorded_and_replayed(tmp_path: Path) -> None:
    snaps = with_slow(demo_snapshots(7, N))
    assert slow_marks(snaps[0])
    path = tmp_path / "slow.tsr"
    write_recording(path, snaps, key_every=KEY_EVERY)
    rec = Recording(path)
    for i in [*range(N), 4, 12, 3]:  # in order (deltas), then sought back to
        assert slow_marks(rec.snapshot(i)) == slow_marks(snaps[i]), f"sample {i}"


def test_a_file_from_before_the_slow_mark_still_replays(tmp_path: Path) -> None:
    snaps = demo_snapshots(7, N)
    path = tmp_path / "new.tsr"
    write_recording(path, snaps, key_every=1)  # every record a key frame: whole views
    with gzip.open(path, "rt") as f:
        header, *records = f.read().splitlines()
    older = [header]
    for line in records:
        rec = json.loads(line)
        for pv in rec["ip"][2]:
            assert pv[OLD_FIELDS] is None  # slow_s; then sample_no and later fields
            del pv[OLD_FIELDS:]  # the view as written before any of them was recorded
        older.append(json.dumps(rec))
    old_path = tmp_path / "old.tsr"
    with gzip.open(old_path, "wt") as f:
        f.write("\n".join(older) + "\n")
    old, new = Recording(old_path), Recording(path)
    for i in range(N):
        was, now = old.snapshot(i).ipsec, new.snapshot(i).ipsec
        assert was is not None and now is not None
        assert all(p.slow_s is None and p.sample_no == 0 for p in was.providers), f"sample {i}"
        unnumbered = tuple(
            dataclasses.replace(p, sample_no=0, vici_given=False, history_len=0)
            for p in now.providers
        )
        assert was.providers == unnumbered, f"sample {i}"
