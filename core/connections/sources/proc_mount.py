"""Whether the procfs tcpscope reads hides other users' processes from it (``hidepid``).

Why: a hardened host mounts /proc with ``hidepid=`` (Documentation/filesystems/proc.rst): with
``hidepid=2`` (``invisible``) or ``ptraceable`` another user's ``/proc/PID`` is not listed at
all, with ``hidepid=1`` (``noaccess``) it is listed but closed. Nothing is then *denied* to
the owner scan, so without this its sockets read as "not found" (closed meanwhile) when their
owner is only hidden. ``fs/proc/base.c`` ``has_pid_permissions``: a process is shown to a
caller that may ptrace-read it (same uid, or CAP_SYS_PTRACE) or, except for ``ptraceable``,
to a member of the mount's ``gid=`` group (0 unless set). ``subset=pid`` hides no process.

The mount is found in ``PROC/self/mountinfo`` by the device of ``PROC`` (each proc mount
instance has its own superblock, so its own options). Linux only; None elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from core.connections.snapshot import HIDDEN_OWNERS_NOTE, HIDEPID_HIDES
from core.connections.sources.fd_scan import ptrace_capable

_LEVELS: Final[dict[str, tuple[int, str]]] = {
    "1": (1, "noaccess"),
    "noaccess": (1, "noaccess"),
    "2": (2, "invisible"),
    "invisible": (2, "invisible"),
    "4": (4, "ptraceable"),
    "ptraceable": (4, "ptraceable"),
}
"""``hidepid=`` values as mountinfo shows them (numbers before Linux 5.8, words since)."""


@dataclass(frozen=True, slots=True)
class HidePid:
    """A proc mount's ``hidepid`` setting."""

    path: str
    level: int
    """1 (noaccess), 2 (invisible) or 4 (ptraceable)."""
    word: str
    gid: int
    """The mount's ``gid=`` group, whose members see past levels 1 and 2 (0 when not set)."""

    @property
    def option(self) -> str:
        """``hidepid=2 (invisible)``, as a user would write it in fstab and as it is shown."""
        return f"hidepid={self.level} ({self.word})"

    def reason(self) -> str:
        """Why other users' sockets have no owner, for the privilege note (one line)."""
        group = "" if self.level == 4 else f" (or membership of the mount's group gid={self.gid})"
        return (
            f"{HIDDEN_OWNERS_NOTE}{self.path} is mounted with {self.option}{HIDEPID_HIDES}"
            f"CAP_SYS_PTRACE{group} shows them, and reading their /proc/<pid>/fd then needs "
            "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (root has both)"
        )


def hidepid(proc: str = "/proc") -> HidePid | None:
    """The ``hidepid`` setting of the proc mount at ``proc``; None when it hides nothing or
    cannot be told (not Linux, not a mount point, mountinfo unreadable)."""
    try:
        dev = os.stat(proc).st_dev
        with open(os.path.join(proc, "self", "mountinfo"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    want = f"{os.major(dev)}:{os.minor(dev)}"
    for line in lines:
        mount, sep, fs = line.partition(" - ")
        fields, tail = mount.split(), fs.split()
        if not sep or len(fields) < 3 or fields[2] != want or len(tail) < 3 or tail[0] != "proc":
            continue
        options = dict(opt.partition("=")[::2] for opt in tail[2].split(","))
        level = _LEVELS.get(options.get("hidepid", ""))
        if level is None:
            return None
        try:
            gid = int(options.get("gid", "0"))
        except ValueError:
            gid = 0
        return HidePid(proc, level[0], level[1], gid)
    return None


def hides_others(proc: str = "/proc") -> HidePid | None:
    """:func:`hidepid` of ``proc`` when it hides other users' processes from this process
    (no CAP_SYS_PTRACE, and not in the mount's group where that group counts); else None."""
    found = hidepid(proc)
    if found is None or ptrace_capable():
        return None
    if found.level != 4 and (found.gid == os.getegid() or found.gid in os.getgroups()):
        return None
    return found
