"""Snapshot tests of the demo at fixed seeds: a readable summary and a digest of chosen frames,
compared with the stored golden files. A change to the scenario (or to anything a screen would
show of it) fails here; after reviewing it, regenerate with
``TCPSCOPE_UPDATE_GOLDEN=1 pytest tests/demo/test_golden.py``."""

from __future__ import annotations

import asyncio
import collections
import json
import os
from pathlib import Path
from typing import Any

import pytest

from core.connections.snapshot import Snapshot
from core.demo import DemoFeed
from tests.recording.content import digest

GOLDEN = Path(__file__).parent / "golden"
FRAMES = (1, 2, 60, 90, 126, 212, 236, 281, 300, 301)
UPDATE = os.environ.get("TCPSCOPE_UPDATE_GOLDEN") == "1"


async def frames(seed: int) -> dict[int, Snapshot]:
    feed = DemoFeed(seed)
    out: dict[int, Snapshot] = {}
    for n in range(1, max(FRAMES) + 1):
        snap = await feed.next_snapshot()
        if n in FRAMES:
            out[n] = snap
    await feed.aclose()
    return out


def summary(snap: Snapshot) -> dict[str, Any]:
    states = collections.Counter(c.state.name for c in snap.connections.values())
    ipsec: dict[str, Any] = {}
    if snap.ipsec is not None:
        pv = snap.ipsec.providers[0]
        ipsec = {r.name: [r.value, r.rate] for r in pv.rows}
        ipsec["SAs"] = [f"{sa.name}:{sa.state}" for sa in pv.sas]
    return {
        "time": snap.time.isoformat(),
        "connections": len(snap.connections),
        "states": dict(sorted(states.items())),
        "added": len(snap.diff.added),
        "removed": len(snap.diff.removed),
        "state_changed": len(snap.diff.state_changed),
        "ghosts": len(snap.ghosts),
        "ipsec": ipsec,
        "digest": digest(snap),
    }


@pytest.mark.parametrize("seed", [1, 42])
def test_demo_matches_golden(seed: int) -> None:
    got = {str(n): summary(s) for n, s in asyncio.run(frames(seed)).items()}
    path = GOLDEN / f"seed-{seed}.json"
    if UPDATE or not path.exists():
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not UPDATE:
            pytest.fail(f"{path} was missing; written now — review and commit it")
    want = json.loads(path.read_text())
    for n in want:
        assert got[n] == want[n], f"seed {seed} frame {n} differs from {path.name}"
