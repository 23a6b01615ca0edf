"""The connection table's group rows: which members each one on screen sums its rate over,
that rate, and its drawn line.

Why a module of its own: :class:`~tui.connections.conn_table.ConnTable` owns the rows, the
cursor, scrolling and the cache of drawn lines; a group row's rate has its own state, kept
sample by sample (which part of a large group is followed and turns over, how long each group
has been followed, which connections just opened). The table hands it the rows on screen and
the sample; what the members are and the turning part itself are
:mod:`core.connections.group_follow`, the line's look :mod:`tui.connections.row_lines`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from textual.strip import Strip

from core.connections import (
    NO_BYTE_RATE,
    Group,
    GroupRate,
    GroupTurns,
    RateTracker,
    Snapshot,
    group_rate,
    readable_whole,
)
from tui.connections.row_lines import StyleOf, group_line

FOLLOW_AT_MOST = 400
"""Connections whose tcp_info the table asks for (rows and groups on screen), at most: one
exact netlink query each per sample. Shared in turn among the rows on screen, so that every
group row gets its part (a group of 50k members is summed over a part that turns over, and
says so; see :mod:`core.connections.group_follow`). A feed whose samples carry every
connection's tcp_info (a replay) needs no asking: its groups are summed whole."""
RATE_PENDING_SAMPLES = 3
"""Samples a group row shows "…" for while none of its followed connections has a rate yet
(the feed reads them from the next sample, a rate needs two); after that, none is known here
(a source without tcp_info): no rate is shown."""

Cached = Callable[[tuple[object, ...], Callable[[], Strip]], Strip]
"""The table's cache of drawn lines: the line for this key, made by the callable if not kept."""


class GroupRows:
    """The rates of the group rows on screen, followed sample by sample, and their lines."""

    def __init__(self, rates: RateTracker) -> None:
        """No group followed yet; ``rates`` is the table's, shared with its rows."""
        self.rates = rates
        self.followed: dict[str, list[str]] = {}
        """Each group row on screen: its members whose rates are followed (a part of a large
        group's, see :meth:`follow`)."""
        self._turns = GroupTurns()
        """Which part of each large group is followed, turning over sample by sample."""
        self._turns_seq = -1
        self._samples: dict[str, int] = {}
        """Each followed group row: samples taken since it has been followed."""
        self._opened: frozenset[str] = frozenset()
        """Connections the latest sample added, opened since the one before it (kept through
        its copy republished with tcp_info, whose diff is empty): no rate yet, none missed."""

    def next_sample(self, snap: Snapshot) -> None:
        """``snap`` is shown: one more sample for each group followed; a new sample (not one
        republished with tcp_info asked for) turns the large groups' parts over."""
        samples = self._samples
        self._samples = {g: samples.get(g, 0) + 1 for g in self.followed}
        if snap.seq != self._turns_seq:
            self._turns_seq = snap.seq
            self._turns.next_sample()
            self._opened = snap.diff.added

    def follow(
        self,
        snap: Snapshot,
        on_screen: Sequence[str],
        groups: Mapping[str, Group],
        row_rate: Callable[[str], bool],
        group_row_of: Callable[[str], str | None],
    ) -> list[str]:
        """Connections whose byte rates the rows ``on_screen`` show: those rows whose
        ``row_rate`` is true, and members of the ``groups`` among them that move bytes.

        At most :data:`FOLLOW_AT_MOST`, taken in turn from each row on screen (one from each,
        then a second from each group, ...): the first group's members took all of it, and
        the groups below showed no rate. A group's part turns over from sample to sample
        (:class:`GroupTurns`). Remembers which members each group's rate is of: all of them
        when the sample carries their tcp_info (a replay), else the part followed.
        ``group_row_of`` says which group row holds a connection now.
        """
        before, self.followed = self.followed, {}

        def can_move(instance_id: str) -> bool:
            """An open connection that can have a byte rate (not a listener, TIME_WAIT...)."""
            conn = snap.connections.get(instance_id)
            return conn is not None and conn.state not in NO_BYTE_RATE

        def moving(instance_id: str, row_id: str) -> bool:
            """Seen moving bytes at the last sample, and still of group ``row_id``."""
            rate = self.rates.rate(instance_id)
            return rate is not None and rate.total > 0 and group_row_of(instance_id) == row_id

        turns: list[tuple[Iterator[str], list[str] | None]] = []
        for row_id in on_screen:
            group = groups.get(row_id)
            if group is not None:
                taken: list[str] = []
                whole = readable_whole(group.members, can_move, snap.tcp_info)
                self.followed[row_id] = taken if whole is None else whole
                busy = [i for i in before.get(row_id, ()) if moving(i, row_id)]
                members = self._turns.order(row_id, group.members, can_move, busy)
                turns.append((members, taken))
            elif row_rate(row_id):
                turns.append((iter((row_id,)), None))
        ids: dict[str, None] = {}  # ordered, once each (an expanded group's rows are its own)
        while turns and len(ids) < FOLLOW_AT_MOST:
            left: list[tuple[Iterator[str], list[str] | None]] = []
            for members, of_group in turns:
                iid = next(members, None)
                if iid is None:
                    continue
                ids[iid] = None
                if of_group is not None:
                    of_group.append(iid)
                left.append((members, of_group))
                if len(ids) >= FOLLOW_AT_MOST:
                    break
            turns = left
        self._turns.keep_only(self.followed)
        return list(ids)

    def tracked(self, followed: list[str]) -> list[str]:
        """``followed`` and every group member summed (all of a group the sample carries
        tcp_info for, asked for or not)."""
        ids = dict.fromkeys(followed)
        for members in self.followed.values():
            ids.update(dict.fromkeys(members))
        return list(ids)

    def rate(self, group: Group) -> GroupRate | None:
        """The group row's bytes/s: of the members followed (see :meth:`follow`);
        ``measured == 0`` while the first rates are awaited; None when it can have none."""
        row_id = group.row_id
        followed = self.followed.get(row_id, ())
        rate = group_rate(self.rates, followed, group.counts, self._opened)
        awaited = self._samples.get(row_id, 0) <= RATE_PENDING_SAMPLES
        if rate is None or rate.measured or awaited:
            return rate
        return None  # followed for long, none measured: this feed gives no tcp_info

    def line(
        self,
        group: Group,
        *,
        expanded: bool,
        cursor: bool,
        width: int,
        theme: str,
        style: StyleOf,
        cached: Cached,
    ) -> Strip:
        """The group's row, drawn anew only when what it says (or how) changed."""
        rate = self.rate(group)
        key = (
            "group",
            group.row_id,
            group.name,
            group.alike,
            group.kin,
            tuple(sorted(group.counts.items())),
            len(group.members),
            group.closed,
            expanded,
            cursor,
            width,
            theme,
            rate,
        )
        return cached(key, lambda: group_line(group, expanded, cursor, width, rate, style))
