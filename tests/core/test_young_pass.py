"""young_pass: after a large sample the young generations are collected once, in the
sampling thread, after giving way to the UI; a small one leaves the collector's pace alone."""

from __future__ import annotations

import gc

from core.sampling.young_pass import ABOVE_ROWS, young_pass


def generation_of(obj: object) -> int | None:
    return next((g for g in (0, 1, 2) if any(o is obj for o in gc.get_objects(g))), None)


def test_a_large_samples_new_containers_go_to_the_old_generation_at_once() -> None:
    gc.collect()
    records = {i: [i] for i in range(100)}  # a new map of tracked records, as a sample makes
    asked: list[str] = []
    assert generation_of(records) == 0
    young_pass(ABOVE_ROWS, lambda: asked.append("gave way"))
    assert generation_of(records) == 2 and asked == ["gave way"]


def test_a_small_sample_leaves_the_collector_alone() -> None:
    gc.collect()
    records = {i: [i] for i in range(10)}
    young_pass(ABOVE_ROWS - 1, lambda: None)
    assert generation_of(records) == 0
