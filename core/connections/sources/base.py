"""The one interface every connection source implements.

A source is synchronous and may block (netlink, /proc, psutil); the sampler calls it from a
worker thread, one call at a time, never overlapping. It keeps its own memory between calls so
unchanged connections come back as the very same record objects (cheap diffs at 50k sockets)
and so CreationTime / TimeOfLastStateChange can be observed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from core.connections.first_page import FirstPage, PageRequest
from core.connections.model import ProcessInfo, TcpConnection, TcpInfo
from core.connections.namespaces import NamespaceView
from core.connections.snapshot import Privilege


@dataclass(frozen=True, slots=True)
class SourceSample:
    """What one call of :meth:`ConnectionSource.sample` returns."""

    connections: dict[str, TcpConnection]
    """By InstanceID. Unchanged connections must be the same objects as last time."""
    tcp_info: Mapping[str, TcpInfo] = field(default_factory=dict)
    processes: Mapping[int, ProcessInfo] = field(default_factory=dict)
    privilege: Privilege = field(default_factory=Privilege)
    new_owners_resolved: int = 0
    """How many socket owners had to be looked up this time (churn, for the header/bench)."""
    touched: frozenset[str] | None = None
    """InstanceIDs whose record was added, replaced or dropped since the last sample, when the
    source knows them (it found them while dumping); None makes the sampler compare every row."""
    namespaces: NamespaceView | None = None
    """The network namespaces looked at (None: only tcpscope's own, as always before)."""
    observed_at: datetime | None = None
    """When the source read the clock after its dump: every socket listed existed by then,
    so it is the honest first-seen bound (CreationTime) and the snapshot's time. ``None``:
    the source took ``now`` as given (scripted sources with their own clock)."""


def observed_after(now: datetime) -> datetime:
    """The wall clock read now, after a dump that began at ``now`` (never earlier than it).

    Why after: a socket created during the dump is listed by it; stamping it with the time the
    dump began would make it look older than its ``socket()`` call.
    """
    return max(now, datetime.now(UTC))


class ConnectionSource(Protocol):
    """A provider of MSFT_NetTCPConnection records."""

    name: str
    """Short name shown in the header and recorded: ``netlink``, ``psutil``, ``demo``."""

    def sample(self, now: datetime, *, first: bool) -> SourceSample:
        """Take one sample.

        Args:
            now: the sample time (UTC); becomes CreationTime of new connections and
                TimeOfLastStateChange of connections whose State changed.
            first: True for the first sample of a run: connections then existed before
                tcpscope started (``created_before_start``).

        Raises:
            core.errors.MonitorError: on a failure the sampler should report and retry.
        """
        ...

    def close(self) -> None:
        """Release sockets and caches."""
        ...


@runtime_checkable
class TcpInfoOnDemand(Protocol):
    """A source that can fetch tcp_info for a few connections instead of dumping all of it."""

    tcp_info_on_demand: bool
    """True when samples carry tcp_info only for the watched connections."""

    def watch(self, instance_ids: Collection[str]) -> None:
        """Include these connections' tcp_info in every sample from now on."""
        ...

    def tcp_info_of(self, conns: Collection[TcpConnection]) -> dict[str, bytes]:
        """Raw tcp_info of ``conns`` now (thread-safe, apart from :meth:`sample`)."""
        ...


@runtime_checkable
class PagesFirst(Protocol):
    """A source whose first sample can hand out its first page before the rest is built."""

    def sample_paged(
        self, now: datetime, request: PageRequest, publish: Callable[[FirstPage], None]
    ) -> SourceSample:
        """A first sample (``first=True``) that calls ``publish`` with the page as soon as
        the sockets are listed, then builds the rest; ``publish`` may hold it up a while."""
        ...


class Endpoints(Protocol):
    """What a record being built already holds of its socket: the endpoints."""

    @property
    def local_address(self) -> str: ...
    @property
    def local_port(self) -> int: ...
    @property
    def remote_address(self) -> str: ...
    @property
    def remote_port(self) -> int: ...


@runtime_checkable
class OwnersWait(Protocol):
    """A source whose first sample waits for an owner scan after building its records.

    Why: at 50k sockets the scan of every ``/proc/<pid>/fd`` takes as long as the dump and
    the parsing together, and a one-shot can spend that wait putting its output in order
    (core.commands.connections.EarlyOrder) instead of doing it after.
    """

    def sample_meanwhile(
        self, now: datetime, meanwhile: Callable[[Sequence[Endpoints]], None]
    ) -> SourceSample:
        """A first sample (``first=True``) that calls ``meanwhile`` once, while the owners
        load, with its new records still being built, in the order it will return them.
        A record may still be replaced before the sample ends (an owner found to have
        changed): callers compare the records they get by identity."""
        ...


@runtime_checkable
class GivesWay(Protocol):
    """A source that calls a hook between the steps of a sample, where it may wait (see
    :mod:`core.sampling.give_way`: the UI answers a key first)."""

    between_steps: Callable[[], None]
    """Called by the sampling thread between two steps (a dump's replies); may sleep."""
