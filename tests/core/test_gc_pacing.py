"""The collector's pacing in the processes that keep every record (the app, ``record``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from core.sampling import GcPacer
from core.sampling.gc_pacing import FREEZE_ABOVE_ROWS, FULL_EVERY, RARE_FULL_ABOVE_ROWS


@pytest.fixture
def collector() -> Iterator[tuple[int, int, int]]:
    """The collector as it was, put back afterwards (nothing frozen)."""
    gc.unfreeze()
    saved = gc.get_threshold()
    yield saved
    gc.unfreeze()
    gc.set_threshold(*saved)


def test_records_are_frozen_as_the_table_doubles_and_full_passes_spaced_out(
    collector: tuple[int, int, int],
) -> None:
    pacer = GcPacer()
    pacer.before(FREEZE_ABOVE_ROWS - 1)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == collector
    kept = [[n] for n in range(500)]  # long-lived containers, as records are
    pacer.before(FREEZE_ABOVE_ROWS)
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)
    more = [[n] for n in range(500)]
    pacer.before(2 * FREEZE_ABOVE_ROWS)  # not more than doubled: nothing new frozen
    assert gc.get_freeze_count() == frozen
    pacer.before(RARE_FULL_ABOVE_ROWS)
    assert gc.get_freeze_count() >= frozen + len(more)
    assert gc.get_threshold() == (collector[0], collector[1], FULL_EVERY)
    pacer.before(RARE_FULL_ABOVE_ROWS - 1)  # a table that shrank: CPython's pace again
    assert gc.get_threshold() == collector
