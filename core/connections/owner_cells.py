"""What a table's PID and Process cells say for a connection without a PID.

Why one table for both tables (the app's and ``tcpscope connections``): "no owner" (the
kernel holds the socket without a file: TimeWait, SYN_RECV requests, orphans) and "owner not
known" (another user's process, without privilege) are different answers, and a bare ``-`` in
both hid that in a pipe or a log, where the stderr note is lost. ``-`` stays "none"; ``?``
is "not known", and the Process cell says why in a word or two (the detail pane, JSON and
CSV give the whole reason).
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
