"""The Age cell's text: humanize's words made compact, the same whatever the microseconds
(each distinct age is worked out once and kept: every row on screen asks anew each tick)."""

from __future__ import annotations

from datetime import timedelta

import humanize
from hypothesis import given
from hypothesis import strategies as st

from tui.format import age


def test_known_ages() -> None:
    assert age(timedelta(milliseconds=999)) == "0s"
    assert age(timedelta(seconds=1)) == "1s"
    assert age(timedelta(seconds=45, microseconds=999_999)) == "45s"
    assert age(timedelta(seconds=61)) == "1m"
    assert age(timedelta(minutes=3, seconds=20)) == "3m"
    assert age(timedelta(hours=2)) == "2h"
    assert age(timedelta(days=1, hours=1)) == "1d"
    assert age(timedelta(days=400)) == humanize.naturaldelta(timedelta(days=400))
    assert age(timedelta(seconds=-5)) == "0s"


def compact(words: str) -> str:
    """``45 seconds`` → ``45s``, ``a minute`` → ``1m`` (other words as they are)."""
    count, _, unit = words.partition(" ")
    short = {"second": "s", "minute": "m", "hour": "h", "day": "d", "month": "mo", "year": "y"}
    unit = unit.removesuffix("s")
    if unit not in short or not (count.isdigit() or count in ("a", "an")):
        return words
    return ("1" if count in ("a", "an") else count) + short[unit]


@given(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3 * 365)))
def test_an_age_is_humanizes_words_of_the_delta_itself(delta: timedelta) -> None:
    # What is kept is keyed by whole seconds: the delta's own words (microseconds and all)
    # must be those, each time.
    assert age(delta) == compact(humanize.naturaldelta(delta))
    assert age(delta + timedelta(microseconds=1)) in (age(delta), age(delta + timedelta(seconds=1)))
