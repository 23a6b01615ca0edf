"""What the sampler hands to its consumer each tick: one immutable Snapshot.

A Snapshot is self-contained: the connections, when they were taken, by which source, what
changed since the previous one, what closed recently (ghosts), the latest IPsec view and any
source error. Screens, the recorder and the CLI read Snapshots and nothing else, so live data,
a replay and the demo look the same to them.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from core.connections.model import ProcessInfo, TcpConnection, TcpInfo, TcpState
from core.connections.namespaces import NamespaceInfo, NamespaceView

if TYPE_CHECKING:
    from core.connections.first_page import FirstPage
    from core.ipsec.model import IpsecView

NamespaceIndex = Mapping[int, NamespaceInfo]


@dataclass(frozen=True, slots=True)
class StateChange:
    """A connection whose State differs from the previous snapshot."""

    instance_id: str
    old: TcpState
    new: TcpState


@dataclass(frozen=True, slots=True)
class ConnectionDiff:
    """Changes against the previous snapshot the consumer saw (coalesced when it skipped some)."""

    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    state_changed: tuple[StateChange, ...] = ()
    changed: frozenset[str] = frozenset()
    """Records replaced without a State change (e.g. the owner became known or moved)."""

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not (self.added or self.removed or self.state_changed or self.changed)

    def then(self, later: ConnectionDiff) -> ConnectionDiff:
        """This diff followed by ``later``, as one diff (used when a consumer skips a tick)."""
        added = (self.added - later.removed) | (later.added - self.removed)
        removed = (self.removed - later.added) | (later.removed - self.added)
        changes: dict[str, StateChange] = {}
        for ch in (*self.state_changed, *later.state_changed):
            first = changes.get(ch.instance_id)
            old = first.old if first else ch.old
            changes[ch.instance_id] = StateChange(ch.instance_id, old, ch.new)
        kept = tuple(
            c
            for c in changes.values()
            if c.old != c.new and c.instance_id not in removed and c.instance_id not in added
        )
        reverted = {c.instance_id for c in changes.values() if c.old == c.new}
        changed = (self.changed | later.changed | reverted) - removed - added
        changed -= {c.instance_id for c in kept}
        return ConnectionDiff(frozenset(added), frozenset(removed), kept, frozenset(changed))


def diff_connections(
    old: Mapping[str, TcpConnection],
    new: Mapping[str, TcpConnection],
    touched: Collection[str] | None = None,
) -> ConnectionDiff:
    """Added, removed and state-changed connections between two samples: the one rule the
    sampler, a recording's reader and a remote feed's reconnection all apply.

    ``touched`` is the source's own account of which InstanceIDs it added, replaced or
    dropped (:attr:`core.connections.sources.base.SourceSample.touched`; a recorded frame's
    changed and removed keys): then only those are compared, so the work follows
    churn and "what changed" is worked out once, where the source already knows it. Without
    it every row is checked; sources return the very same object for an unchanged
    connection, so the identity test skips almost all of them. A replaced record whose State
    did not change (its owner became known, say) is listed in ``changed``.
    """
    states: list[StateChange] = []
    changed: set[str] = set()
    added: set[str] = set()
    removed: set[str] = set()
    get = old.get
    if touched is None:
        pairs: Iterable[tuple[str, TcpConnection | None]] = new.items()
        added = new.keys() - old.keys()
        removed = old.keys() - new.keys()
    else:
        pairs = [(key, new.get(key)) for key in touched]
    for key, conn in pairs:
        prev = get(key)
        if conn is None:
            if prev is not None:
                removed.add(key)
            continue
        if prev is None:
            if touched is not None:
                added.add(key)
            continue
        if prev is conn:
            continue
        if prev.state != conn.state:
            states.append(StateChange(key, prev.state, conn.state))
        else:
            changed.add(key)
    return ConnectionDiff(frozenset(added), frozenset(removed), tuple(states), frozenset(changed))


@dataclass(frozen=True, slots=True)
class Ghost:
    """A connection that closed recently, kept with its last state so a UI can fade it out."""

    connection: TcpConnection
    closed_at: datetime
    """First sample time at which the connection was no longer there."""
    namespace: NamespaceInfo | None = None
    """The namespace it was in when last seen open, from the view of that sample (None: in
    tcpscope's own, or no view). Why kept: its key (an nsfs inode number) may name another
    namespace by now (:func:`core.connections.namespaces.ghost_namespace`)."""


def ghost_of(conn: TcpConnection, now: datetime, index: NamespaceIndex | None) -> Ghost:
    """``conn``, closed at ``now``, with its namespace as ``index`` (the view of the sample
    it was last seen in, by key) had it: the one rule of the sampler, a recording's reader
    and a remote feed's."""
    netns = conn.netns
    if netns is None or index is None:
        return Ghost(conn, now)
    return Ghost(conn, now, index.get(netns))


def namespace_index(view: NamespaceView | None) -> NamespaceIndex | None:
    """``view``'s namespaces by key, for :func:`ghost_of` (None without a view)."""
    return None if view is None else view.index()


def next_ghosts(
    ghosts: Mapping[str, Ghost],
    removed: Iterable[tuple[str, TcpConnection]],
    added: Iterable[str],
    now: datetime,
    ttl_s: float,
    view: NamespaceView | None = None,
) -> dict[str, Ghost]:
    """The ghosts after a sample: what closed joins them (with its namespace as ``view``, the
    previous sample's, had it), what came back and what is older than ``ttl_s`` leaves. The
    sampler applies it, and a recording's reader replays it."""
    out = dict(ghosts)
    index: NamespaceIndex | None = None
    for key, conn in removed:
        if view is None:
            out[key] = Ghost(conn, now)
            continue
        if index is None:
            index = view.index()
        out[key] = ghost_of(conn, now, index)
    for key in added:
        out.pop(key, None)
    horizon = now - timedelta(seconds=ttl_s)
    return {k: g for k, g in out.items() if g.closed_at > horizon}


def keep_ghost_namespaces(
    view: NamespaceView | None, before: NamespaceView | None, ghosts: Collection[Ghost]
) -> NamespaceView | None:
    """``view`` with the namespaces ``before`` had that are gone from it (their last process
    ended: a container stopped or was killed) put back, marked
    :attr:`~core.connections.namespaces.NamespaceInfo.gone`, for as long as ``ghosts`` are of
    their sockets. ``before`` is the view this one follows (as this returned it), so a gone
    namespace stays as it was last seen until its last ghost leaves.

    Why: a ghost keeps its owner; without its namespace it lost its container too, so the
    ``container:``/``ns:`` filters dropped what the user had just killed and the detail pane
    could say no more than its inode. The sampler applies it, a recording's reader too (files
    written before carry no gone namespaces). ``before`` is returned when nothing differs, so
    consumers that follow a view by identity do not redo their work."""
    if view is None or before is None or before is view or not ghosts:
        return view
    here = {info.inode for info in view.namespaces}
    missing = [i for i in before.namespaces if i.inode not in here and not i.current]
    if not missing:
        return view
    used = {ghost.connection.netns for ghost in ghosts}  # (only while a namespace is gone)
    kept = [
        info if info.gone else dataclasses.replace(info, gone=True, processes=0, has_sockets=False)
        for info in missing
        if info.inode in used
    ]
    if not kept:
        return view
    ordered = sorted((*view.namespaces, *kept), key=lambda i: (not i.current, i.inode))
    out = dataclasses.replace(view, namespaces=tuple(ordered))
    return before if out == before else out


@dataclass(frozen=True, slots=True)
class GhostDelta:
    """How a sampler's ghosts changed from one of its snapshots to the next.

    Why: at 1M sockets with 1% churn a second about 100k ghosts live for the default 5 s, and a
    table that passes over all of them at every tick spent 60-85 ms of its UI thread there. A
    consumer that applied the ghosts of generation :attr:`since` gets this snapshot's by
    dropping :attr:`dropped` and adding :attr:`added`: work that follows the churn.
    """

    since: int
    """The generation of ghosts this delta starts from."""
    gen: int
    """The generation of this snapshot's ghosts."""
    ttl_s: float
    """The sampler's ghost lifetime (a consumer showing them for less cannot use the delta)."""
    added: tuple[Ghost, ...]
    """Ghosts new in this generation."""
    dropped: frozenset[str]
    """InstanceIDs that are ghosts no more (expired, open again), or whose Ghost was replaced
    by one of :attr:`added` (drop first, then add)."""
    of: tuple[Ghost, ...]
    """The ghosts it leads to, the very tuple the sampler publishes: a snapshot whose ghosts
    are another tuple (redacted, rewritten) is not described by it, whatever else it kept."""


class GhostBook:
    """A sampler's ghosts, changed in place sample by sample, each change also given as a
    :class:`GhostDelta` (the same ghosts as :func:`next_ghosts` makes, in closing order)."""

    def __init__(self, ttl_s: float) -> None:
        """No ghosts yet; closed connections stay ``ttl_s`` seconds."""
        self.ttl_s = ttl_s
        self.ghosts: dict[str, Ghost] = {}
        """By InstanceID (consumers get :attr:`shown`: never this dict)."""
        self.shown: tuple[Ghost, ...] = ()
        """The ghosts as a snapshot carries them (the tuple :attr:`delta` names)."""
        self.delta: GhostDelta | None = None
        """The last change (None before the first)."""
        self._ordered = True
        """:attr:`ghosts` is in closing order: every sample's time was later than the last."""
        self._time: datetime | None = None

    def advance(
        self,
        removed: Iterable[tuple[str, TcpConnection]],
        added: Iterable[str],
        now: datetime,
        view: NamespaceView | None = None,
    ) -> GhostDelta:
        """What closed (``removed``: InstanceID and last record) joins the ghosts, with its
        namespace as ``view`` (the last sample's) had it; what is open again (``added``) and
        what is older than the lifetime leaves."""
        ghosts = self.ghosts
        if not ghosts:
            self._ordered = True
        elif self._time is not None and now < self._time:
            self._ordered = False  # the clock went back: expired ghosts may be anywhere
        self._time = now
        dropped: set[str] = set()
        new: dict[str, Ghost] = {}
        index: NamespaceIndex | None = None
        for key, conn in removed:
            if ghosts.pop(key, None) is not None:  # (put back at the end: closing order)
                dropped.add(key)
            if view is None:
                ghosts[key] = new[key] = Ghost(conn, now)
                continue
            if index is None:
                index = view.index()
            ghosts[key] = new[key] = ghost_of(conn, now, index)
        for key in added:
            if ghosts.pop(key, None) is not None:
                dropped.add(key)
                new.pop(key, None)
        horizon = now - timedelta(seconds=self.ttl_s)
        if self._ordered:  # the expired are the first ones
            expired = []
            for key, ghost in ghosts.items():
                if ghost.closed_at > horizon:
                    break
                expired.append(key)
        else:
            expired = [key for key, ghost in ghosts.items() if ghost.closed_at <= horizon]
        for key in expired:
            del ghosts[key]
            dropped.add(key)
            new.pop(key, None)
        since = self.delta.gen if self.delta is not None else 0
        self.shown = tuple(ghosts.values())
        self.delta = GhostDelta(
            since,
            next(_GENERATIONS),
            self.ttl_s,
            tuple(new.values()),
            frozenset(dropped),
            self.shown,
        )
        return self.delta


_GENERATIONS: Final = itertools.count(1)
"""Generations of every book's ghosts (GhostDelta.gen): never the same twice in a process,
so a table fed by two samplers in turn cannot take one's delta for the other's."""


class ErrorKind(StrEnum):
    """Why a sample failed."""

    EXCEPTION = "exception"
    PERMISSION = "permission"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class SourceError:
    """A failed sample: the snapshot then carries the last good connections, marked stale."""

    kind: ErrorKind
    message: str
    """One line, fit for a banner."""
    since: datetime
    """When the source first failed in this run of failures."""


OWNERS_NOTE: Final = "owners (OwningProcess) of "
"""How a :class:`Privilege` line about owners of other users' sockets begins."""

HIDDEN_OWNERS_NOTE: Final = f"{OWNERS_NOTE}other users' sockets: "
"""How that line begins when a /proc mounted with ``hidepid`` hides other users' processes:
the rest names the mount and what would show them (:attr:`Privilege.hidepid`)."""

HIDEPID_HIDES: Final = ", which hides other users' processes from this user: "
"""What follows the mount in that line (``/proc is mounted with hidepid=2 (invisible)``),
before what would show them: :attr:`Privilege.hidepid_short` keeps the mount alone."""


@dataclass(frozen=True, slots=True)
class Privilege:
    """Which cells this run cannot fill for lack of privilege, said once at start."""

    hidden: tuple[str, ...] = ()
    """One line per hidden kind of cell, e.g. owners of other users' sockets."""

    @property
    def limited(self) -> bool:
        """True when some cells are hidden by missing privilege."""
        return bool(self.hidden)

    @property
    def owners(self) -> str | None:
        """The line saying why owners of other users' sockets are not known (fd tables
        unreadable, or a hidepid /proc), for a row whose owner needs privilege; None: none."""
        return next((line for line in self.hidden if line.startswith(OWNERS_NOTE)), None)

    @property
    def hidepid(self) -> str | None:
        """Why other users' owners are not known when a hidepid /proc hides their processes
        (``/proc is mounted with hidepid=2 …`` and what would show them); None otherwise.
        Why: there nothing is denied, so "their fd tables are unreadable" would be untrue."""
        owners = self.owners
        if owners is None or not owners.startswith(HIDDEN_OWNERS_NOTE):
            return None
        return owners.removeprefix(HIDDEN_OWNERS_NOTE)

    @property
    def hidepid_short(self) -> str | None:
        """:attr:`hidepid` in two lines at 80 columns (``/proc is mounted with hidepid=2
        (invisible), which hides other users' processes; root sees them``), for a line that
        has no room for five: the detail pane's Process line, a refusal's toast or label.
        Root has CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, which both show and read them."""
        full = self.hidepid
        if full is None:
            return None
        mount, sep, _ = full.partition(HIDEPID_HIDES)
        if not sep:  # an unexpected wording (a newer recording's): said whole
            return full
        return f"{mount}, which hides other users' processes; root sees them"


@dataclass(frozen=True, slots=True)
class SampleStats:
    """What the last sample cost (shown in the header, printed by bench)."""

    sample_ms: float = 0.0
    sockets: int = 0
    new_owners_resolved: int = 0
    stretched_interval_s: float | None = None
    """The interval the sampler keeps instead of the configured one because samples take
    longer than it (None: the configured interval holds)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One tick of the stream."""

    seq: int
    """1-based sequence number of the connection sample."""
    time: datetime
    """When the connections were sampled (UTC)."""
    started_at: datetime
    """When the sampler took its first sample (UTC); CreationTime bounds refer to it."""
    source: str
    """Source name: ``netlink``, ``psutil``, ``demo``..."""
    interval_s: float
    connections: Mapping[str, TcpConnection]
    """By InstanceID."""
    diff: ConnectionDiff
    ghosts: tuple[Ghost, ...] = ()
    tcp_info: Mapping[str, TcpInfo] = field(default_factory=dict)
    """By InstanceID; decoded on access where the source supports it (see
    core.connections.tcpinfo)."""
    tcp_info_at: datetime | None = None
    """When ``tcp_info`` was read, if not with the connections at ``time``: a fetch for
    connections just watched, published between samples with the last sample's seq and time.
    Rates must count its bytes from then: counted from ``time``, a steady flow's first rate
    was a fraction of it (a drop that never happened)."""
    processes: Mapping[int, ProcessInfo] = field(default_factory=dict)
    """Owning processes by PID."""
    error: SourceError | None = None
    stale: bool = False
    """True when ``connections`` are the last good ones because this sample failed."""
    link_down: str | None = None
    """Set on the sample ``record --remote`` writes when the SSH link is lost: the link's
    state then (``disconnected — reconnecting``). Nothing in it was measured at its time, the
    IPsec view included, so a replay shows it as the live app showed the outage: not live."""
    privilege: Privilege = field(default_factory=Privilege)
    stats: SampleStats = field(default_factory=SampleStats)
    paused: bool = False
    ipsec: IpsecView | None = None
    """Latest IPsec counters view, when an IPsec sampler rides this stream."""
    skipped: int = 0
    """Snapshots the consumer did not see because it was slower than the sampler."""
    namespaces: NamespaceView | None = None
    """The network namespaces read (None: only tcpscope's own; see core.netns)."""
    page: FirstPage | None = None
    """Set on a first page shown before its sample is whole (seq 0): ``connections`` then
    holds only the page's rows, owners not looked up yet; the whole first sample follows."""
    ghost_delta: GhostDelta | None = None
    """How ``ghosts`` changed since the sampler's last snapshot (None: not known)."""
