"""What a table's PID and Process cells say for a connection without a PID.

Why one table for both tables (the app's and ``tcpscope connections``): "no owner" (the
kernel holds the socket without a file: TimeWait, SYN_RECV requests, orphans) and "owner not
known" (another user's process, without privilege) are different answers, and a bare ``-`` in
both hid that in a pipe or a log, where the stderr note is lost. ``-`` stays "none"; ``?``
is "not known", and the Process cell says why in a word or two (the detail pane, JSON and
CSV give the whole reason). The grouped view keeps the same answers apart: one group per
answer, never one "no PID" group where "I may not see its owner" hides among "nobody owns it".
"""

from __future__ import annotations

from typing import Final

from core.connections.model import OwnerStatus

OWNERLESS_CELLS: Final[dict[OwnerStatus, tuple[str, str]]] = {
    OwnerStatus.NO_OWNER: ("-", "-"),
    OwnerStatus.NEEDS_PRIVILEGE: ("?", "(needs root)"),
    OwnerStatus.NOT_FOUND: ("?", "(not found)"),
    OwnerStatus.NOT_SUPPORTED: ("?", "(unsupported)"),
    OwnerStatus.RESOLVING: ("…", "…"),
    OwnerStatus.FOUND: ("-", "-"),  # never without a PID; here so every status has cells
}
"""(PID cell, Process cell) by :class:`OwnerStatus`, for a connection whose PID is None."""

OWNERLESS_SHORT: Final[dict[OwnerStatus, str]] = {
    OwnerStatus.NEEDS_PRIVILEGE: "(no priv)",
    OwnerStatus.NOT_FOUND: "(not seen)",
    OwnerStatus.NOT_SUPPORTED: "(unsupp.)",
}
"""The Process cell's words where the whole ones do not fit (a narrow table's 10 cells):
``(needs ro…`` lost the word that says why, so a shorter honest one, whole, in its place."""

OWNERLESS_GROUPS: Final[dict[OwnerStatus, tuple[str, str]]] = {
    OwnerStatus.NO_OWNER: ("(no owner)", ""),
    OwnerStatus.NEEDS_PRIVILEGE: (
        "(owner not known: needs root)",
        "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH show the owners",
    ),
    OwnerStatus.NOT_FOUND: ("(owner not known: not found)", ""),
    OwnerStatus.NOT_SUPPORTED: ("(owner not known: unsupported)", ""),
    OwnerStatus.RESOLVING: ("(owner being looked up)", ""),
    OwnerStatus.FOUND: ("(no PID)", ""),  # never without a PID; here so every status has one
}
"""(name, note) of the grouped view's group of connections without a PID, by
:class:`OwnerStatus`: the name in the Process cell's words, the note (after the counts, cut
first on a narrow screen) what privilege would show the owners, where some would."""

NO_PID_ZERO_ON_LINUX: Final = (
    "Linux gives a socket no process holds (TimeWait, SYN_RECV requests, orphans, "
    "connections not yet accepted) no PID, where Windows reports PID 0: tcpscope shows it "
    'with PID - and says "no owning process"; no filter selects sockets by having no '
    "owner ({time_wait} lists the TimeWait ones)"
)
"""Why ``--owning-process 0`` or ``pid:0`` matches nothing on Linux, said rather than an
empty table: on Windows ``Get-NetTCPConnection -OwningProcess 0`` lists the kernel's
sockets, so engineers ask for it here too. ``{time_wait}``: how the asker lists the TimeWait
ones, a flag on the command line, a filter word in the app (see :func:`pid_zero_miss`)."""
