"""Whether a process has exited, from ``/proc/<pid>/stat``.

Why: a process that exits between a sample's dump and its owner scan leaves sockets in the
dump that no fd table holds any more (:mod:`core.connections.sources.pid_resolver`). Only an
exit explains that without a new owner; a live process at that PID (one that closed the fd,
or a new process that reused the PID) explains it otherwise and must not be named. Linux
only; imports nothing Linux-specific.
"""

from __future__ import annotations

from typing import Final

_PF_EXITING: Final = 0x4
"""``PF_EXITING`` of ``include/linux/sched.h``: set by ``do_exit`` before it closes the fds."""
_EXITED_STATES: Final = (b"Z", b"X")
"""Zombie (not waited for yet) and dead."""


def has_exited(pid: int, proc: str = "/proc") -> bool:
    """Whether ``pid`` is gone, a zombie, or exiting (``PF_EXITING`` in the ``flags`` field).

    False when its stat cannot be read for another reason (no guess)."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        return False
    # After the name's ")": state, ppid, pgrp, session, tty_nr, tpgid, flags, ...
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return fields[0] in _EXITED_STATES or bool(int(fields[6]) & _PF_EXITING)
    except (IndexError, ValueError):
        return False
