"""Which members of a process group have their byte rates followed, sample by sample, UI-free.

Why: a live table reads tcp_info for a few hundred connections a sample (one netlink query
each), so a group of thousands is summed over a part. A fixed part (its first members in the
table's order) never changed: a busy connection outside it was never measured, and a process
moving 400 KB/s showed 0 B/s for the whole run. So the part turns over: the members seen
moving bytes stay followed, the rest is followed in a window that moves along the group by
half its width a sample (each member is followed two samples in a row: a rate needs two
readings), so every member is measured in turn and a busy one is kept once found. A feed
whose samples carry every connection's tcp_info (a replay, a source dumping them all) needs
no part: :func:`readable_whole` says when a group can be summed whole.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from core.connections.model import TcpInfo


@dataclass(slots=True)
class _Window:
    start: int = 0
    """Position in the group's member list where the moving window begins."""
    held: bool = False
    """A window one member wide stays a second sample before it moves."""
    positions: list[int] = field(default_factory=list)
    """Where the members taken from the window this sample stand (set by the last order)."""


class GroupTurns:
    """The followed part of each group on screen, turning over once per sample."""

    def __init__(self) -> None:
        """No group seen yet."""
        self._windows: dict[str, _Window] = {}

    def next_sample(self) -> None:
        """A new sample: each window moves past the first half of what it took (the second
        half was read once: it stays for its second reading). Groups gone from screen are
        forgotten."""
        for window in self._windows.values():
            taken = window.positions
            if len(taken) >= 2:
                window.start = taken[len(taken) // 2]
            elif taken and window.held:
                window.start, window.held = taken[0] + 1, False
            elif taken:
                window.held = True
            window.positions = []

    def order(
        self,
        row_id: str,
        members: Sequence[str],
        can_move: Callable[[str], bool],
        moving: Collection[str],
    ) -> Iterator[str]:
        """The group's members in the order to follow them, as many as the caller takes:
        those in ``moving`` (seen moving bytes) in turn with the window's, from where it
        stands, around the group once. ``can_move`` leaves out listeners and the like."""
        window = self._windows.setdefault(row_id, _Window())
        window.positions = []
        busy = [i for i in moving if can_move(i)]
        return _alternate(busy, self._sweep(window, members, can_move, set(busy)))

    def keep_only(self, row_ids: Collection[str]) -> None:
        """Forget the windows of groups not in ``row_ids`` (off screen, or gone)."""
        for row_id in [r for r in self._windows if r not in row_ids]:
            del self._windows[row_id]

    @staticmethod
    def _sweep(
        window: _Window, members: Sequence[str], can_move: Callable[[str], bool], busy: set[str]
    ) -> Iterator[str]:
        count = len(members)
        for step in range(count):
            position = (window.start + step) % count
            iid = members[position]
            if iid in busy or not can_move(iid):
                continue
            window.positions.append(position)
            yield iid


def _alternate(first: Sequence[str], then: Iterator[str]) -> Iterator[str]:
    """One of ``first``, one of ``then``, ... (half the share each while both last)."""
    rest: Iterator[str] | None = then
    for iid in first:
        yield iid
        if rest is not None:
            nxt = next(rest, None)
            if nxt is None:
                rest = None
            else:
                yield nxt
    if rest is not None:
        yield from rest


def readable_whole(
    members: Sequence[str], can_move: Callable[[str], bool], tcp_info: Mapping[str, TcpInfo]
) -> list[str] | None:
    """The group's members that can move bytes, when the sample carries tcp_info for every
    one of them (then its rate is a whole sum, whatever the followed share); else None."""
    if not tcp_info:
        return None
    out: list[str] = []
    for iid in members:
        if not can_move(iid):
            continue
        if iid not in tcp_info:
            return None
        out.append(iid)
    return out
