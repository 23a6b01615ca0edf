"""Per-connection byte rates (in/s, out/s) from successive tcp_info readings, UI-free.

Why: the kernel gives running totals (``bytes_received``, ``bytes_acked``), not rates. The
table's In/s and Out/s columns, the process groups' bytes/s and the detail pane's figures and
sparkline all need the same deltas, taken the same way: between two samples that both carry
the connection's tcp_info, divided by the time between the two readings (a sample's time, or
when a fetch between samples read it: ``Snapshot.tcp_info_at``). A total that went down (a
reused socket) gives no rate rather than a negative one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from core.connections.model import TcpInfo, TcpState
from core.connections.snapshot import Snapshot

HISTORY: Final = 60
"""Rate samples kept per followed connection (for sparklines)."""

SHORTEST_SPAN: Final = 0.1
"""Two readings closer than this share of the sample interval give no rate: the older one
stays the base and the next sample's rate spans both. Why: a fetch for a connection just
watched can land just before a sample (its reading then a few ms from the sample's), and
bytes sent in bursts gave 0 B/s or several times the flow's rate over those few ms. Not
more: the first rate of a row just followed would come a sample later, and a large group's
rotating members (core.connections.group_follow) could be rotated out before it came."""

NO_BYTE_RATE: Final = frozenset(
    {TcpState.LISTEN, TcpState.TIME_WAIT, TcpState.SYN_RECEIVED, TcpState.BOUND, TcpState.CLOSED}
)
"""States whose sockets have no byte rate: a listener moves no bytes of its own, and the
kernel gives no tcp_info for the others. A group's rate is of its other connections (waiting
for these would leave it "partial" for ever)."""


@dataclass(frozen=True, slots=True)
class ByteRate:
    """Bytes per second over the last sample interval (None: the kernel does not count it)."""

    in_per_s: float | None
    out_per_s: float | None

    @property
    def total(self) -> float:
        """In plus out, unknowns as zero."""
        return (self.in_per_s or 0.0) + (self.out_per_s or 0.0)


def _rate(old: int | None, new: int | None, seconds: float) -> float | None:
    if old is None or new is None or new < old or seconds <= 0:
        return None
    return (new - old) / seconds


def read_time(snap: Snapshot) -> datetime:
    """When ``snap``'s tcp_info was read: with its connections, or later by a fetch."""
    return snap.tcp_info_at or snap.time


def too_close(old_time: datetime, new_time: datetime, interval_s: float) -> bool:
    """Readings too close in time for a rate (see :data:`SHORTEST_SPAN`)."""
    return 0 < (new_time - old_time).total_seconds() < SHORTEST_SPAN * interval_s


def rate_between(
    old: TcpInfo, old_time: datetime, new: TcpInfo, new_time: datetime
) -> ByteRate | None:
    """The rate between two readings of one connection, or None when time did not advance."""
    seconds = (new_time - old_time).total_seconds()
    if seconds <= 0:
        return None
    return ByteRate(
        _rate(old.bytes_received, new.bytes_received, seconds),
        _rate(old.bytes_acked, new.bytes_acked, seconds),
    )


class RateTracker:
    """Rates of the connections it is told to follow, updated once per snapshot."""

    def __init__(self, history: int = HISTORY) -> None:
        """Nothing followed yet."""
        self._last: dict[str, tuple[datetime, TcpInfo]] = {}
        self._rates: dict[str, ByteRate] = {}
        self._history: dict[str, deque[float]] = {}
        self._history_len = history
        self._seq = -1

    def update(self, snap: Snapshot, instance_ids: Iterable[str]) -> None:
        """Read ``snap``'s tcp_info of ``instance_ids``; forget every other connection.

        Called again for the same snapshot, it only takes first readings of connections it
        did not follow yet (their rates start one sample later, not two).
        """
        if snap.seq == self._seq:
            self.read_first(snap, instance_ids)
            return
        self._seq = snap.seq
        infos, read_at = snap.tcp_info, read_time(snap)
        last = self._last
        new_last: dict[str, tuple[datetime, TcpInfo]] = {}
        new_rates: dict[str, ByteRate] = {}
        for iid in instance_ids:
            info = infos.get(iid)
            if info is None:
                continue
            before = last.get(iid)
            if before is not None and too_close(before[0], read_at, snap.interval_s):
                new_last[iid] = before
                continue
            new_last[iid] = (read_at, info)
            rate = rate_between(before[1], before[0], info, read_at) if before else None
            if rate is None:
                continue
            new_rates[iid] = rate
            history = self._history.get(iid)
            if history is not None:
                history.append(rate.total)
        self._last, self._rates = new_last, new_rates
        for iid in [i for i in self._history if i not in new_last]:
            del self._history[iid]

    def read_first(self, snap: Snapshot, instance_ids: Iterable[str]) -> None:
        """First readings of ``instance_ids`` not followed yet, from the snapshot last read
        (their rates come with the next one); nothing when ``snap`` is another snapshot."""
        if snap.seq != self._seq:
            return
        last, read_at = self._last, read_time(snap)
        for iid in instance_ids:
            info = snap.tcp_info.get(iid) if iid not in last else None
            if info is not None:
                last[iid] = (read_at, info)

    def rate(self, instance_id: str) -> ByteRate | None:
        """The connection's latest rate, if two readings exist."""
        return self._rates.get(instance_id)

    def keep_history(self, instance_id: str) -> None:
        """Start keeping ``instance_id``'s total-rate history (see :meth:`history`)."""
        self._history.setdefault(instance_id, deque(maxlen=self._history_len))

    def history(self, instance_id: str) -> list[float]:
        """Total bytes/s per sample since :meth:`keep_history`, oldest first."""
        return list(self._history.get(instance_id, ()))


@dataclass(frozen=True, slots=True)
class GroupRate:
    """A group's bytes/s: the sum over the ``measured`` of its ``of`` connections that move
    bytes (a lower bound of the group's rate while ``measured + new < of``)."""

    per_s: float
    measured: int
    of: int
    new: int = 0
    """Followed connections opened since the last sample: no rate yet (it needs two
    readings), none missed either; said as new, as their own rows show no rate yet."""

    @property
    def whole(self) -> bool:
        """Every connection of the group that moves bytes is in the sum, or opened since the
        last sample (its rate comes with the next one)."""
        return self.measured + self.new >= self.of


def group_rate(
    tracker: RateTracker,
    followed: Iterable[str],
    counts: Mapping[TcpState, int],
    opened: Container[str] = frozenset(),
) -> GroupRate | None:
    """The rate of a group whose open connections number ``counts`` by State, from those of
    them the tracker follows (``followed``); None when none of them can have a rate. Those
    followed without a rate yet that are in ``opened`` (opened since the last sample) are
    counted as new, not as unmeasured: a small group followed whole stayed a lower bound
    ("≥") for a sample whenever one of its processes opened a connection.

    Why not always the rates of all its members: a rate needs tcp_info at every sample,
    which the live app reads only for what the table shows (a group of 50k sockets is
    followed in part, a part that turns over: :mod:`core.connections.group_follow`); the part
    is said, not passed off as the whole. A replay carries every member's: all are followed.
    """
    of = sum(n for state, n in counts.items() if state not in NO_BYTE_RATE)
    if of == 0:
        return None
    rates: list[float] = []
    new = 0
    for iid in followed:
        rate = tracker.rate(iid)
        if rate is not None:
            rates.append(rate.total)
        elif iid in opened:
            new += 1
    measured = min(len(rates), of)
    return GroupRate(sum(rates), measured, of, min(new, of - measured))
