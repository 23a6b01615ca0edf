"""A source that plays a script of frames: the demo host and deterministic screen tests.

Each call to :meth:`ScriptedSource.sample` takes the next frame; the last frame repeats once the
script ends. A frame may be an exception, which the call raises: that is how the demo and the
tests show a failing source without breaking a real one. Records are built and reused exactly
as the live sources do, so lifecycle fields (CreationTime, TimeOfLastStateChange) behave alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpInfo, TcpState
from core.connections.records import PlatformDefaults, instance_id
from core.connections.snapshot import Privilege
from core.connections.sources.base import SourceSample
from core.connections.sources.tracker import SocketFacts, next_record

WINDOWS_LIKE = PlatformDefaults(offload_state=None)
"""Defaults for a scripted Windows-like host: offload state comes from each scripted row."""


@dataclass(frozen=True, slots=True)
class ScriptedConn:
    """One scripted connection in one frame."""

    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: TcpState
    pid: int | None = None
    owner_status: OwnerStatus | None = None
    """Defaults to FOUND with a pid, NO_OWNER without."""
    family: int = 4
    inode: int | None = None
    offload_state: int | None = None
    applied_setting: int | None = None
    tcp_info: TcpInfo | None = None

    @property
    def key(self) -> str:
        """The InstanceID this row will get."""
        return instance_id(
            self.local_address,
            self.local_port,
            self.remote_address,
            self.remote_port,
            self.inode,
            closed=self.state is TcpState.CLOSED,
        )


@dataclass(frozen=True, slots=True)
class ScriptedFrame:
    """The whole connection table at one sample, plus the processes that own it."""

    conns: Sequence[ScriptedConn]
    processes: Mapping[int, ProcessInfo] = field(default_factory=dict)
    privilege: Privilege = field(default_factory=Privilege)


Frame = ScriptedFrame | BaseException


class ScriptedSource:
    """Plays ``frames`` (a list, or a function of the sample index) one per sample."""

    def __init__(
        self,
        frames: Sequence[Frame] | Callable[[int], Frame],
        *,
        name: str = "demo",
        defaults: PlatformDefaults = WINDOWS_LIKE,
    ) -> None:
        """Create the source; ``name`` is what the header shows and the rules are keyed on."""
        self.name = name
        self._frames = frames
        self._defaults = defaults
        self._index = 0
        self._prev: dict[str, TcpConnection] = {}
        self.closed = False

    def _frame(self, index: int) -> Frame:
        if callable(self._frames):
            return self._frames(index)
        return self._frames[min(index, len(self._frames) - 1)]

    def sample(self, now: datetime, *, first: bool) -> SourceSample:
        """The next frame as a :class:`SourceSample` (raises if the frame is an exception)."""
        frame = self._frame(self._index)
        self._index += 1
        if isinstance(frame, BaseException):
            raise frame
        conns: dict[str, TcpConnection] = {}
        infos: dict[str, TcpInfo] = {}
        by_key: dict[str, TcpConnection] = {}
        for row in frame.conns:
            key = row.key
            rec = by_key[key] = next_record(
                self._prev.get(key), _facts(row), now, first=first, defaults=self._defaults
            )
            # A new socket on a known tuple gets an InstanceID of its own (see carry).
            conns[rec.instance_id] = rec
            if row.tcp_info is not None:
                infos[rec.instance_id] = row.tcp_info
        self._prev = by_key
        return SourceSample(conns, infos, frame.processes, frame.privilege)

    def close(self) -> None:
        """Nothing to release."""
        self.closed = True


def _facts(row: ScriptedConn) -> SocketFacts:
    status = row.owner_status or (OwnerStatus.FOUND if row.pid else OwnerStatus.NO_OWNER)
    return SocketFacts(
        family=row.family,
        local_address=row.local_address,
        local_port=row.local_port,
        remote_address=row.remote_address,
        remote_port=row.remote_port,
        state=row.state,
        owning_process=row.pid,
        owner_status=status,
        inode=row.inode,
        applied_setting=row.applied_setting,
        offload_state=row.offload_state,
    )


class StepClock:
    """A deterministic clock: ``start``, then ``step_s`` later on every call."""

    def __init__(self, start: datetime, step_s: float = 1.0) -> None:
        """Start at ``start`` (timezone-aware UTC)."""
        self._next = start
        self._step = timedelta(seconds=step_s)

    def __call__(self) -> datetime:
        """The current tick's time; advances the clock."""
        now = self._next
        self._next = now + self._step
        return now
