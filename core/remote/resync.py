"""Joining a new session's samples to the last sample before the link dropped.

Why: each session's agent is a new sampler. It starts at the reconnection, so every
connection it finds is "open before its start" (CreationTime ≤ the reconnection), it has seen
no State change yet, and it knows no ghosts. Passed on as they are, a connection watched for
an hour would claim to be as old as the reconnection, "tcpscope's start" would move, and the
connections that closed while the link was down would vanish without a trace. Here a
connection seen on both sides of the gap keeps its earlier CreationTime bound and State
change, the start stays the first session's, and what closed meanwhile fades out as ghosts
from the first sample that missed it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from core.connections.model import TcpConnection
from core.connections.snapshot import Ghost, Snapshot, diff_connections, next_ghosts


def _carried(old: TcpConnection, new: TcpConnection, back_at: datetime) -> TcpConnection:
    """``new`` (the new agent's record) with what was known of it before the drop.

    A State that differs from the one before the drop changed during the gap: the first
    sample after it is the only bound on when (the State held "for ≥" since then).
    """
    changed_at = new.state_changed_at
    if changed_at is None:
        changed_at = old.state_changed_at if new.state == old.state else back_at
    if (old.creation_time, old.created_before_start, changed_at) == (
        new.creation_time,
        new.created_before_start,
        new.state_changed_at,
    ):
        return new
    return dataclasses.replace(
        new,
        creation_time=old.creation_time,
        created_before_start=old.created_before_start,
        state_changed_at=changed_at,
    )


class Resync:
    """Rewrites the samples of sessions after the first (a no-op until :meth:`begin`)."""

    def __init__(self, ghost_ttl_s: float) -> None:
        """``ghost_ttl_s``: how long what closed during the gap stays a ghost."""
        self._ttl = ghost_ttl_s
        self._started: datetime | None = None
        self._before: Snapshot | None = None
        """The last sample before the drop, until the new session's first one arrives."""
        self._carry: dict[str, tuple[TcpConnection, datetime]] = {}
        """Connections seen before the drop and still open: (record then, first sample after)."""
        self._agent: Mapping[str, TcpConnection] | None = None
        self._conns: Mapping[str, TcpConnection] = {}
        self._bridge: dict[str, Ghost] = {}

    def begin(self, before: Snapshot) -> None:
        """A new session starts; ``before`` is the last good sample before the drop."""
        self._before = before

    @property
    def waiting(self) -> bool:
        """A session started and none of its samples arrived yet."""
        return self._before is not None

    def apply(self, snap: Snapshot) -> Snapshot:
        """``snap`` joined to what came before; the first sample of a new session gets the
        diff against the sample before the drop (so rows come back instead of being new)."""
        if self._started is None:
            self._started = snap.started_at
        before, self._before = self._before, None
        if before is not None:
            return self._first_after(before, snap)
        if not self._carry and not self._bridge:  # nothing carried (never dropped, say)
            if snap.started_at == self._started:
                return snap
            return dataclasses.replace(snap, started_at=self._started)
        conns = self._carried_connections(snap)
        self._bridge = next_ghosts(self._bridge, (), snap.diff.added, snap.time, self._ttl)
        return dataclasses.replace(
            snap, started_at=self._started, connections=conns, ghosts=self._ghosts(snap, conns)
        )

    def _first_after(self, before: Snapshot, snap: Snapshot) -> Snapshot:
        old = before.connections
        self._carry = {cid: (old[cid], snap.time) for cid in snap.connections if cid in old}
        self._agent = None
        conns = self._carried_connections(snap)
        diff = diff_connections(old, conns)
        earlier = {g.connection.instance_id: g for g in before.ghosts}
        removed = [(cid, old[cid]) for cid in diff.removed]
        self._bridge = next_ghosts(earlier, removed, conns, snap.time, self._ttl, before.namespaces)
        return dataclasses.replace(
            snap,
            started_at=self._started or snap.started_at,
            connections=conns,
            diff=diff,
            ghosts=self._ghosts(snap, conns),
        )

    def _carried_connections(self, snap: Snapshot) -> Mapping[str, TcpConnection]:
        """The agent's connections with the carried ones rewritten: in full for a session's
        first sample, then by the sample's diff (the work follows churn, not the table)."""
        agent = snap.connections
        if agent is self._agent:
            return self._conns
        carry = self._carry
        if self._agent is None:
            out = dict(agent)
            for cid, (old, back_at) in carry.items():
                out[cid] = _carried(old, agent[cid], back_at)
        else:
            d = snap.diff
            touched = [*d.added, *d.removed, *d.changed, *(c.instance_id for c in d.state_changed)]
            out = dict(self._conns)
            for cid in touched:
                new = agent.get(cid)
                if new is None:
                    out.pop(cid, None)
                    carry.pop(cid, None)
                    continue
                kept = carry.get(cid)
                out[cid] = new if kept is None else _carried(kept[0], new, kept[1])
        self._agent, self._conns = agent, out
        return out

    def _ghosts(self, snap: Snapshot, conns: Mapping[str, TcpConnection]) -> tuple[Ghost, ...]:
        if not self._bridge:
            return snap.ghosts
        own = {g.connection.instance_id for g in snap.ghosts}
        extra = [g for cid, g in self._bridge.items() if cid not in own and cid not in conns]
        return (*extra, *snap.ghosts)
