"""Counts of connections per State, for the whole set and for the filtered set.

The counts come from :class:`core.connections.row_index.RowIndex`, which keeps them up to date in
O(changes) per tick; this widget only formats them.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text
from textual.widgets import Static

from core.connections import TcpState
from tui import format as fmt

SHOWN: Final = (
    TcpState.ESTABLISHED,
    TcpState.LISTEN,
    TcpState.TIME_WAIT,
    TcpState.CLOSE_WAIT,
    TcpState.SYN_SENT,
    TcpState.SYN_RECEIVED,
)
"""States with their own count; all others add up under "others"."""
ALWAYS: Final = 2
"""The first states of :data:`SHOWN` counted even at zero (Established, Listen)."""


def _split(counts: dict[TcpState, int]) -> tuple[list[int], int]:
    main = [counts.get(s, 0) for s in SHOWN]
    return main, sum(counts.values()) - sum(main)


class StateBar(Static):
    """``Established 12/40  Listen 3/10 …`` (filtered/all when a filter is active)."""

    DEFAULT_CSS = """
    StateBar { height: auto; }
    """

    _length = -1
    _shown: Text | None = None

    def show(
        self,
        all_counts: dict[TcpState, int],
        filtered: dict[TcpState, int],
        filtering: bool,
        note: str = "",
    ) -> None:
        """Redraw with the given counts, and ``note`` (columns folded into it) at the end.

        States other than Established and Listen appear only when some connection is in them,
        so the line fits 80 columns.
        """
        total_main, total_other = _split(all_counts)
        shown_main, shown_other = _split(filtered)
        text = Text()
        labels = [fmt.state_name(s) for s in SHOWN] + ["others"]
        for i, (label, total, shown) in enumerate(
            zip(labels, [*total_main, total_other], [*shown_main, shown_other], strict=True)
        ):
            if i >= ALWAYS and not total:
                continue
            if text:
                text.append("  ")
            text.append(f"{label} ", style="dim")
            text.append(f"{shown}/{total}" if filtering else str(total), style="bold")
        if note:
            text.append("  │ ", style="dim")
            text.append(note, style="italic")
        if text == self._shown:
            return  # the same line: no render of it again (most ticks at a steady count)
        self._shown = text
        # A relayout costs a frame; only the line count (wrapping at 80 columns) needs one.
        relayout = len(text.plain) != self._length
        self._length = len(text.plain)
        self.update(text, layout=relayout)
