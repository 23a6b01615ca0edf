"""The portable connection source: ``psutil.net_connections("tcp")``.

Why: macOS and Windows have no sock_diag; psutil gives the same facts (tuple, state, PID)
everywhere. It rescans every process's sockets on each call (26 µs per socket on Linux), so
on Linux :mod:`core.connections.sources.netlink` is preferred and this source is the fallback and
the
cross-check in tests. Records are built and reused exactly like the netlink source's.

Limits: psutil exposes no inode or cookie, so listeners sharing one address through
SO_REUSEPORT collapse into one record, and a socket held by several processes shows one PID.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from datetime import datetime
from typing import Any, Final

import psutil  # type: ignore[import-untyped,unused-ignore]

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.records import OTHER_DEFAULTS, canonical_address, psutil_state
from core.connections.snapshot import OWNERS_NOTE, Privilege
from core.connections.sources.base import SourceSample, observed_after
from core.connections.sources.procinfo import EXE_PRIVILEGE_REASON, ProcessCache
from core.connections.sources.tracker import RecordTracker, SocketFacts
from core.errors import AccessDenied, MonitorError

PSUTIL_PRIVILEGE_REASON: Final = (
    f"{OWNERS_NOTE}sockets held by other users' processes: the OS hides them "
    "without privilege (Linux: reading /proc/<pid>/fd needs CAP_SYS_PTRACE and "
    "CAP_DAC_READ_SEARCH; Windows: an elevated prompt)"
)


def _privileged() -> bool:
    """Whether the OS shows us every process's sockets (root / elevated)."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None:
        return bool(geteuid() == 0)
    try:  # Windows: an elevated token
        import ctypes

        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False


class PsutilSource:
    """MSFT_NetTCPConnection records from psutil, on any platform psutil supports."""

    name = "psutil"

    def __init__(self) -> None:
        """Prepare caches; nothing is read until :meth:`sample`."""
        # OTHER_DEFAULTS even on Linux: psutil exposes no offload state, so OffloadState is
        # not reported (null with that reason), never a value and a reason at once.
        defaults = OTHER_DEFAULTS
        self._tracker: RecordTracker[bytes] = RecordTracker(defaults)
        self._procs = ProcessCache()
        self._privileged = _privileged()

    def close(self) -> None:
        """Drop the caches."""
        self._tracker = RecordTracker(self._tracker.defaults)

    def sample(self, now: datetime, *, first: bool) -> SourceSample:
        """One ``net_connections`` call; see
        :class:`core.connections.sources.base.ConnectionSource`."""
        try:
            rows = psutil.net_connections("tcp")
        except psutil.AccessDenied as err:
            raise AccessDenied(
                "psutil: listing connections needs root/administrator on this platform"
            ) from err
        except (psutil.Error, OSError) as err:
            raise MonitorError(f"psutil: listing connections failed: {err}") from err
        now = observed_after(now)
        tracker = self._tracker
        tracker.begin()
        hidden_owner = False
        sockets: dict[bytes, SocketFacts] = {}
        for row in rows:
            facts = self._facts(row)
            if facts is None:
                continue
            hidden_owner |= facts.owner_status is OwnerStatus.NEEDS_PRIVILEGE
            known = sockets.get(facts.source_key)
            if known is None:
                sockets[facts.source_key] = facts
            elif facts.owning_process is not None:
                # The same socket seen through another process (fork, SCM_RIGHTS).
                pids = {*known.holders, facts.owning_process}
                if known.owning_process is not None:
                    pids.add(known.owning_process)
                holders = tuple(sorted(pids))
                sockets[facts.source_key] = known._replace(
                    owning_process=holders[0], owner_status=OwnerStatus.FOUND, holders=holders
                )
        for key, facts in sockets.items():
            prev = tracker.previous.pop(key, None)
            tracker.settle(key, prev, facts, now, first=first)
        tracker.end()
        connections: dict[str, TcpConnection] = {}
        owners: Counter[int] = Counter()
        for rec in tracker.current.values():
            connections[rec.instance_id] = rec
            if rec.owning_process is not None:
                owners[rec.owning_process] += 1
        processes = self._procs.update(owners.keys())
        hidden: list[str] = []
        if hidden_owner:
            hidden.append(PSUTIL_PRIVILEGE_REASON)
        if self._procs.any_denied:
            hidden.append(EXE_PRIVILEGE_REASON)
        return SourceSample(
            connections=connections,
            processes=processes,
            privilege=Privilege(tuple(hidden)),
            new_owners_resolved=0,
            observed_at=now,
        )

    def _facts(self, row: Any) -> SocketFacts | None:
        laddr, lport = _split(row.laddr)
        raddr, rport = _split(row.raddr)
        state = psutil_state(row.status, rport)
        if state is None:
            return None  # a state string newer than this code: skipped, never guessed
        pid: int | None = row.pid or None
        if pid is not None:
            status = OwnerStatus.FOUND
        elif state is TcpState.TIME_WAIT or self._privileged:
            # Privileged, psutil sees every fd: no PID means no process holds the socket.
            status = OwnerStatus.NO_OWNER
        else:
            status = OwnerStatus.NEEDS_PRIVILEGE
        ver = 6 if row.family == socket.AF_INET6 else 4
        key = f"{ver}|{laddr}|{lport}|{raddr}|{rport}".encode()
        return SocketFacts(
            family=ver,
            local_address=canonical_address(laddr),
            local_port=lport,
            remote_address=canonical_address(raddr) if raddr else _unspecified(ver),
            remote_port=rport,
            state=state,
            owning_process=pid,
            owner_status=status,
            source_key=key,
        )


def _split(addr: Any) -> tuple[str, int]:
    """psutil gives ``(ip, port)`` or an empty tuple for an unconnected remote end."""
    if not addr:
        return "", 0
    return str(addr[0]), int(addr[1])


def _unspecified(ver: int) -> str:
    """The kernel's remote address of an unconnected socket, as netlink reports it."""
    return "0.0.0.0" if ver == 4 else "::"
