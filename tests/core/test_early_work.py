"""EarlyWork: a dump's new keys are started, and its gone keys peeked at, reply by reply."""

from __future__ import annotations

from collections.abc import Sequence

from core.connections.sources.dump_diff import OrderedDiff
from core.connections.sources.early_work import EarlyWork


def test_each_key_the_diff_adds_or_passes_over_is_worked_on_once_right_after_its_reply() -> None:
    last = [b"a", b"b", b"c", b"d", b"e"]
    diff = OrderedDiff(last, set(last))
    starts: list[bytes] = []
    peeks: list[list[bytes]] = []

    def start(key: bytes) -> object:
        starts.append(key)
        return ("started", key)

    def peek(keys: Sequence[bytes]) -> None:
        peeks.append(list(keys))

    early = EarlyWork(diff.added_so_far, start, diff.passed_so_far, peek)
    feed = early.after(diff.feed)
    feed([b"a", b"x"])  # x is new (b may still follow)
    assert starts == [b"x"] and early.started == {b"x": ("started", b"x")}
    assert peeks == []
    feed([b"c", b"e"])  # b and d went, nothing new
    assert starts == [b"x"] and peeks == [[b"b", b"d"]]
    feed([b"y", b"z"])
    early.catch_up()  # (nothing left)
    assert starts == [b"x", b"y", b"z"] and peeks == [[b"b", b"d"]]
    _order, added, gone, clean = diff.finish()
    assert clean and added == [b"x", b"y", b"z"] == list(early.started)
    assert sorted(gone) == [b"b", b"d"]
