"""Counts of connections per State, for the whole set and for the filtered set.

The counts come from :class:`core.connections.row_index.RowIndex`, which keeps them up to date in
O(changes) per tick; this widget only formats them.
"""

from __future__ import annotations

from functools import partial
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


COMPACT_STEPS: Final = 5
"""How many ways :func:`state_line` has to shorten the line, applied in this order."""


def state_line(
    all_counts: dict[TcpState, int],
    filtered: dict[TcpState, int],
    filtering: bool,
    note: str = "",
    compact: int = 0,
) -> Text:
    """The counts, then ``note`` (columns folded into it) after a bar.

    ``compact`` > 0 applies the first ``compact`` shortenings: "all rows:" to "all:", one
    space between counts instead of two, the note without "all:", then no note (the detail
    pane still shows each row's values), and under a filter only the States it keeps, then
    how many rows of all it shows. Why: at 80 columns four counts and the note took a second
    line, a table row; the filtered counts of seven States took two.
    """
    total_main, total_other = _split(all_counts)
    shown_main, shown_other = _split(filtered)
    text = Text()
    gap = " " if compact >= 2 else "  "
    labels = [fmt.state_name(s) for s in SHOWN] + ["others"]
    for i, (label, total, shown) in enumerate(
        zip(labels, [*total_main, total_other], [*shown_main, shown_other], strict=True)
    ):
        if (i >= ALWAYS and not total) or (filtering and compact >= 5 and not shown):
            continue
        if text:
            text.append(gap)
        text.append(f"{label} ", style="dim")
        text.append(f"{shown}/{total}" if filtering else str(total), style="bold")
    if filtering and compact >= 5:
        shown_of = f"{sum(filtered.values())} of {sum(all_counts.values())} shown"
        text.append(f"{gap}│ {shown_of}" if text else shown_of, style="dim")
    if note and compact < 4:
        if compact >= 1:
            note = note.replace("all rows: ", "" if compact >= 3 else "all: ", 1)
        text.append(f"{gap}│ ", style="dim")
        text.append(note, style="italic")
    return text


class StateBar(Static):
    """``Established 12/40  Listen 3/10 …`` (filtered/all when a filter is active)."""

    DEFAULT_CSS = """
    StateBar { height: auto; }
    """

    _length = -1
    _shown: Text | None = None
    _args: tuple[dict[TcpState, int], dict[TcpState, int], bool, str] | None = None

    def show(
        self,
        all_counts: dict[TcpState, int],
        filtered: dict[TcpState, int],
        filtering: bool,
        note: str = "",
    ) -> None:
        """Redraw with the given counts, and ``note`` (columns folded into it) at the end.

        States other than Established and Listen appear only when some connection is in them.
        The line is made more compact step by step until it fits the width; only counts that
        still do not fit take a second line.
        """
        self._args = (all_counts, filtered, filtering, note)
        line = partial(state_line, all_counts, filtered, filtering, note)
        text = fmt.fitted(line, COMPACT_STEPS, self.size.width)
        if text == self._shown:
            return  # the same line: no render of it again (most ticks at a steady count)
        self._shown = text
        # A relayout costs a frame; only the line count (wrapping at 80 columns) needs one.
        relayout = len(text.plain) != self._length
        self._length = len(text.plain)
        self.update(text, layout=relayout)

    def on_resize(self) -> None:
        """A new width may need a more (or less) compact line."""
        if self._args is not None:
            self.show(*self._args)
