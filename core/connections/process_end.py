"""Ending a connection's process: SIGTERM, then SIGKILL if asked (the ``K`` key).

Why its own module: closing a socket (:mod:`core.connections.actions`) and ending a process
share their refusals and words but nothing else. A process is pinned with a pidfd and its
start time checked first, so a PID reused since the sample is refused rather than signalled.

Linux only; nothing here runs until an action is asked for. Never imports textual or rich.
"""

from __future__ import annotations

import os
import select
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from core.connections.actions import Outcome, Refusal, process_label, socket_holders
from core.connections.model import ProcessInfo, TcpConnection

TERM_GRACE_S: Final = 3.0
"""How long a process gets to exit after SIGTERM before SIGKILL is offered."""
_START_SLACK_S: Final = 0.05
"""Start times are computed from boot time and clock ticks: equal within this."""


@dataclass(frozen=True, slots=True)
class ProcessTarget:
    """A process to end, and what else goes with it (for the confirmation)."""

    pid: int
    info: ProcessInfo | None
    connections: tuple[TcpConnection, ...]
    """The connections the last sample gives this process."""
    shared: Mapping[int, frozenset[int]] = field(default_factory=dict)
    """Socket inode → the other PIDs holding it: those sockets stay open after this exits."""

    @property
    def label(self) -> str:
        """``PID 1234 (nginx, user www)``."""
        return process_label(self.pid, self.info)


def process_target(
    pid: int,
    conns: Iterable[TcpConnection],
    processes: Mapping[int, ProcessInfo],
    proc: str = "/proc",
) -> ProcessTarget:
    """What ending ``pid`` involves: its connections and the sockets it shares.

    Its connections are those it holds, not only those it is the OwningProcess of: a socket
    held by a fork or a child too names one of them (the lowest PID), and ending the other
    still lets go of it (the dialog counted the forked listener out, or in, by PID order)."""
    own = tuple(c for c in conns if c.owning_process == pid or pid in c.holders)
    holders = socket_holders([c.inode for c in own if c.inode], proc)
    shared = {ino: frozenset(p - {pid}) for ino, p in holders.items() if p - {pid}}
    return ProcessTarget(pid, processes.get(pid), own, shared)


def terminate(target: ProcessTarget, *, grace_s: float | None = None) -> Outcome:
    """SIGTERM, then wait up to ``grace_s`` (default :data:`TERM_GRACE_S`) for the exit.

    ``done`` is True when it exited; False with no refusal when it still runs (offer
    :func:`kill`); False with a refusal when it could not be signalled.
    """
    return _signal(target, signal.SIGTERM, TERM_GRACE_S if grace_s is None else grace_s)


def kill(target: ProcessTarget, *, grace_s: float = 1.0) -> Outcome:
    """SIGKILL (cannot be caught), then wait up to ``grace_s`` for the exit."""
    return _signal(target, signal.SIGKILL, grace_s)


def _signal(target: ProcessTarget, sig: signal.Signals, grace_s: float) -> Outcome:
    pid = target.pid
    label = target.label
    if not hasattr(os, "pidfd_open"):
        return Outcome(False, "ending a process needs Linux 5.3 or later (pidfd)", Refusal.FAILED)
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return Outcome(False, f"{label} has exited already", Refusal.GONE)
    except OSError as exc:
        return Outcome(False, f"cannot reach {label}: {exc.strerror}", Refusal.FAILED)
    try:
        expected = target.info.create_time if target.info is not None else None
        if expected is not None and not _same_start(pid, expected):
            return Outcome(
                False,
                f"PID {pid} now belongs to another process: {label} exited; nothing was sent",
                Refusal.REPLACED,
            )
        try:
            signal.pidfd_send_signal(pidfd, sig)
        except ProcessLookupError:
            return Outcome(False, f"{label} has exited already", Refusal.GONE)
        except PermissionError:
            return Outcome(
                False,
                f"not permitted to signal {label}: it belongs to another user "
                "(needs root or CAP_KILL)",
                Refusal.NOT_PERMITTED,
            )
        if _exited(pidfd, grace_s):
            return Outcome(True, f"{label} exited after {sig.name}")
        return Outcome(False, f"{label} is still running {grace_s:g} s after {sig.name}")
    finally:
        os.close(pidfd)


def _same_start(pid: int, expected: float) -> bool:
    import psutil  # type: ignore[import-untyped,unused-ignore]

    try:
        started = float(psutil.Process(pid).create_time())
    except psutil.Error:
        return False
    return abs(started - expected) <= _START_SLACK_S


def _exited(pidfd: int, timeout_s: float) -> bool:
    """A pidfd polls readable once its process has exited (zombies included)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0.0, timeout_s) * 1000))
