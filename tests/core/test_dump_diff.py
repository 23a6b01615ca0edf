"""OrderedDiff against plain set arithmetic, on dumps that churn, move keys and repeat them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.sources.dump_diff import WINDOW, OrderedDiff


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
    diff = OrderedDiff(last, set(last))
    for reply in replies(now, sizes):
        diff.feed(reply)
    order, added, gone, clean = diff.finish()
    assert order == now
    twice = len(set(now)) != len(now)
    assert clean is not twice
    if clean:
        assert sorted(added) == sorted(set(now) - set(last))
        assert sorted(gone) == sorted(set(last) - set(now))


def test_far_moves_and_the_first_dump() -> None:
    last = [b"%d" % i for i in range(3 * WINDOW)]
    moved = [last[-1], *last[1:-1], last[0]]  # both ends swap places, far apart
    diff = OrderedDiff(last, set(last))
    diff.feed(moved)
    assert diff.finish()[1:] == ([], [], True)
    twice_early = OrderedDiff(last, set(last))
    twice_early.feed([last[-1], last[-1], *last[:-1]])  # moved far forward, and listed twice
    assert twice_early.finish()[3] is False
    first = OrderedDiff([], {})
    first.feed([b"a", b"b"])
    assert first.finish() == ([b"a", b"b"], [b"a", b"b"], [], True)


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
    order, added, _, clean = diff.finish()
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
    assert order == now
    assert all(key is kept[key] for key in order if key in kept)
