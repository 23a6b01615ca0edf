"""The demo host's connection source: the scripted source, with owners that follow the script.

Why a wrapper: :class:`core.connections.sources.scripted.ScriptedSource` keeps a connection's first
owner
when its State changes (a live source re-reads it). A Windows host reports the listener's
process for a half-open connection and PID 0 (here: no owner) once it is in TIME_WAIT, so the
demo re-applies each scripted row's owner. Unchanged records stay the very same objects, as
the sampler's cheap diffs expect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from core.connections.model import OwnerStatus, TcpConnection
from core.connections.sources.base import SourceSample
from core.connections.sources.scripted import ScriptedFrame, ScriptedSource


class DemoSource:
    """A :class:`core.connections.sources.base.ConnectionSource` playing the demo scenario."""

    name = "demo"

    def __init__(self, frames: Callable[[int], ScriptedFrame]) -> None:
        """Play ``frames`` (a function of the 0-based sample index)."""
        self._frames = frames
        self._index = 0
        self._frame: ScriptedFrame | None = None
        self._inner = ScriptedSource(self._current, name=self.name)
        self._fixed: dict[str, tuple[TcpConnection, TcpConnection]] = {}

    def _current(self, _index: int) -> ScriptedFrame:
        assert self._frame is not None
        return self._frame

    def sample(self, now: datetime, *, first: bool) -> SourceSample:
        """The next frame, owners as scripted."""
        frame = self._frames(self._index)
        self._index += 1
        self._frame = frame
        result = self._inner.sample(now, first=first)
        conns: dict[str, TcpConnection] = {}
        fixed: dict[str, tuple[TcpConnection, TcpConnection]] = {}
        for row in frame.conns:
            key = row.key
            conn = result.connections[key]
            cached = self._fixed.get(key)
            if cached is not None and cached[0] is conn:
                out = cached[1]
            else:
                status = row.owner_status or (
                    OwnerStatus.FOUND if row.pid else OwnerStatus.NO_OWNER
                )
                out = conn
                if conn.owning_process != row.pid or conn.owner_status != status:
                    out = dataclasses.replace(conn, owning_process=row.pid, owner_status=status)
            fixed[key] = (conn, out)
            conns[key] = out
        self._fixed = fixed
        return SourceSample(conns, result.tcp_info, result.processes, result.privilege)

    def close(self) -> None:
        """Nothing to release."""
        self._inner.close()
