"""SortedKeys (the table's order in blocks) behaves like one sorted list under any edits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.sorted_keys import SortedKeys

EDITS = st.lists(st.tuples(st.booleans(), st.integers(0, 60)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 60)), EDITS, st.integers(2, 6))
def test_edits_keep_the_same_order_as_a_sorted_list(
    start: set[int], edits: list[tuple[bool, int]], block_max: int
) -> None:
    """Adds and removes (blocks splitting at ``block_max`` and emptying) leave exactly a
    sorted list's content, positions and lookups."""
    keys = SortedKeys([[(k,)] for k in sorted(start)] if start else None, block_max=block_max)
    model = sorted((k,) for k in start)
    for add, n in edits:
        key = (n,)
        present = key in model
        if add and not present:
            keys.add(key)
            model.append(key)
            model.sort()
        elif not add:
            assert keys.remove(key) is present
            if present:
                model.remove(key)
        assert len(keys) == len(model)
    assert list(keys) == model
    assert list(reversed(keys)) == model[::-1]
    assert [keys[i] for i in range(len(model))] == model
    assert [keys.index(k) for k in model] == list(range(len(model)))
    assert all(keys.index((n,)) is None for n in range(61) if (n,) not in model)


def test_from_sorted_reads_back_by_position() -> None:
    run = [(i, f"id{i}") for i in range(2500)]
    keys = SortedKeys.from_sorted(run)
    assert len(keys) == 2500 and keys[0] == run[0] and keys[2499] == run[-1]
    assert keys.index(run[1234]) == 1234 and keys.index((1234, "other")) is None
