"""Owning-process details (name, user, cmdline, exe, start time), fetched once per process.

Why: process details rarely change and cost several /proc reads each, so they are fetched
when a PID first owns a socket and kept while it owns any, keyed by (pid, create_time) so a
reused PID is noticed. Fields the OS refuses become ``None`` and are listed in
``ProcessInfo.denied``; a process that vanished is dropped. On Linux they come straight from
/proc (:mod:`core.connections.sources.procfs`, psutil's semantics field for field, checked
against psutil by the tests): the remote agent has no psutil, and a one-shot then does not pay
psutil's import (~9 ms of a ~0.5 s run at 50k). Elsewhere psutil, imported on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Final

from core.connections.model import ProcessInfo

EXE_PRIVILEGE_REASON: Final = (
    "details (exe, sometimes name or cmdline) of other users' processes: the OS requires "
    "ptrace read access (CAP_SYS_PTRACE on Linux, which root has unless its container drops "
    "it; admin elsewhere)"
)
_FIELDS: Final = ("name", "username", "cmdline", "exe")


@functools.cache
def _psutil() -> ModuleType | None:
    """psutil where /proc cannot serve; None on Linux (procfs) or when it is not installed."""
    if sys.platform.startswith("linux"):
        return None
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return psutil


def fetch_process(pid: int) -> ProcessInfo | None:
    """Details of ``pid`` now, or ``None`` when it no longer exists."""
    psutil = _psutil()
    if psutil is None:
        from core.connections.sources import procfs

        info = procfs.fetch_process(pid)
        return None if info is None else dataclasses.replace(info, ns_pid=namespace_pid(pid))
    return psutil_process(psutil, pid)


def psutil_process(psutil: ModuleType, pid: int) -> ProcessInfo | None:
    """Details of ``pid`` through psutil (macOS, Windows, BSD; the tests' reference)."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            create_time: float | None = proc.create_time()
            values: dict[str, object] = {}
            denied: list[str] = []
            for field in _FIELDS:
                try:
                    values[field] = getattr(proc, field)()
                except psutil.AccessDenied:
                    values[field] = None
                    denied.append(field)
    except psutil.NoSuchProcess:  # ZombieProcess included: it owns no sockets any more
        return None
    except psutil.AccessDenied:
        return ProcessInfo(pid, None, None, None, None, None, ("create_time", *_FIELDS))
    cmdline = values["cmdline"]
    return ProcessInfo(
        pid=pid,
        name=_text(values["name"]),
        username=_text(values["username"]),
        cmdline=tuple(str(a) for a in cmdline) if isinstance(cmdline, list) else None,
        exe=_text(values["exe"]) or None,
        create_time=create_time,
        denied=tuple(denied),
        ns_pid=namespace_pid(pid),
    )


def namespace_pid(pid: int, proc: str = "/proc") -> int | None:
    """``pid`` as the innermost PID namespace numbers it (a container's PID), if different.

    Linux only (``NSpid:`` in /proc/PID/status lists the PID in each nested namespace,
    outermost first); None elsewhere, when unreadable, or when the process is in ours.
    """
    try:
        with open(f"{proc}/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    numbers = line.split()[1:]
                    inner = int(numbers[-1]) if len(numbers) > 1 else None
                    return inner if inner != pid else None
    except (OSError, ValueError):
        return None
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class ProcessCache:
    """ProcessInfo for the PIDs that currently own sockets."""

    def __init__(self) -> None:
        """Start empty."""
        self._by_pid: dict[int, ProcessInfo] = {}
        self.view: Mapping[int, ProcessInfo] = {}
        """The current mapping; a new object whenever it changes, never mutated after."""

    def update(self, owners: Iterable[int]) -> Mapping[int, ProcessInfo]:
        """Keep details for exactly ``owners``: fetch new PIDs, evict the others.

        A PID already known is re-fetched only if its create_time changed (PID reuse), which
        is checked for PIDs that are new to the caller's owner set; see :meth:`recheck`.
        """
        wanted = set(owners)
        known = self._by_pid.keys()
        added = wanted - known
        removed = known - wanted
        if not added and not removed:
            return self.view
        for pid in removed:
            del self._by_pid[pid]
        for pid in added:
            info = fetch_process(pid)
            if info is not None:
                self._by_pid[pid] = info
        self.view = dict(self._by_pid)
        return self.view

    def recheck(self, pids: Iterable[int]) -> None:
        """Drop cached details of ``pids`` whose process was replaced (PID reuse).

        A process that is gone keeps its details while sockets still name it (one that
        exited between a sample's dump and its owner scan owns them for that sample, and
        their ghost rows show its name): :meth:`update` drops them with its last socket."""
        for pid in pids:
            info = self._by_pid.get(pid)
            if info is None:
                continue
            now = _create_time(pid)
            if now is not None and now != info.create_time:
                del self._by_pid[pid]  # the next update() fetches the new process

    @property
    def any_denied(self) -> bool:
        """True when some process refused us some detail."""
        return any(info.denied for info in self._by_pid.values())


def _create_time(pid: int) -> float | None:
    psutil = _psutil()
    if psutil is None:
        from core.connections.sources import procfs

        return procfs.create_time(pid)
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None
