"""What one IPsec counter means and where its value comes from: the counter's detail pane.

Why: a Linux number under a Windows name is only honest with its provenance next to it. The pane
shows the seed's description, the kind, this provider's grade and reason, the value, current and
peak rate, the window of a total, a taller sparkline of core's history, and the source expression
and grade of every provider (from ``core.ipsec.counters``), so the user can compare them.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from core.ipsec import COUNTERS, PROVIDERS, CounterRow, Kind, source_for
from tui import format as tfmt
from tui.ipsec import format as fmt
from tui.key_scroll import VerticalKeyScroll
from tui.widgets.folded_text import FoldedText
from tui.widgets.line_static import LineStatic
from tui.widgets.rate_sparkline import GAP, RateSparkline


def summary_text(row: CounterRow, stale: str | None = None, *, said: str | None = None) -> Text:
    """Value, rate and peak lines of ``row`` (literal text); ``stale``: why it is not live;
    ``said``: the reason the grade line above gave already (not said twice)."""
    text = Text()
    text.append("Value  ", style="bold")
    text.append(fmt.value_cell(row), style="dim" if stale else "")
    if row.kind is Kind.TOTAL:
        text.append("    Rate  ", style="bold")
        text.append(fmt.rate_cell(row, live=stale is None))
        text.append("    Peak rate  ", style="bold")
        text.append(fmt.counter_rate(row.peak_rate) if row.peak_rate is not None else fmt.MISSING)
    if row.scope:
        text.append(f"\nCounted {row.scope}")
    if row.lower_bound:
        text.append("\n")
        text.append(row.lower_bound, style="bold yellow")
    if row.reason and row.reason != said:  # (it may quote what the daemon sent)
        text.append("\n")
        text.append(tfmt.safe(row.reason), style="italic")
    if stale:
        text.append("\n")
        text.append(f"Not live: {tfmt.safe(stale)}", style="bold italic")
    return text


def graded_reason(row: CounterRow, version: str | None) -> str | None:
    """Why this provider's source has ``row``'s grade, from core's table; None for a provider
    outside it (the demo host carries its provenance in ``row.source`` only) or a grade the
    table does not give (the provider lowered it)."""
    if row.provider not in PROVIDERS:
        return None
    spec = source_for(row.name, row.provider, version)
    return spec.reason if spec.grade is row.grade else None


def grade_text(row: CounterRow, version: str | None) -> Text:
    """Kind, ``grade close (kernel): <why>`` and the source expression used, for this provider."""
    text = Text()
    text.append(f"{row.kind.value}", style="bold")
    text.append("  ·  grade ")
    text.append(row.grade.value, style=f"bold {_GRADE_STYLE[row.grade.value]}")
    text.append(f" ({row.provider})")
    reason = graded_reason(row, version)
    if reason is not None:
        text.append(f": {reason}")
    text.append("\nSource  ", style="bold")
    text.append(tfmt.safe(row.source))
    return text


_GRADE_STYLE = {"exact": "green", "close": "cyan", "approx": "yellow", "none": "red"}


def sources_table(
    counter: str, provider: str, versions: Mapping[str, str | None], *, said: str | None = None
) -> Table:
    """Every provider's source expression, grade and reason for ``counter``; ``said``: the
    marked provider's reason when the grade line above gave it already (not said twice)."""
    table = Table(box=None, show_header=True, expand=True, padding=(0, 1), header_style="bold")
    table.add_column("Provider", no_wrap=True)
    table.add_column("Grade", no_wrap=True)
    table.add_column("Source and reason", ratio=1)
    for name in PROVIDERS:
        spec = source_for(counter, name, versions.get(name))
        body = Text(spec.expression)
        if not (name == provider and spec.reason == said):
            body.append("\n")
            body.append(spec.reason, style="italic")
        if spec.scope:
            body.append(f" ({spec.scope})", style="italic")
        mark = "▸ " if name == provider else "  "
        table.add_row(
            Text(mark + name, style="bold" if name == provider else ""),
            Text(spec.grade.value, style=_GRADE_STYLE[spec.grade.value]),
            FoldedText(body),  # an expression is one long word: Rich would cut it with …
        )
    return table


def trend_caption(row: CounterRow) -> Text:
    """What the sparkline below plots, over how many samples, and what a gap means."""
    what = "rate per second" if row.kind is Kind.TOTAL else "value"
    samples = len(row.history)
    text = Text(
        f"History: {what}, last {samples} sample{'s' if samples != 1 else ''}, oldest left; "
    )
    text.append(GAP, style="bold")
    # A bar in the gap colour: a bucket's peak with a reset among its samples (see bucket()).
    text.append(" or a bar in its colour = reset or no value")
    return text


class CounterDetail(VerticalKeyScroll):
    """The detail of one counter of one provider; :meth:`show` refreshes it every sample."""

    def __init__(self, provider: str, counter: str, *, id: str | None = None) -> None:
        """A pane for ``counter`` (WMI name) as ``provider`` reports it."""
        super().__init__(id=id, classes="counter-detail")
        self.provider = provider
        self.counter = counter
        self.row: CounterRow | None = None
        self.stale: str | None = None
        self._end = 0
        """The sample number shown last."""

    def compose(self) -> ComposeResult:
        """Title, description, grade, numbers, trend, sources."""
        spec = COUNTERS[self.counter]
        yield Static(Text(f"{self.counter} — {self.provider}"), classes="detail-title")
        yield Static(Text(spec.description), classes="detail-description")
        if spec.note:  # the class document's text is wrong here: said beside it
            yield Static(Text(spec.note, style="italic"), classes="detail-description")
        # Redrawn each sample, where an idle counter's lines stay as they were: the lines
        # that changed are written, not all of them (see LineStatic).
        yield LineStatic("", classes="detail-grade")
        yield LineStatic("", classes="detail-summary")
        yield LineStatic("", classes="detail-trend-caption")
        yield RateSparkline(classes="detail-trend")
        yield LineStatic("", classes="detail-sources")

    def show(
        self,
        row: CounterRow,
        versions: Mapping[str, str | None],
        stale: str | None = None,
        sample_no: int = 0,
        history_len: int = 0,
    ) -> None:
        """Show the latest ``row``; ``versions`` grades each provider (strongSwan by version);
        ``stale``: why the row is the last one received, not a live one; ``sample_no``: the
        sample number of its newest history entry, ``history_len``: the samples a full
        history holds (they fix the sparkline's columns)."""
        # The sample number too: a full history of one value is the same row a sample later,
        # yet its sparkline's columns slide (see :func:`bucket`).
        if (row, stale, sample_no) == (self.row, self.stale, self._end):
            return
        self.row, self.stale, self._end = row, stale, sample_no
        version = versions.get(row.provider)
        said = graded_reason(row, version) if row.value is None else None
        self.query_one(".detail-grade", LineStatic).show(grade_text(row, version))
        self.query_one(".detail-summary", LineStatic).show(summary_text(row, stale, said=said))
        # A counter never reported has no history: no caption and empty lines for it.
        has_history = any(value is not None for value in row.history)
        caption = self.query_one(".detail-trend-caption", LineStatic)
        caption.show(trend_caption(row))
        caption.display = has_history
        sparkline = self.query_one(RateSparkline)
        sparkline.show(row.history, sample_no, history_len)
        sparkline.display = has_history
        table = sources_table(self.counter, self.provider, versions, said=said)
        self.query_one(".detail-sources", LineStatic).show(
            Group(Text("Sources", style="bold"), table)
        )
