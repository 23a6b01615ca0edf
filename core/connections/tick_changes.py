"""Which rows of the connection table a new snapshot changes: the first half of a tick.

Why a module: at 250k rows with 1% churn a tick changes 5,000 rows and keeps 12,500 ghosts;
looking at every ghost through Python-level mappings cost 50-100 ms of the UI thread per
tick. Here each test is one dict lookup or identity check, so the work follows the changes
(and the ghosts) at C speed where it can. :class:`core.connections.row_index.RowIndex` then
notes the rows in its orders.

UI-free: it imports neither Textual nor Rich.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.connections.model import TcpConnection
from core.connections.row_order import Rows
from core.connections.snapshot import Ghost, GhostDelta, Snapshot


@dataclass(frozen=True, slots=True)
class TickChanges:
    """What one snapshot changes in the rows (all by InstanceID)."""

    ghosts: dict[str, Ghost]
    """The ghost rows to show now (within the table's time-to-live, not open again)."""
    live: list[str]
    """Connections new or with a new record."""
    ghosted: list[str]
    """Ghost rows new or with a new record."""
    gone: list[str]
    """Rows to drop: closed and not ghosts (any more)."""
    ghost_rows: dict[str, TcpConnection]
    """``ghosts``' connections (the rows' ghost map)."""
    closed: dict[str, datetime]
    """When each of ``ghosts`` closed."""

    @property
    def count(self) -> int:
        """Rows changed in all."""
        return len(self.live) + len(self.ghosted) + len(self.gone)


def shown_ghosts(snap: Snapshot, ttl_s: float) -> dict[str, Ghost]:
    """``snap``'s ghosts younger than ``ttl_s`` whose connection is not open again."""
    horizon = snap.time - timedelta(seconds=ttl_s)
    conns = snap.connections
    ghosts: dict[str, Ghost] = {}
    for g in snap.ghosts:
        if g.closed_at > horizon:
            iid = g.connection.instance_id
            if iid not in conns:
                ghosts[iid] = g
    return ghosts


def ghost_maps(
    snap: Snapshot, ttl_s: float
) -> tuple[dict[str, Ghost], dict[str, TcpConnection], dict[str, datetime]]:
    """:func:`shown_ghosts`, their connections and when each closed: the table's three maps
    of its ghost rows, made by looking at every ghost."""
    ghosts = shown_ghosts(snap, ttl_s)
    return (
        ghosts,
        {iid: g.connection for iid, g in ghosts.items()},
        {iid: g.closed_at for iid, g in ghosts.items()},
    )


def tick_changes(
    snap: Snapshot,
    rows: Rows,
    before: Mapping[str, Ghost],
    ttl_s: float,
    follows: bool,
    *,
    closed: Mapping[str, datetime] | None = None,
    delta: GhostDelta | None = None,
) -> TickChanges:
    """The rows ``snap`` changes in ``rows`` (whose ghosts were ``before``, closed at
    ``closed``).

    ``follows``: ``snap``'s diff covers everything since ``rows`` (the next snapshot, or one
    that folds the skipped ones in); then only what it names is looked at. Otherwise, or when
    the diff does not add up, every row's record is checked by identity (O(N)).
    ``delta``: ``snap``'s ghosts as a change of ``before`` (the caller checked that ``before``
    are the ghosts it starts from, and ``closed`` given); otherwise every ghost is looked at.
    """
    conns = snap.connections
    if delta is not None and closed is not None:
        ghosts, ghost_rows, closed_now, put = _patched(delta, before, rows.ghosts, closed, conns)
        ghosted = _ghosted(put, before)
        went: frozenset[str] | Mapping[str, Ghost] = delta.dropped
    else:
        ghosts, ghost_rows, closed_now = ghost_maps(snap, ttl_s)
        ghosted = _ghosted(ghosts.items(), before)
        went = before
    if follows:
        diff = snap.diff
        ids = set(diff.added)
        ids.update(c.instance_id for c in diff.state_changed)
        ids.update(diff.changed)
        ids.update(before.keys() & conns.keys())  # open again (in C, from the smaller side)
        live = [iid for iid in ids if iid in conns]
        gone = _gone(diff.removed, rows, went, before, conns, ghosts)
        if _adds_up(rows, live, ghosted, gone, len(conns) + len(ghosts)):
            return TickChanges(ghosts, live, ghosted, gone, ghost_rows, closed_now)
    old = rows.live.get
    live = [iid for iid, c in conns.items() if old(iid) is not c]
    gone = _gone(snap.diff.removed, rows, went, before, conns, ghosts)
    if not _adds_up(rows, live, ghosted, gone, len(conns) + len(ghosts)):
        gone = [k for k in rows if k not in conns and k not in ghosts]
    return TickChanges(ghosts, live, ghosted, gone, ghost_rows, closed_now)


def _patched(
    delta: GhostDelta,
    before: Mapping[str, Ghost],
    ghost_rows: Mapping[str, TcpConnection],
    closed: Mapping[str, datetime],
    conns: Mapping[str, TcpConnection],
) -> tuple[
    dict[str, Ghost], dict[str, TcpConnection], dict[str, datetime], list[tuple[str, Ghost]]
]:
    """The ghosts' three maps after ``delta``: new dicts (copied in C; the table's orders
    keep reading the old ones until they are built anew), the dropped taken out, the added put
    in (but for one open again, which the sampler never gives); and the added that were put."""
    ghosts, rows, when = dict(before), dict(ghost_rows), dict(closed)
    for iid in delta.dropped:
        if ghosts.pop(iid, None) is not None:
            del rows[iid], when[iid]
    put = []
    for g in delta.added:
        conn = g.connection
        iid = conn.instance_id
        if iid not in conns:
            ghosts[iid] = g
            rows[iid] = conn
            when[iid] = g.closed_at
            put.append((iid, g))
    return ghosts, rows, when, put


def _ghosted(pairs: Iterable[tuple[str, Ghost]], before: Mapping[str, Ghost]) -> list[str]:
    """Of ``pairs`` (InstanceID, Ghost shown now: all of them, or a delta's that were put),
    those that were not ghosts before, or are with another record. The sampler keeps each
    Ghost object for as long as it lasts, so an identity test settles almost all."""
    out = []
    get = before.get
    for iid, g in pairs:
        was = get(iid)
        if was is not g and (was is None or was.connection is not g.connection):
            out.append(iid)
    return out


def _gone(
    removed: frozenset[str],
    rows: Rows,
    went: Iterable[str],
    before: Mapping[str, Ghost],
    conns: Mapping[str, TcpConnection],
    ghosts: Mapping[str, Ghost],
) -> list[str]:
    """Rows to drop: the removed that are rows, and the ghosts of ``before`` that are not
    any more (among ``went``: every one of ``before``, or a delta's dropped)."""
    live, dead = rows.live, rows.ghosts
    gone = {k for k in removed if (k in live or k in dead) and k not in ghosts and k not in conns}
    gone.update(k for k in went if k in before and k not in ghosts and k not in conns)
    return list(gone)


def _adds_up(rows: Rows, live: list[str], ghosted: list[str], gone: list[str], now: int) -> bool:
    """The rows before, less those gone, plus those new, are the rows now."""
    old_live, old_dead = rows.live, rows.ghosts
    new = sum(1 for iid in live if iid not in old_live and iid not in old_dead)
    new += sum(1 for iid in ghosted if iid not in old_live and iid not in old_dead)
    return len(old_live) + len(old_dead) - len(gone) + new == now
