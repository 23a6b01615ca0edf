"""SortedKeys (the table's order in blocks) behaves like one sorted list under any edits."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.sorted_keys import SortedKeys

EDITS = st.lists(st.tuples(st.booleans(), st.integers(0, 60)), max_size=300)


def key(row: str) -> tuple[object, ...]:
    """Rows "r<n>" sort by n (numerically: r9 before r10), then by id."""
    return (int(row[1:]) % 17, row)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 60)), EDITS, st.integers(2, 6))
def test_edits_keep_the_same_order_as_a_sorted_list(
    start: set[int], edits: list[tuple[bool, int]], block_max: int
) -> None:
    """Adds and removes (blocks splitting at ``block_max`` and emptying) leave exactly a
    sorted list's content, positions and lookups."""
    first = sorted((f"r{n}" for n in start), key=key)
    rows = SortedKeys(key, [[r] for r in first], block_max=block_max)
    model = list(first)
    for add, n in edits:
        row = f"r{n}"
        present = row in model
        if add and not present:
            rows.add(row, key(row))
            model.append(row)
            model.sort(key=key)
        elif not add:
            assert rows.remove(row, key(row)) is present
            if present:
                model.remove(row)
        assert len(rows) == len(model)
    assert list(rows) == model
    assert list(reversed(rows)) == model[::-1]
    assert [rows[i] for i in range(len(model))] == model
    assert [rows.index(r, key(r)) for r in model] == list(range(len(model)))
    assert all(rows.index(f"r{n}", key(f"r{n}")) is None for n in range(61) if f"r{n}" not in model)


def test_from_sorted_reads_back_by_position() -> None:
    run = sorted((f"r{i}" for i in range(2500)), key=key)
    rows = SortedKeys.from_sorted(key, run)
    assert len(rows) == 2500 and rows[0] == run[0] and rows[2499] == run[-1]
    assert rows.index(run[1234], key(run[1234])) == 1234
    assert rows.index("r99999", key("r99999")) is None


def test_the_collector_stops_tracking_the_blocks() -> None:
    """Blocks of ids are left alone by the cyclic GC once it has seen them (a full collection
    at 250k rows walked every id of every list block), also after adds, removes and splits."""
    run = sorted((f"r{i}" for i in range(5000)), key=key)
    rows = SortedKeys.from_sorted(key, run[::2])
    for row in run[1::2][:1500]:
        rows.add(row, key(row))
    for row in run[:400]:
        rows.remove(row, key(row))
    gc.collect()
    blocks = rows._blocks
    assert len(blocks) >= 3 and not any(gc.is_tracked(block) for block in blocks)
