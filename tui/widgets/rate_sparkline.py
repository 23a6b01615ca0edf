"""A Textual ``Sparkline`` that shows gaps: a reset or an unreported sample is a hole, not a dip.

Why: core's counter history marks a reset (or a sample without a value) with ``None``. Textual's
sparkline plots numbers only; filling the hole with 0 would draw a plausible-looking dip and hide
the event the user most needs to see. This subclass keeps the widget's ``data`` reactive and its
colour component classes, and draws ``None`` as a gap glyph. It owns no history: the screen shows
core's ``CounterRow.history`` every sample (:meth:`RateSparkline.show`).

Unlike Textual's renderable, bars are scaled from zero, so a flat non-zero rate is drawn high
and a flat zero low. Layout: one time axis, newest on the right, a column a power of two of
samples, the fewest that fit the samples seen so far (``max`` per column, on fixed sample
numbers so the picture does not jitter as the window slides): a new session draws a sample
a column, and every row of one screen draws the same time spans in the same columns. A
column holding a gap shows its peak in the gap colour (the gap glyph when the peak is the
lowest bar), so neither a reset nor the burst just before it disappears by downsampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, NamedTuple

from rich.color import Color as RichColor
from rich.color import blend_rgb
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult as WidgetRenderResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.strip import Strip
from textual.widgets import Sparkline

from tui.widgets.line_static import drawn_lines, refresh_lines

GAP = "╎"
"""Drawn where a sample has no value (reset, not reported, provider down)."""
BARS = "▁▂▃▄▅▆▇█"

Sample = float | None


class Column(NamedTuple):
    """One drawn column: the highest value of its samples, and whether one of them was a gap."""

    peak: Sample
    """None only when the column has no value at all (drawn as :data:`GAP`)."""
    gapped: bool
    """A sample of the column had no value (a reset, a missed sample): its bar is drawn in the
    gap colour, so the restart still shows while the burst before it keeps its height."""


def span(seen: int, width: int) -> int:
    """Samples a column holds: the smallest power of two that fits ``seen`` samples in
    ``width`` columns (at least 1).

    Why a power of two of the samples seen, not a full history's worth: at 80 columns a
    column was 24 samples of the default 10 minutes, so a new session drew one cell for
    ~24 s and a burst of the last 10 s was one cell; now a new session draws a sample a
    column, and the span doubles as the history outgrows the width (a column of the old span
    becomes half of a new one: its samples are never split)."""
    size = 1
    while size * width < seen:
        size *= 2
    return size


def bucket(samples: Sequence[Sample], width: int, end: int = 0, capacity: int = 0) -> list[Column]:
    """``samples`` fitted to ``width`` columns on one time axis: the newest on the right,
    :func:`span` samples a column (max per column) for the samples seen so far.

    ``end``: the sample number of the newest sample (0: not known, the window's own length is
    used); ``capacity``: how many samples a full history holds (0: not known, the window's
    length). The samples seen are ``min(end, capacity)``: the provider's count, the same for
    every row of one sampler at one moment (a row's own history may be shorter), so every row
    draws the same time spans in the same columns; a span from each row's window had a
    total (whose first sample has no rate) halve its picture a sample after a gauge.
    Columns hold fixed sample numbers (``(n - 1) // span``, multiples of the span): between
    doublings a sample keeps its column as the window slides, which moves the picture a
    whole column or not at all. A column shows the peak of the values it has (a spike just
    before a restart is what the user is looking for); it is a gap only when it has no
    value. Returns one entry per drawn column, the newest last (possibly fewer than
    ``width``: the left is then blank); samples before the first value are "no data yet" (a
    total's first sample has no rate): blank, not a gap.
    """
    if width <= 0 or not samples:
        return []
    end = max(end, len(samples))
    size = span(min(end, capacity or len(samples)), width)
    first = end - len(samples) + 1  # the oldest sample's number (1 = the sampler's first)
    newest = (end - 1) // size
    oldest = newest - width + 1  # a column further left, partly slid out, is not drawn
    lead = next((i for i, v in enumerate(samples) if v is not None), len(samples))
    groups: dict[int, list[Sample]] = {}
    for offset in range(lead, len(samples)):
        number = (first + offset - 1) // size
        if number >= oldest:
            groups.setdefault(number, []).append(samples[offset])
    out: list[Column] = []
    for number in range(min(groups, default=newest + 1), newest + 1):
        part = groups.get(number, [None])
        values = [v for v in part if v is not None]
        out.append(Column(max(values, default=None), len(values) < len(part)))
    return out


class GapSparklineRenderable:
    """Rich renderable of :func:`bucket`'s columns, scaled over the visible numbers."""

    def __init__(
        self,
        columns: Sequence[Column],
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
        self._bar_styles: dict[RichColor, Style] = {}

    def _bar_style(self, color: RichColor) -> Style:
        """One Style per colour drawn (bars of one height share it, and merge into one run)."""
        style = self._bar_styles.get(color)
        if style is None:
            style = self._bar_styles[color] = Style.from_color(color)
        return style

    def _cell(self, column: Column, low: float, extent: float, row: int) -> Segment:
        value = column.peak
        if value is None:
            return Segment(GAP, self.gap_style)
        ratio = (value - low) / extent
        index = int(ratio * (len(BARS) * self.height - 1))
        if column.gapped and index == 0:
            # A reset in a quiet stretch: the lowest bar would hide it, the gap glyph says it.
            return Segment(GAP, self.gap_style)
        row_low, row_high = row * len(BARS), (row + 1) * len(BARS)
        if index < row_low:
            return Segment(" ")
        glyph = "█" if index >= row_high else BARS[index % len(BARS)]
        if column.gapped:  # the peak's height in the gap colour: burst and reset both shown
            return Segment(glyph, self.gap_style)
        return Segment(glyph, self._bar_style(_blend(self.min_color, self.max_color, ratio)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Rows top to bottom; blank padding on the left when the history is short."""
        numbers = [c.peak for c in self.columns if c.peak is not None]
        # Anchored at zero: a steady 3/s must not look like a steady 0/s (rates and levels are
        # never negative; core never emits a negative rate).
        low = min(0.0, min(numbers, default=0.0))
        extent = (max(numbers, default=0.0) - low) or 1.0
        pad = max(0, self.width - len(self.columns))
        for row in reversed(range(self.height)):
            cells = [self._cell(value, low, extent, row) for value in self.columns]
            yield from Segment.simplify([Segment(" " * pad), *cells] if pad else cells)
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
    end: reactive[int] = reactive(0, layout=False)
    """The sample number of the newest sample (``ProviderView.sample_no``; 0: not known): fixes
    the bucket edges. Set before ``history``."""
    capacity: reactive[int] = reactive(0, layout=False)
    """Samples a full history holds (``ProviderView.history_len``; 0: not known): caps the
    samples seen, which set the samples a column (:func:`span`). Set before ``history``."""
    _drawn: tuple[Size, list[Strip]] | None = None
    """The size shown at and the lines last shown by :meth:`show`."""

    def show(self, history: tuple[Sample, ...], end: int = 0, capacity: int = 0) -> None:
        """Plot ``history`` whose newest sample is number ``end``, of a history that holds
        ``capacity`` samples when full (see :func:`bucket`). Why not set
        :attr:`history`: that redraws the line every sample, and an idle counter's (a flat
        history that fills the cells) is drawn alike each time (~0.7 KB/s for the IPsec
        screen at 80x24)."""
        self.set_reactive(RateSparkline.end, end)
        self.set_reactive(RateSparkline.capacity, capacity)
        self.set_reactive(RateSparkline.history, history)
        lines = drawn_lines(self, self.render(), self.size.width)
        self._drawn = refresh_lines(self, self._drawn, lines)

    def render(self) -> WidgetRenderResult:
        """Draw the history (the inherited ``data`` is ignored in favour of ``history``)."""
        _, base = self.background_colors
        min_color = base + self.get_component_styles("sparkline--min-color").color
        max_color = base + self.get_component_styles("sparkline--max-color").color
        gap_color = base + self.get_component_styles("sparkline--gap").color
        width = self.size.width
        return GapSparklineRenderable(
            bucket(self.history, width, self.end, self.capacity),
            width=width,
            height=self.size.height,
            min_color=min_color.rich_color,
            max_color=max_color.rich_color,
            gap_style=Style.from_color(gap_color.rich_color),
        )


class MergedRuns:
    """``renderable`` with neighbouring Segments of one style joined.

    Why: the terminal gets a colour code and a reset per Segment; Textual's sparkline yields
    one per cell (about 1.9 KB for an 80-cell line of the detail pane, redrawn each sample)."""

    def __init__(self, renderable: RenderableType) -> None:
        """Wrap ``renderable``."""
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The wrapped renderable's Segments, runs of one style joined."""
        yield from Segment.simplify(console.render(self.renderable, options))


def stretched(data: Sequence[float], width: int) -> list[Column]:
    """``data`` over ``width`` cells as Textual's sparkline lays it out: a short history
    stretched across them, a long one bucketed (max per bucket)."""
    if width <= 0 or not data:
        return []
    buckets = [b for b in SparklineRenderable._buckets(list(data), num_buckets=width) if b]
    step = len(buckets) / width
    return [Column(max(buckets[int(i * step)]), False) for i in range(width)]


class MergedSparkline(Sparkline):
    """Textual's sparkline laid out alike but drawn from zero, in fewer Segments (see
    :class:`MergedRuns`), and redrawn by :meth:`show` only where its lines change.

    Why from zero: Textual's draws between the data's own minimum and maximum, so a steady
    rate's lowest sample (a few percent under the rest) was drawn as the lowest bar, a drop
    to nearly nothing that never happened."""

    _drawn: tuple[Size, list[Strip]] | None = None
    """The size shown at and the lines last shown."""

    def render(self) -> WidgetRenderResult:
        """The history scaled from zero (see :class:`GapSparklineRenderable`), runs joined."""
        _, base = self.background_colors
        min_color = base + self.get_component_styles("sparkline--min-color").color
        max_color = base + self.get_component_styles("sparkline--max-color").color
        width = self.size.width
        return MergedRuns(
            GapSparklineRenderable(
                stretched(self.data or [], width),
                width=width,
                height=self.size.height,
                min_color=min_color.rich_color,
                max_color=max_color.rich_color,
                gap_style=Style(),  # never drawn: a rate history has no gaps
            )
        )

    def show(self, data: Sequence[float]) -> None:
        """Plot ``data``. Why not set :attr:`data`: that redraws every line, and a flat
        history (an idle connection's) draws the same lines every sample."""
        self.set_reactive(Sparkline.data, list(data))
        lines = drawn_lines(self, self.render(), self.size.width)
        self._drawn = refresh_lines(self, self._drawn, lines)


def _blend(low: RichColor, high: RichColor, ratio: float) -> RichColor:
    """The colour ``ratio`` of the way from ``low`` to ``high`` (``high`` without RGB)."""
    if low.triplet is None or high.triplet is None:
        return high
    return RichColor.from_triplet(blend_rgb(low.triplet, high.triplet, ratio))
