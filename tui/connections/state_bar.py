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


SHORT: Final = {TcpState.ESTABLISHED: "Estab", TcpState.SYN_RECEIVED: "SynRecv"}
"""Shorter labels for the last steps (the others are short already, or read badly cut)."""
FOLDABLE: Final = len(SHOWN) - 1
"""How many States can fold into "others": all but Established."""
NOTE_STEPS: Final = 4
"""The first steps: "all:", one space, the bare note, no note."""
APPLYING: Final = "applying filter…"
"""Said in the place of "N of M shown" while a new filter's rows are being made."""
COMPACT_STEPS: Final = NOTE_STEPS + 3 + FOLDABLE + 1
"""How many ways :func:`state_line` has to shorten the line, applied in this order."""


def _fold_order(totals: list[int]) -> list[int]:
    """Indexes into :data:`SHOWN` in the order they fold into "others": the smallest count
    first (a SYN flood stays in sight), Listen last, Established never."""
    rest = sorted(range(ALWAYS, len(SHOWN)), key=lambda i: (totals[i], -i))
    return [*rest, 1]


def state_line(
    all_counts: dict[TcpState, int],
    filtered: dict[TcpState, int],
    filtering: bool,
    note: str = "",
    compact: int = 0,
    applying: bool = False,
) -> Text:
    """The counts, then ``note`` (columns folded into it) after a bar.

    ``compact`` > 0 applies the first ``compact`` shortenings: "all rows:" to "all:", one
    space between counts instead of two, the note without "all:", then no note (the detail
    pane still shows each row's values); under a filter only the States it keeps, then only
    their shown counts; shorter labels; then States folded one by one into "others" (the
    smallest first); under a filter at last only "N of M shown". Under a filter "N of M
    shown" is there at every step: it is what a filtering user asks first, and when it came
    only with a shortening, whether it was there hung on how many States happened to have
    sockets (``TimeWait 0/1397`` with no total at one tick, ``13 of 21461 shown`` at the
    next). Why shortening at all: at 80 columns a busy host's seven counts took two lines (a
    table row lost).

    ``applying``: a new filter's rows are still being made (seconds on a busy host): the
    counts of all rows and "applying filter…" in the place of "N of M shown", never the
    previous filter's counts as if they were the new one's.
    """
    totals = [all_counts.get(s, 0) for s in SHOWN]
    shown = [filtered.get(s, 0) for s in SHOWN]
    labels = [fmt.state_name(s) for s in SHOWN]
    other_total = sum(all_counts.values()) - sum(totals)
    other_shown = sum(filtered.values()) - sum(shown)
    keep_only_shown = filtering and compact >= NOTE_STEPS + 1
    shown_of = filtering and compact >= NOTE_STEPS + 2
    if compact >= NOTE_STEPS + 3:
        labels = [SHORT.get(s, label) for s, label in zip(SHOWN, labels, strict=True)]
    folds = max(0, compact - (NOTE_STEPS + 3))
    folded = _fold_order(totals)[: min(folds, FOLDABLE)]
    for i in folded:
        other_total += totals[i]
        other_shown += shown[i]
    only_shown_of = (filtering or applying) and folds > FOLDABLE
    text = Text()
    gap = " " if compact >= 2 else "  "
    for i, (label, total, kept) in enumerate(
        zip([*labels, "others"], [*totals, other_total], [*shown, other_shown], strict=True)
    ):
        if (
            only_shown_of
            or i in folded
            or (i >= ALWAYS and not total)
            or (keep_only_shown and not kept)
        ):
            continue
        if text:
            text.append(gap)
        text.append(f"{label} ", style="dim")
        count = str(kept if shown_of else total) if not filtering or shown_of else f"{kept}/{total}"
        text.append(count, style="bold")
    if filtering:
        part = f"{sum(filtered.values())} of {sum(all_counts.values())} shown"
        text.append(f"{gap}│ {part}" if text else part, style="dim")
    elif applying:
        text.append(f"{gap}│ {APPLYING}" if text else APPLYING, style="dim italic")
    if note and compact < NOTE_STEPS:
        if compact >= 1:
            note = note.replace("all rows: ", "" if compact >= 3 else "all: ", 1)
        text.append(f"{gap}│ ", style="dim")
        text.append(note, style="italic")
    return text


class StateBar(Static):
    """``Established 12/40  Listen 3/10 …`` (filtered/all when a filter is active)."""

    DEFAULT_CSS = """
    StateBar { height: 1; }
    """

    _shown: Text | None = None
    _args: tuple[dict[TcpState, int], dict[TcpState, int], bool, str, bool] | None = None

    def show(
        self,
        all_counts: dict[TcpState, int],
        filtered: dict[TcpState, int],
        filtering: bool,
        note: str = "",
        applying: bool = False,
    ) -> None:
        """Redraw with the given counts, and ``note`` (columns folded into it) at the end
        (``applying``: see :func:`state_line`).

        States other than Established and Listen appear only when some connection is in them.
        The line is made more compact step by step until it fits the width: always one line
        (a second one took a table row), never cut inside a count.
        """
        self._args = (all_counts, filtered, filtering, note, applying)
        line = partial(state_line, all_counts, filtered, filtering, note, applying=applying)
        text = fmt.fitted(line, COMPACT_STEPS, self.size.width)
        text.no_wrap, text.overflow = True, "ellipsis"  # below the minimum width only
        if text == self._shown:
            return  # the same line: no render of it again (most ticks at a steady count)
        self._shown = text
        self.update(text, layout=False)  # one line whatever it says: no relayout

    def on_resize(self) -> None:
        """A new width may need a more (or less) compact line."""
        if self._args is not None:
            self.show(*self._args)
