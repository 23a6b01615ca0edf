"""A Textual ``Sparkline`` that shows gaps: a reset or an unreported sample is a hole, not a dip.

Why: core's counter history marks a reset (or a sample without a value) with ``None``. Textual's
sparkline plots numbers only; filling the hole with 0 would draw a plausible-looking dip and hide
the event the user most needs to see. This subclass keeps the widget's ``data`` reactive and its
colour component classes, and draws ``None`` as a gap glyph. It owns no history: the screen sets
``data`` from core's ``CounterRow.history`` every sample.

Unlike Textual's renderable, bars are scaled from zero, so a flat non-zero rate is drawn high
and a flat zero low. Layout: one sample per column, newest on the right. When there are more
samples than columns they are bucketed like Textual's renderable does (``max`` per bucket) and a
bucket holding a gap is drawn as a gap, so a reset never disappears by downsampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

from rich.color import Color as RichColor
from rich.color import blend_rgb
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult as WidgetRenderResult
from textual.reactive import reactive
from textual.widgets import Sparkline

GAP = "╎"
"""Drawn where a sample has no value (reset, not reported, provider down)."""
BARS = "▁▂▃▄▅▆▇█"

Sample = float | None


def bucket(samples: Sequence[Sample], width: int) -> list[Sample]:
    """``samples`` fitted to ``width`` columns: right-aligned, bucketed (max) when too long.

    Returns one entry per drawn column (possibly fewer than ``width``: the left is then blank).
    A bucket containing a gap is a gap; gaps before the first value are dropped (no data yet).
    """
    if width <= 0:
        return []
    # Leading gaps are "no data yet" (a total's first sample has no rate): blank, not a gap.
    first = next((i for i, v in enumerate(samples) if v is not None), len(samples))
    samples = samples[first:]
    if len(samples) <= width:
        return list(samples)
    out: list[Sample] = []
    step = Fraction(len(samples), width)
    for col in range(width):
        part = samples[int(step * col) : int(step * (col + 1))]
        if not part or any(v is None for v in part):
            out.append(None)
        else:
            out.append(max(v for v in part if v is not None))
    return out


class GapSparklineRenderable:
    """Rich renderable of :func:`bucket`'s columns, scaled over the visible numbers."""

    def __init__(
        self,
        columns: Sequence[Sample],
        *,
        width: int,
        height: int,
        min_color: RichColor,
        max_color: RichColor,
        gap_style: Style,
    ) -> None:
        """Keep the columns and styles (drawing happens in ``__rich_console__``)."""
        self.columns = columns
        self.width = width
        self.height = max(1, height)
        self.min_color = min_color
        self.max_color = max_color
        self.gap_style = gap_style

    def _cell(self, value: Sample, low: float, extent: float, row: int) -> Segment:
        if value is None:
            return Segment(GAP, self.gap_style)
        ratio = (value - low) / extent
        index = int(ratio * (len(BARS) * self.height - 1))
        row_low, row_high = row * len(BARS), (row + 1) * len(BARS)
        if index < row_low:
            return Segment(" ")
        glyph = "█" if index >= row_high else BARS[index % len(BARS)]
        color = _blend(self.min_color, self.max_color, ratio)
        return Segment(glyph, Style.from_color(color))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Rows top to bottom; blank padding on the left when the history is short."""
        numbers = [v for v in self.columns if v is not None]
        # Anchored at zero: a steady 3/s must not look like a steady 0/s (rates and levels are
        # never negative; core never emits a negative rate).
        low = min(0.0, min(numbers, default=0.0))
        extent = (max(numbers, default=0.0) - low) or 1.0
        pad = max(0, self.width - len(self.columns))
        for row in reversed(range(self.height)):
            if pad:
                yield Segment(" " * pad)
            for value in self.columns:
                yield self._cell(value, low, extent, row)
            if row:
                yield Segment.line()


class RateSparkline(Sparkline):
    """Sparkline of rates (totals) or levels (gauges) with visible gaps."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "sparkline--max-color",
        "sparkline--min-color",
        "sparkline--gap",
    }
    DEFAULT_CSS = """
    RateSparkline > .sparkline--gap {
        color: $warning;
    }
    """

    history: reactive[tuple[Sample, ...]] = reactive((), layout=False)
    """Samples oldest first; None is a gap. Set by the owner from core's history."""

    def render(self) -> WidgetRenderResult:
        """Draw the history (the inherited ``data`` is ignored in favour of ``history``)."""
        _, base = self.background_colors
        min_color = base + self.get_component_styles("sparkline--min-color").color
        max_color = base + self.get_component_styles("sparkline--max-color").color
        gap_color = base + self.get_component_styles("sparkline--gap").color
        width = self.size.width
        return GapSparklineRenderable(
            bucket(self.history, width),
            width=width,
            height=self.size.height,
            min_color=min_color.rich_color,
            max_color=max_color.rich_color,
            gap_style=Style.from_color(gap_color.rich_color),
        )


def _blend(low: RichColor, high: RichColor, ratio: float) -> RichColor:
    """The colour ``ratio`` of the way from ``low`` to ``high`` (``high`` without RGB)."""
    if low.triplet is None or high.triplet is None:
        return high
    return RichColor.from_triplet(blend_rgb(low.triplet, high.triplet, ratio))
