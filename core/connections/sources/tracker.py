"""Carrying connection records from one sample to the next.

Why: consumers diff snapshots by object identity, and CreationTime / TimeOfLastStateChange
are observations that only exist if a source remembers what it saw. Every source keys its
sockets by an opaque source key and lets this module decide, per socket, whether the previous
record stands (same object), changed state (:func:`core.connections.records.with_state`,
CreationTime kept),
changed owner, or is a new connection (:func:`core.connections.records.new_connection`).

:class:`RecordTracker` keeps the records by key for a source that walks every socket in Python
(psutil); the netlink and scripted sources find their changed sockets themselves and
call :func:`next_record` for those only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from datetime import datetime
from typing import Final, Generic, NamedTuple, TypeVar

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.records import (
    PlatformDefaults,
    build_connection,
    successor_generation,
    with_state,
)

K = TypeVar("K", bound=Hashable)


class SocketFacts(NamedTuple):
    """What a source knows about one socket in one sample."""

    family: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: TcpState
    owning_process: int | None
    owner_status: OwnerStatus
    inode: int | None = None
    uid: int | None = None
    source_key: bytes = b""
    applied_setting: int | None = None
    """Only scripted Windows-like hosts report it."""
    offload_state: int | None = None
    """``None``: the platform default (:class:`core.connections.records.PlatformDefaults`)."""
    ifindex: int = 0
    """The interface the kernel ties the socket to (0: none); part of the InstanceID."""
    holders: tuple[int, ...] = ()
    """Every PID holding the socket when more than one does, ascending."""
    netns: int | None = None
    """Network namespace inode, for sockets outside tcpscope's own (see core.netns)."""


_OWNER_FIELDS: Final = ("owning_process", "owner_status", "inode", "uid", "source_key", "holders")
"""What a socket that stays the same connection may change between two samples besides its
State: who holds it, and what the source keys and finds it by."""


def same_socket(prev: TcpConnection, state: TcpState, inode: int | None) -> bool:
    """Whether a socket seen under ``prev``'s key, in ``state`` with ``inode``, is ``prev``.

    A connected socket keeps its 4-tuple when the kernel swaps it for a TIME_WAIT minisock
    (inode → 0) or accepts a request socket (0 → inode). Two different non-zero inodes mean
    the tuple was closed and reused by a new socket between samples; and TIME_WAIT is a
    socket's last state, so anything after it on the same tuple (``tcp_tw_reuse``, a
    reconnect with SO_REUSEADDR) is a new socket too.
    """
    if prev.state is TcpState.TIME_WAIT and state is not TcpState.TIME_WAIT:
        return False
    return not (prev.inode and inode and prev.inode != inode)


class RecordTracker(Generic[K]):
    """Records of one source by source key, for one sample at a time.

    Use: :meth:`begin`; for each socket, pop its key from :attr:`previous` and either put the
    popped record back into :attr:`current` unchanged or call :meth:`settle`; then
    :meth:`end` returns what vanished.
    """

    def __init__(self, defaults: PlatformDefaults) -> None:
        """Start empty; ``defaults`` are the platform's MOF defaults for new records."""
        self.defaults = defaults
        self.current: dict[K, TcpConnection] = {}
        self.previous: dict[K, TcpConnection] = {}

    def begin(self) -> None:
        """Start a sample: last sample's records become :attr:`previous`."""
        self.previous = self.current
        self.current = {}

    def settle(
        self,
        key: K,
        prev: TcpConnection | None,
        facts: SocketFacts,
        now: datetime,
        *,
        first: bool,
    ) -> TcpConnection:
        """Decide and store the record for ``key`` given last sample's ``prev`` (popped)."""
        rec = next_record(prev, facts, now, first=first, defaults=self.defaults)
        self.current[key] = rec
        return rec

    def end(self) -> dict[K, TcpConnection]:
        """Finish a sample; returns the records whose keys were not seen (closed)."""
        vanished = self.previous
        self.previous = {}
        return vanished


def next_record(
    prev: TcpConnection | None,
    facts: SocketFacts,
    now: datetime,
    *,
    first: bool,
    defaults: PlatformDefaults,
    same: bool | None = None,
) -> TcpConnection:
    """The record for a socket now, reusing ``prev`` (the same object) when nothing changed.

    ``same``: whether the socket is ``prev``'s, when the source knows better than
    :func:`same_socket` (netlink compares socket cookies). A different socket under a known
    key is a new connection: the old record closes (a ghost) and the new one gets an
    InstanceID of its own (a successor: :func:`core.connections.records.instance_id`) and
    starts its own history.
    """
    if prev is not None and same is None:
        same = same_socket(prev, facts.state, facts.inode)
    if prev is None or not same:
        # Unpacked positionally: a first sample takes this path for every socket.
        (fam, laddr, lport, raddr, rport, state, pid, status, ino, uid, key, applied, offload,
         ifindex, holders, ns) = facts  # fmt: skip
        generation = "" if prev is None else successor_generation(ino, now)
        return build_connection(
            fam, laddr, lport, raddr, rport, state, pid, status, now, first, defaults,
            ino, uid, key, applied, offload, ifindex, generation, holders, ns,
        )  # fmt: skip
    rec = prev
    if prev.state is not facts.state:
        rec = with_state(prev, facts.state, now)
    moved = {
        name: getattr(facts, name)
        for name in _OWNER_FIELDS
        if getattr(rec, name) != getattr(facts, name)
    }
    if moved:
        rec = dataclasses.replace(rec, **moved)
    return rec
