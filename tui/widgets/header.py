"""The one-line header: host, source, interval, last sample time and age, PAUSED, privilege.

Why not Textual's Header: it shows a title and a clock; tcpscope's header must say how fresh
the data is and whether cells are hidden for lack of privilege. The age is computed from an
injected clock, so screenshots of a replay or a scripted feed do not depend on the wall clock.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from core.snapshot import Snapshot
from tui import format as fmt


class HeaderBar(Static):
    """Shows the feed's state; :meth:`show` redraws it."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; }
    """

    def show(
        self,
        *,
        host: str,
        source: str,
        interval_s: float,
        snap: Snapshot | None,
        now: datetime,
        paused: bool,
    ) -> None:
        """Redraw from the feed's state; host and source are untrusted-safe text."""
        text = Text()
        text.append("tcpscope", style="bold")
        text.append(f"  {fmt.safe(host)}  ")
        text.append(f"source {fmt.safe(source)}  every {interval_s:g}s  ")
        if snap is None:
            text.append("waiting for the first sample…")
        else:
            seconds = max(0.0, (now - snap.time).total_seconds())
            text.append(f"last {fmt.clock(snap.time)} ({seconds:.0f}s ago)")
        if paused:
            text.append("  PAUSED", style="bold reverse")
        if snap is not None and snap.namespaces is not None:
            view = snap.namespaces
            text.append(f"  netns {view.shown}")
            if view.unreadable or view.hidden_processes:
                text.append(f" ({view.unreadable} unreadable)", style="italic")
            if any(i.read_by.value == "procfs" for i in view.namespaces):
                text.append(" (some via /proc)", style="italic")
        if snap is not None and snap.privilege.limited:
            text.append("  privileged cells hidden", style="italic")
        self.update(text, layout=False)  # always one line: no relayout
