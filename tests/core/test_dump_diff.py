"""OrderedDiff against plain set arithmetic, on dumps that churn, move keys and repeat them."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.sources.dump_diff import WINDOW, KeyRuns, OrderedDiff


@st.composite
def two_dumps(draw: st.DrawFn) -> tuple[list[bytes], list[bytes], list[int]]:
    """The last dump (unique keys), this dump (changed from it) and this dump's reply sizes."""
    size = draw(st.integers(0, 300))
    last = [b"k%d" % i for i in range(size)]
    now = [k for k in last if not draw(st.booleans()) or draw(st.integers(0, 20)) != 0]
    for i in range(draw(st.integers(0, 12))):  # new sockets anywhere
        now.insert(draw(st.integers(0, len(now))), b"new%d" % i)
    for _ in range(draw(st.integers(0, 4))):  # a key moves, near or far (> WINDOW)
        if now:
            key = now.pop(draw(st.integers(0, len(now) - 1)))
            now.insert(draw(st.integers(0, len(now))), key)
    if now and draw(st.integers(0, 3)) == 0:  # the kernel lists one socket twice
        now.insert(draw(st.integers(0, len(now))), now[draw(st.integers(0, len(now) - 1))])
    sizes = draw(st.lists(st.integers(1, 2 * WINDOW), min_size=1, max_size=20))
    return last, now, sizes


def replies(keys: list[bytes], sizes: list[int]) -> list[list[bytes]]:
    out, at, i = [], 0, 0
    while at < len(keys):
        step = sizes[i % len(sizes)]
        out.append(keys[at : at + step])
        at += step
        i += 1
    return out


@settings(max_examples=400, deadline=None)
@given(two_dumps())
def test_ordered_diff_equals_set_difference(
    case: tuple[list[bytes], list[bytes], list[int]],
) -> None:
    last, now, sizes = case
    diff = OrderedDiff(last, set(last), where=True)
    fed = replies(now, sizes)
    for reply in fed:
        diff.feed(reply)
    order, added, gone, clean = diff.finish()
    assert list(order) == now
    twice = len(set(now)) != len(now)
    assert clean is not twice
    if clean:
        assert sorted(added) == sorted(set(now) - set(last))
        assert sorted(gone) == sorted(set(last) - set(now))
        assert [fed[r][i] for r, i in diff.added_at or ()] == added  # where each was met


def test_far_moves_and_the_first_dump() -> None:
    last = [b"%d" % i for i in range(3 * WINDOW)]
    moved = [last[-1], *last[1:-1], last[0]]  # both ends swap places, far apart
    diff = OrderedDiff(last, set(last))
    diff.feed(moved)
    assert diff.finish()[1:] == ([], [], True)
    twice_early = OrderedDiff(last, set(last))
    twice_early.feed([last[-1], last[-1], *last[:-1]])  # moved far forward, and listed twice
    assert twice_early.finish()[3] is False
    first = OrderedDiff([], {}, where=True)
    first.feed([b"a", b"b"])
    first.feed([b"c"])
    order, *rest = first.finish()
    assert list(order) == [b"a", b"b", b"c"] and rest == [[b"a", b"b", b"c"], [], True]
    assert first.added_at == [(0, 0), (0, 1), (1, 0)]
    assert OrderedDiff([], {}).added_at is None  # not asked for: not kept


def test_unchanged_keys_are_the_last_dumps_objects() -> None:
    """Keys equal to the last dump's come back as its objects (the records' dict keys), so a
    dump's own copies are not kept: one bytes object per socket, not two."""
    last = [b"key-%d" % i for i in range(200)]
    now = (
        [bytes(bytearray(k)) for k in last[:100]]
        + [b"new"]
        + [bytes(bytearray(k)) for k in last[100:]]
    )
    diff = OrderedDiff(last, set(last))
    for i in range(0, len(now), 64):
        diff.feed(now[i : i + 64])
    runs, added, _, clean = diff.finish()
    order = list(runs)
    assert clean and order == now and added == [b"new"]
    assert all(a is b for a, b in zip(order[:100] + order[101:], last, strict=True))


@settings(max_examples=200, deadline=None)
@given(two_dumps())
def test_a_known_key_is_the_callers_object_wherever_it_moved(
    case: tuple[list[bytes], list[bytes], list[int]],
) -> None:
    """A key that moved (near, far, or after the last dump ran out) is placed as the object
    the caller keeps for it, not the dump's copy: one bytes object per socket for good."""
    last, now, sizes = case
    kept = {k: k for k in last}
    copies = [bytes(bytearray(k)) for k in now]  # a dump's own objects, equal bytes
    diff = OrderedDiff(last, kept, kept.__getitem__)
    for reply in replies(copies, sizes):
        diff.feed(reply)
    order, _added, _gone, _clean = diff.finish()
    assert list(order) == now
    assert all(key is kept[key] for key in order if key in kept)


def dump_of(keys: list[bytes], sizes: list[int]) -> list[list[bytes]]:
    """A dump's replies: ``keys`` copied (a dump's own objects), cut at ``sizes``."""
    return replies([bytes(bytearray(k)) for k in keys], sizes)


def test_an_unchanged_dump_keeps_the_last_runs_and_the_collector_stops_tracking_them() -> None:
    """The order is runs of keys, not one list: an unchanged dump is the same tuples again (no
    new container at all), and the runs of a changed one leave the collector's watch after
    one look (a 262k-key list stayed tracked, walked whole by young collections: 12-35 ms)."""
    keys = [b"key-%05d" % i for i in range(5000)]
    first = OrderedDiff([], {})
    for reply in dump_of(keys, [300]):
        first.feed(reply)
    runs = first.finish()[0]
    again = OrderedDiff(runs, set(keys))
    for reply in dump_of(keys, [300]):
        again.feed(reply)
    same = again.finish()[0]
    assert list(same) == keys and list(same.pieces(0, len(same))) == list(runs.pieces(0, 5000))
    assert all(a is b for a, b in zip(same.pieces(0, 5000), runs.pieces(0, 5000), strict=True))
    changed = [*keys[:2500], b"new", *keys[2501:]]
    moved = OrderedDiff(same, set(keys))
    for reply in dump_of(changed, [300]):
        moved.feed(reply)
    order, added, gone, clean = moved.finish()
    assert list(order) == changed and added == [b"new"] and gone == [keys[2500]] and clean
    gc.collect()
    assert not any(gc.is_tracked(run) for run in order.pieces(0, len(order)))


@given(st.lists(st.integers(1, 200), min_size=1, max_size=30), st.integers(0, 5000))
def test_runs_slice_and_search_like_a_list(sizes: list[int], lo: int) -> None:
    keys = [b"%d" % i for i in range(sum(sizes))]
    at, cut = 0, []
    for size in sizes:
        cut.append(tuple(keys[at : at + size]))
        at += size
    runs = KeyRuns(cut)
    hi = lo + 150
    assert len(runs) == len(keys) and list(runs) == keys
    assert runs.flat(lo, hi) == tuple(keys[lo:hi])
    for key in keys[lo : lo + 3]:
        assert runs.index(key, lo, hi) == keys.index(key, lo, hi)
