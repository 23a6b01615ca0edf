"""InodeSet answers as a Python set would, through adds, discards and rebuilds, and keeps
its numbers in an array of 8 bytes each (the resolver's live sockets: 42 bytes each in a set)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.sources.inode_set import REBUILD_MIN, InodeSet

OPS = st.lists(
    st.tuples(st.sampled_from(["add", "update", "discard"]), st.integers(0, 3000)),
    max_size=3000,
)


@settings(max_examples=150, deadline=None)
@given(OPS, st.integers(0, 3000))
def test_an_inode_set_is_a_set(ops: list[tuple[str, int]], start: int) -> None:
    ours, ref = InodeSet(), set[int]()
    ours.update(range(start, start + 2 * REBUILD_MIN))  # a first tick: many, in any order
    ref.update(range(start, start + 2 * REBUILD_MIN))
    for op, ino in ops:
        if op == "add":
            ours.add(ino)
            ref.add(ino)
        elif op == "update":  # new sockets: above every inode so far, as the kernel numbers
            ours.update([ino + 10_000, ino])
            ref.update([ino + 10_000, ino])
        else:
            ours.discard(ino)
            ref.discard(ino)
    assert len(ours) == len(ref)
    probe = range(0, 14_000, 7)
    assert [i in ours for i in probe] == [i in ref for i in probe]
    assert all(i in ours for i in ref)
    assert ours.among([*probe, *ref]) == ref & {*probe, *ref}


def test_churn_keeps_about_eight_bytes_a_number() -> None:
    """1% of 50k numbers replaced per tick for 300 ticks (new ones above the old): the
    array holds them, and what is kept aside stays a fraction of it."""
    ours = InodeSet()
    live = list(range(1_000_000, 1_050_000))
    ours.update(live)
    top = live[-1]
    for _ in range(300):
        for ino in live[:500]:
            ours.discard(ino)
        fresh = list(range(top + 1, top + 501))
        top += 500
        ours.update(fresh)
        live = live[500:] + fresh
    assert len(ours) == 50_000 and all(i in ours for i in live[::97])
    assert len(ours._base) <= 1.3 * 50_000
    assert len(ours._added) + len(ours._removed) <= 50_000 // 4
