"""How a large group's followed part turns over: every member in turn, two samples each, and
the members seen moving bytes kept."""

from __future__ import annotations

from itertools import islice, pairwise

from core.connections.group_follow import GroupTurns, readable_whole

MEMBERS = [f"c{n}" for n in range(50)]


def take(turns: GroupTurns, share: int, moving: tuple[str, ...] = ()) -> list[str]:
    return list(islice(turns.order("g", MEMBERS, lambda i: i != "c7", moving), share))


def test_every_member_is_followed_two_samples_in_a_row() -> None:
    turns = GroupTurns()
    runs: dict[str, list[int]] = {}
    for sample in range(30):
        if sample:
            turns.next_sample()
        for iid in take(turns, 8):
            runs.setdefault(iid, []).append(sample)
    assert set(runs) == set(MEMBERS) - {"c7"}  # all but the one that cannot move bytes
    for samples in runs.values():
        assert any(b == a + 1 for a, b in pairwise(samples)), samples


def test_members_seen_moving_stay_followed_with_half_the_share_at_most() -> None:
    turns = GroupTurns()
    busy = ("c40", "c41", "c42", "c43", "c44", "c45")
    for _ in range(5):
        turns.next_sample()
        taken = take(turns, 8, busy)
        assert tuple(taken[::2]) == busy[:4]  # in turn with the rest: the sweep goes on
        assert not set(taken[1::2]) & set(busy)


def test_a_group_is_whole_only_when_the_sample_reads_all_its_members() -> None:
    infos = {i: object() for i in MEMBERS if i != "c7"}
    assert readable_whole(MEMBERS, lambda i: i != "c7", infos) == [i for i in MEMBERS if i != "c7"]  # type: ignore[arg-type]
    del infos["c3"]
    assert readable_whole(MEMBERS, lambda i: i != "c7", infos) is None  # type: ignore[arg-type]
