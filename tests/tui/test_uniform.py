"""Uniform columns follow the diffs: after any sequence of ticks (some skipped), the columns
found uniform are those a look at every row finds, with the value every row has; every row is
looked at only after a jump (a first snapshot, a skipped one)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.model import TcpState
from core.connections.snapshot import Snapshot
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.sampling.sampler import Sampler
from tui.connections.uniform import ATTRS, UniformColumns

ROW = st.tuples(
    st.integers(1, 12),  # local port (identity)
    st.sampled_from([TcpState.ESTABLISHED, TcpState.LISTEN]),
    st.sampled_from([None, 0, 2]),  # OffloadState
    st.sampled_from([None, 0]),  # AppliedSetting
)
FRAMES = st.lists(st.lists(ROW, max_size=6, unique_by=lambda r: r[0]), min_size=1, max_size=10)


def snapshots(frames: list[list[tuple[int, TcpState, int | None, int | None]]]) -> list[Snapshot]:
    source = ScriptedSource(
        [
            ScriptedFrame(
                [
                    ScriptedConn("10.0.0.1", port, "10.0.0.2", 80, state, None, None, 4, None, o, a)
                    for port, state, o, a in rows
                ]
            )
            for rows in frames
        ]
    )
    sampler = Sampler(source, clock=StepClock(datetime(2026, 1, 1, tzinfo=UTC)))

    async def take() -> list[Snapshot]:
        return [await sampler.sample_once() for _ in frames]

    return asyncio.run(take())


def every_row(snap: Snapshot) -> dict[str, int | None]:
    found = {}
    for key, attr in ATTRS.items():
        values = {getattr(c, attr) for c in snap.connections.values()}
        if len(values) == 1:
            found[key] = values.pop()
    return found


@settings(max_examples=60, deadline=None)
@given(FRAMES, st.lists(st.booleans(), min_size=10, max_size=10))
def test_uniform_columns_equal_a_look_at_every_row(
    frames: list[list[tuple[int, TcpState, int | None, int | None]]], skips: list[bool]
) -> None:
    uniform = UniformColumns()
    jumps, seen = 0, None
    for snap, skip in zip(snapshots(frames), skips, strict=False):
        if skip:
            continue  # never seen: the next snapshot's diff does not cover it
        jumps += seen is None or snap.seq != seen + 1
        seen = snap.seq
        assert uniform.update(snap) == every_row(snap)
    assert uniform.full_counts == jumps  # every other tick followed its diff alone
