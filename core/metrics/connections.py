"""Connection figures for the exporter: counts by State, process and network namespace,
per-process traffic totals.

Why aggregated here, once per sample: a scrape must answer from ready numbers, and one series
per connection would make Prometheus keep every ephemeral port it ever saw. Processes are
ranked by connection count; the top N keep their name as the ``process`` label, the rest share
``process="other"``, sockets without a known owner get one of two reserved labels, and those of
a process whose name is empty a third (:data:`NAMELESS`, never ranked among the names). The
``netns`` label is empty for tcpscope's own namespace (Prometheus reads an empty label as no
label: a host with one namespace has the series it always had) and names any other one. So:

* ``tcpscope_connections`` has at most S × (N + 4) series per namespace with sockets
  (S = 13 State values: the seed's 12 and Bound, see :func:`series_bound`),
* each per-process counter has at most N + 4 series (summed over the namespaces),

whatever the number of connections. Traffic totals count what tcp_info shows moving after
tcpscope started (connections already open then are taken as a baseline), so a restart of the
exporter is an ordinary counter reset, not a jump by every byte a long-lived connection ever
carried. A connection's bytes after its last sample before it closed are not seen.

Why a process without tcp_info has no traffic series: a socket read from ``/proc/PID/net/tcp``
(another namespace tcpscope may not enter: core.netns.reader), one from ``--source psutil``, or
one the kernel keeps no tcp_info for (TIME_WAIT, SYN_RECV requests, bound sockets) says nothing
of its bytes, and a 0 would read as "idle". Such connections are counted per process in
``tcpscope_connections_without_tcp_info`` instead; the totals cover only the connections with
tcp_info.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpInfo, TcpState
from core.connections.namespaces import key_text, label
from core.connections.seed_tables import ENUMS
from core.connections.snapshot import Snapshot
from core.connections.tcpinfo import LazyTcpInfo, decode_counters
from core.textsafe import printable

OTHER: Final = "other"
"""Processes beyond the top N by connection count."""
NO_OWNER: Final = "no-owner"
"""Sockets the kernel holds with no process (TIME_WAIT, SYN_RECV requests, orphans)."""
UNKNOWN: Final = "unknown"
"""Sockets whose owner was not established (privilege, vanished, unsupported, name unreadable)."""
NAMELESS: Final = "(no name)"
"""Sockets of a known process whose name is empty (prctl PR_SET_NAME ""): not ``unknown``,
whose owner could not be established."""
RESERVED: Final = (OTHER, NO_OWNER, UNKNOWN, NAMELESS)
STATE_NAMES: Final[dict[TcpState, str]] = {
    state: ENUMS["State"].decode(int(state)).name for state in TcpState
}
"""Seed State names (Listen, Established, TimeWait, …) for the ``state`` label."""

_Counters = tuple[int, int, int]
"""bytes received, bytes sent (acknowledged), segments retransmitted."""
_ZERO: Final[_Counters] = (0, 0, 0)


def series_bound(top: int) -> int:
    """Most ``tcpscope_connections`` series one sample can produce with ``--top top``."""
    return len(TcpState) * (top + len(RESERVED))


ESCAPE: Final = " (process)"
"""Added to a process name that reads as a reserved label, or as one so escaped."""


def process_label(info: ProcessInfo | None) -> str | None:
    """The label of a process's name (made printable), or None when the name is unknown.

    A name that is a reserved label (``other``) gets :data:`ESCAPE`; so does one that is
    already such a label followed by escapes (``other (process)``, a comm the kernel keeps
    whole): it took the same label as ``other``'s, and two processes were summed as one.
    Adding one more escape to every such name keeps each name's label its own, and no name
    takes a reserved label, whatever its length (a name is extended from the command line
    past the kernel's 15 bytes)."""
    name = info.name if info is not None else None
    if not name:
        return None
    name = printable(name)
    return f"{name}{ESCAPE}" if _unescaped(name) in RESERVED else name


def _unescaped(name: str) -> str:
    """``name`` without the :data:`ESCAPE` words it ends with."""
    while name.endswith(ESCAPE):
        name = name[: -len(ESCAPE)]
    return name


def _owner_label(info: ProcessInfo | None) -> str | None:
    """:func:`process_label`, or :data:`NAMELESS` for a process read whose name is empty.

    Why apart from ``unknown``: the owner was established (a process, a user), only its name
    is empty; README documents ``unknown`` as an owner that could not be."""
    if info is not None and info.name == "":
        return NAMELESS
    return process_label(info)


@dataclass(frozen=True, slots=True)
class Traffic:
    """Running totals of one process label since tcpscope started."""

    bytes_received: int = 0
    bytes_sent: int = 0
    """Bytes sent and acknowledged by the peer (tcp_info bytes_acked)."""
    retransmits: int = 0
    """Segments retransmitted (tcp_info total_retrans)."""


@dataclass(frozen=True, slots=True)
class ConnectionFigures:
    """What one sample contributes to the connection series."""

    by_state: Mapping[tuple[str, str, str], int]
    """(State name, process label, netns label) → connections; only non-zero entries."""
    traffic: Mapping[str, Traffic]
    """Process label → totals, for the labels of this sample that have a connection with
    tcp_info now or had one earlier (never a 0 for a process nothing was measured of)."""
    without_tcp_info: Mapping[str, int]
    """Process label → connections of this sample without tcp_info; only non-zero entries."""


class ConnectionAggregator:
    """Turns each Snapshot into :class:`ConnectionFigures`; keeps the traffic totals between.

    Not thread-safe: one caller (the exporter's update step) feeds it every sample in order.
    """

    def __init__(self, top: int) -> None:
        """``top``: how many process names keep their own label (the rest are ``other``)."""
        self.top = top
        self._last: dict[str, _Counters] = {}
        self._totals: dict[str, list[int]] = {}

    def update(self, snap: Snapshot) -> ConnectionFigures:
        """Figures of ``snap``; advances the traffic totals by what moved since the last one."""
        label_of = self._labeller(snap)
        netns_of = netns_labels(snap)
        by_state: dict[tuple[str, str, str], int] = {}
        for conn in snap.connections.values():
            netns = conn.netns
            key = (
                STATE_NAMES[conn.state],
                label_of(conn),
                "" if netns is None else netns_of.get(netns) or f"ns:{key_text(netns)}",
            )
            by_state[key] = by_state.get(key, 0) + 1
        measured = self._advance(snap, label_of)
        per_label: dict[str, int] = {}
        for (_, process, _), count in by_state.items():
            per_label[process] = per_label.get(process, 0) + count
        totals = self._totals
        traffic = {
            process: Traffic(*totals.get(process, _ZERO))
            for process in sorted(per_label)
            if process in measured or process in totals
        }
        without = {
            process: count - measured.get(process, 0)
            for process, count in sorted(per_label.items())
            if count > measured.get(process, 0)
        }
        return ConnectionFigures(by_state, traffic, without)

    def _labeller(self, snap: Snapshot) -> _Labeller:
        per_pid: dict[int, int] = {}
        for conn in snap.connections.values():
            pid = conn.owning_process
            if pid is not None:
                per_pid[pid] = per_pid.get(pid, 0) + 1
        names = {pid: _owner_label(snap.processes.get(pid)) for pid in per_pid}
        per_name: dict[str, int] = {}
        for pid, count in per_pid.items():
            name = names[pid]
            if name is not None and name != NAMELESS:
                per_name[name] = per_name.get(name, 0) + count
        ranked = sorted(per_name, key=lambda n: (-per_name[n], n))[: self.top]
        kept = {*ranked, NAMELESS}
        by_pid = {
            pid: UNKNOWN if name is None else name if name in kept else OTHER
            for pid, name in names.items()
        }
        return _Labeller(by_pid)

    def _advance(self, snap: Snapshot, label_of: _Labeller) -> dict[str, int]:
        """Add what moved since the last sample; returns process label → connections with
        tcp_info in ``snap``."""
        last = self._last
        now: dict[str, _Counters] = {}
        totals = self._totals
        measured: dict[str, int] = {}
        for iid, conn, counters in _counters(snap):
            process = label_of(conn)
            measured[process] = measured.get(process, 0) + 1
            prev = last.get(iid)
            if prev is None:
                prev = counters if conn.created_before_start else _ZERO
            now[iid] = counters
            delta = [c - p if c >= p else c for c, p in zip(counters, prev, strict=True)]
            if not any(delta):
                continue
            total = totals.get(process)
            if total is None:
                totals[process] = delta
            else:
                total[0] += delta[0]
                total[1] += delta[1]
                total[2] += delta[2]
        self._last = now
        return measured


def netns_labels(snap: Snapshot) -> dict[int, str]:
    """The ``netns`` label of each namespace of ``snap`` other than tcpscope's own (whose
    label is empty): the name the table's Namespace column shows (container, pod/container,
    ``ip netns`` name, else ``ns:<inode>``), made printable.

    A name found a sample after its namespace (core.netns.names) changes the label once."""
    view = snap.namespaces
    if view is None:
        return {}
    return {
        info.inode: printable(label(info, view)) for info in view.namespaces if not info.current
    }


class _Labeller:
    """A connection's ``process`` label in one sample."""

    __slots__ = ("_by_pid",)

    def __init__(self, by_pid: dict[int, str]) -> None:
        self._by_pid = by_pid

    def __call__(self, conn: TcpConnection) -> str:
        pid = conn.owning_process
        if pid is None:
            return NO_OWNER if conn.owner_status is OwnerStatus.NO_OWNER else UNKNOWN
        return self._by_pid.get(pid, UNKNOWN)


def _counters(snap: Snapshot) -> list[tuple[str, TcpConnection, _Counters]]:
    """(InstanceID, connection, counters) of every connection with tcp_info in ``snap``."""
    infos = snap.tcp_info
    out: list[tuple[str, TcpConnection, _Counters]] = []
    if isinstance(infos, LazyTcpInfo):
        raw_of = infos.raw
        for iid, conn in snap.connections.items():
            raw = raw_of(iid)
            found = decode_counters(raw) if raw is not None else None
            if found is not None:
                out.append((iid, conn, found))
        return out
    plain: Mapping[str, TcpInfo] = infos
    for iid, conn in snap.connections.items():
        info = plain.get(iid)
        if info is not None:
            out.append(
                (iid, conn, (info.bytes_received or 0, info.bytes_acked or 0, info.total_retrans))
            )
    return out
