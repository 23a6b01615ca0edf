"""Recv-Q and Send-Q in recordings: recorded and replayed, and files written before tcpscope
read them (tcp_info lists and steps two fields shorter) still replay, with the queues ``None``."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

from core.connections.snapshot import Snapshot
from core.recording.reader import Recording
from tests.recording.util import demo_snapshots, write_recording

N = 24
KEY_EVERY = 10


def with_queues(snaps: list[Snapshot]) -> list[Snapshot]:
    """The demo's samples with queue sizes that change every sample (steps carry them)."""
    out = []
    for i, snap in enumerate(snaps):
        infos = {
            cid: dataclasses.replace(info, recv_q=(i * 7 + n) % 900, send_q=n % 128)
            for n, (cid, info) in enumerate(sorted(snap.tcp_info.items()))
        }
        out.append(dataclasses.replace(snap, tcp_info=infos))
    return out


def queues(snap: Snapshot) -> dict[str, tuple[int | None, int | None]]:
    return {cid: (i.recv_q, i.send_q) for cid, i in snap.tcp_info.items()}


def test_queues_are_recorded_and_replayed(tmp_path: Path) -> None:
    snaps = with_queues(demo_snapshots(3, N))
    path = tmp_path / "q.tsr"
    write_recording(path, snaps, key_every=KEY_EVERY)
    rec = Recording(path)
    for i, snap in enumerate(snaps):
        assert queues(rec.snapshot(i)) == queues(snap), f"sample {i}"
    assert any(r for r, _ in queues(snaps[-1]).values())


def test_a_file_from_before_the_queues_still_replays(tmp_path: Path) -> None:
    snaps = [  # as tcpscope sampled before it read the queues
        dataclasses.replace(
            s,
            tcp_info={
                c: dataclasses.replace(i, recv_q=None, send_q=None) for c, i in s.tcp_info.items()
            },
        )
        for s in demo_snapshots(3, N)
    ]
    path = tmp_path / "new.tsr"
    write_recording(path, snaps, key_every=KEY_EVERY)
    with gzip.open(path, "rt") as f:
        header, *records = f.read().splitlines()
    older = [header]
    for line in records:
        rec = json.loads(line)
        for cid, fields in rec.get("ti", {}).items():
            assert fields[-2:] == [None, None]
            rec["ti"][cid] = fields[:-2]  # the TcpInfo list as written before recv_q/send_q
        if "td" in rec:
            rec["td"] = rec["td"][:-2]  # and its steps, one column per field
        older.append(json.dumps(rec))
    old_path = tmp_path / "old.tsr"
    with gzip.open(old_path, "wt") as f:
        f.write("\n".join(older) + "\n")
    old, new = Recording(old_path), Recording(path)
    stepped = sum("td" in json.loads(line) for line in records)
    assert stepped > 0
    for i in range(N):
        assert dict(old.snapshot(i).tcp_info) == dict(new.snapshot(i).tcp_info), f"sample {i}"
    assert all(q == (None, None) for q in queues(old.snapshot(N - 1)).values())
