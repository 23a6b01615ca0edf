"""EarlyStarts: a dump's new keys are started as the diff finds them, reply by reply."""

from __future__ import annotations

from core.connections.sources.dump_diff import OrderedDiff
from core.connections.sources.early_starts import EarlyStarts


def test_each_key_the_diff_adds_is_started_once_right_after_its_reply() -> None:
    last = [b"a", b"b", b"c", b"d"]
    diff = OrderedDiff(last, set(last))
    calls: list[bytes] = []

    def start(key: bytes) -> object:
        calls.append(key)
        return ("started", key)

    early = EarlyStarts(diff.added_so_far, start)
    feed = early.after(diff.feed)
    feed([b"a", b"x"])  # b went, x is new
    assert calls == [b"x"] and early.started == {b"x": ("started", b"x")}
    feed([b"c", b"d"])  # nothing new: nothing started
    assert calls == [b"x"]
    feed([b"y", b"z"])
    early.catch_up()  # (nothing left to start)
    assert calls == [b"x", b"y", b"z"]
    assert diff.finish()[1] == [b"x", b"y", b"z"] == list(early.started)
