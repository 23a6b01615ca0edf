"""The 21 MSiSCSI_MMIPSECStats counters of every provider, one focusable row each.

Why rows of widgets rather than a DataTable: every row carries a live ``Sparkline`` (a widget),
and there are at most 3 × 21 rows, so a ``VerticalScroll`` of small row widgets stays cheap. Each
row compares the new ``CounterRow`` with the last one and touches only the cells that changed;
the sparkline gets core's history (it keeps none of its own). A provider section starts with a
header line (InstanceName, Active, version, error) so a failing provider says why on screen.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Label, Static

from core.ipsec import (
    COUNTER_NAMES,
    CounterRow,
    ProviderView,
    counters_unreachable,
    daemons_first,
    is_provider_name,
)
from core.textsafe import printable
from tui.ipsec import format as fmt
from tui.shell import shell_of
from tui.widgets.rate_sparkline import RateSparkline


class CounterRowView(Horizontal, can_focus=True):
    """One counter of one provider: name, value, rate, trend (or reason), kind, provider, grade.

    Provider and grade form the badge; below 100 columns the screen hides the provider part
    (the section header above names it) and the kind (the rate cell says ``/s`` or ``now``).
    """

    def __init__(self, provider: str, counter: str, key: str) -> None:
        """An empty row for ``counter`` (one of the 21) of ``provider`` (filled by
        :meth:`show`); ``key``: the provider's part of widget ids (see :func:`widget_key`)."""
        super().__init__(id=f"row-{key}-{counter}", classes="counter-row")
        self.provider = provider
        self.counter = counter
        self.row: CounterRow | None = None
        self._cells: dict[str, str] = {}
        # Cells are kept by name: a DOM query per cell per sample would dominate the cost.
        # markup=False: reasons carry provider error text such as "[Errno 104] …".
        self._labels = {
            cls: Label(text, classes=f"cell-{cls}", markup=False)
            for cls, text in (
                ("name", counter),
                ("value", fmt.MISSING),
                ("rate", fmt.MISSING),
                ("reason", ""),
                ("kind", ""),
                ("provider", printable(provider)),
                ("grade", ""),
            )
        }
        self.sparkline = RateSparkline(classes="cell-trend")

    def compose(self) -> ComposeResult:
        """The cells, left to right."""
        labels = self._labels
        yield from (labels["name"], labels["value"], labels["rate"])
        yield self.sparkline
        yield from (labels["reason"], labels["kind"], labels["provider"], labels["grade"])

    def _set(self, cls: str, text: str) -> None:
        if self._cells.get(cls) != text:
            self._cells[cls] = text
            # Every cell has a fixed size (ipsec.tcss), so new text never needs a re-layout.
            self._labels[cls].update(text, layout=False)

    def show(
        self, row: CounterRow, *, stale: bool = False, sample_no: int = 0, history_len: int = 0
    ) -> None:
        """Show ``row``, updating only what changed since the last call; ``stale``: the last
        value received while the link to the server is down (dimmed, no rate); ``sample_no``:
        the sample number of the row's newest history entry, ``history_len``: the samples a
        full history holds (they fix the sparkline's columns, the same for every row)."""
        old, self.row = self.row, row
        self._set("value", fmt.value_cell(row, fmt.VALUE_CELLS))
        self._set("rate", fmt.rate_cell(row, live=not stale, width=fmt.RATE_CELLS))
        self.set_class(stale, "-stale")
        self._set("kind", row.kind.value)
        self._set("grade", row.grade.value)
        self._set("reason", printable(fmt.short_reason(row.reason)))
        reported = row.value is not None
        self.set_class(not reported, "-not-reported")
        self.set_class(reported and row.reset, "-reset")
        if old is None or old.grade is not row.grade:
            badge = self._labels["grade"]
            for cls in fmt.GRADE_CLASS.values():
                badge.remove_class(cls)
            badge.add_class(fmt.GRADE_CLASS[row.grade])
        # A full history of one value is the same tuple a sample later, yet its columns
        # slide (the sample numbers they hold are fixed): a new sample number redraws too.
        if old is None or old.history != row.history or self.sparkline.end != sample_no:
            self.sparkline.show(row.history, sample_no, history_len)


class ProviderSection(Vertical):
    """A provider's header line and its 21 counter rows."""

    def __init__(self, view: ProviderView, key: str, stale: str | None = None) -> None:
        """A section for ``view``'s provider, showing ``view`` once mounted; ``key``: its
        part of widget ids (see :func:`widget_key`)."""
        super().__init__(id=f"section-{key}", classes="provider-section")
        self.provider = view.name
        self._header = ""
        self._first: ProviderView | None = view
        self._first_stale = stale
        self.header = Static("", classes="provider-header", markup=False)
        self.rows = {name: CounterRowView(view.name, name, key) for name in COUNTER_NAMES}
        """The 21 rows by WMI counter name."""
        self.absent = False
        """True while the provider's daemon is not running (the rows are hidden)."""
        self.filter_text = ""

    def shown_by_filter(self, row: CounterRowView) -> bool:
        """True when ``row``'s counter name contains the table's filter text."""
        return self.filter_text.strip().lower() in row.counter.lower()

    def on_mount(self) -> None:
        """Fill the rows with the newest sample given before the mount."""
        first, self._first = self._first, None
        if first is not None:
            self.show(first, self._first_stale)

    def compose(self) -> ComposeResult:
        """Header, then one row per counter in seed order."""
        yield self.header
        yield from self.rows.values()

    def show(self, view: ProviderView, stale: str | None = None) -> None:
        """Show one provider's sample; ``stale``: why it is the last one received, not live.

        Before the mount it is kept for :meth:`on_mount` (the header's "not live", shown right
        after the section was made, was overwritten by the live showing of the first view)."""
        if self._first is not None:
            self._first, self._first_stale = view, stale
            return
        header = provider_header(view, stale, shell_of(self).tcpscope_words)
        if header != self._header:
            self._header = header
            self.header.update(header)
        self.set_class(view.error is not None or not view.available, "-failed")
        absent = counters_unreachable(view)
        if absent != self.absent:
            # One banner instead of 21 rows that each say the daemon is not running.
            self.absent = absent
            self.set_class(absent, "-absent")
            for row_view in self.rows.values():
                row_view.display = not absent and self.shown_by_filter(row_view)
        self.set_class(stale is not None, "-stale")
        for row in view.rows:
            counter = self.rows.get(row.name)
            if counter is not None:  # one of the 21 (the decoder refuses others)
                counter.show(
                    row,
                    stale=stale is not None,
                    sample_no=view.sample_no,
                    history_len=view.history_len,
                )


def widget_key(name: str, index: int) -> str:
    """The provider's part of its widgets' ids: its name when that is a provider name
    (``#section-kernel``), else ``_`` and its place, which no provider name can be. Why: a
    name from a recording or a remote agent is anyone's text, and an id that is not an
    identifier stopped the app (BadIdentifier); the decoder refuses such names, this keeps
    the screen safe should one get past it."""
    return name if is_provider_name(name) else f"_{index}"


def provider_header(
    view: ProviderView, stale: str | None = None, tcpscope: str = "tcpscope"
) -> str:
    """``kernel  InstanceName=kernel:…  Active=True  6.1.0`` plus the error, when any;
    ``stale``: the values are the last received (Active is then not known now); ``tcpscope``:
    how to run tcpscope for the host shown (its hints)."""
    if counters_unreachable(view):
        return fmt.absent_banner(view, tcpscope)
    parts = [
        printable(view.name),
        f"InstanceName={printable(view.stats.instance_name)}",
        "Active=— (not live)" if stale else f"Active={view.stats.active}",
    ]
    if view.version:
        parts.append(printable(view.version))
    if view.reset:
        parts.append(fmt.RESET)
    line = "  ".join(parts)
    if stale:
        line += f"\n◌ not live: {printable(stale)}"
    elif view.error is not None:
        line += f"\n✗ {printable(view.error)}"
    elif not view.available:
        line += "\n✗ not available on this host"
    elif view.slow_s is not None:
        # Its figures are its last answer's, up to a sample old: say why they lag.
        line += f"\n◷ slow: answers in ~{view.slow_s:.1f} s"
    return line


class CounterTable(VerticalScroll):
    """All providers' counter rows; up/down move between rows, ``/`` filters by name.

    Page and Home/End keys move the cursor (the focused row) as well as the view, as in the
    connections table: the screen names the cursor row's provider, so the cursor must never be
    left behind, off screen, by a scroll."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("end", "move(1000)", "Last", show=False),
        Binding("home", "move(-1000)", "First", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        """An empty table; sections appear as providers do."""
        super().__init__(id=id)
        self.filter_text = ""
        self._sections: dict[str, ProviderSection] = {}

    def show(self, providers: tuple[ProviderView, ...], stale: str | None = None) -> None:
        """Show a sample: add a section for a provider seen the first time, update the rest;
        ``stale``: why the sample is the last one received, not a live one.

        The IKE daemons' sections come before the kernel's: the class counts IKE main-mode
        work, which the daemon sees and the kernel mostly does not, and at 80x24 one
        provider's rows fill the screen (the kernel's came first, the daemon's below the fold).
        """
        cursor = self.screen.focused
        absent = [section.absent for section in self._sections.values()]
        at_top = self._at_top(cursor)
        for view in daemons_first(providers):
            section = self._sections.get(view.name)
            if section is None:
                key = widget_key(view.name, len(self._sections))
                section = self._sections[view.name] = ProviderSection(view, key, stale)
                section.filter_text = self.filter_text
                self.mount(section)
                # Rows exist only after the mount; move focus from the table to the first row.
                self.call_after_refresh(self._focus_first_if_table_focused)
            else:
                section.show(view, stale)
        if isinstance(cursor, CounterRowView) and not cursor.display:
            self.focus_near(cursor)
        elif isinstance(cursor, CounterRowView) and absent != self._absent_now(len(absent)):
            if at_top:
                # The user had not moved from the top: the screen stays there, the cursor on
                # the new first row (following the old one scrolled the daemon's header away).
                self._stay_at_top()
            else:
                # A daemon's rows came back above the cursor and pushed it down, maybe off
                # screen.
                self.call_after_refresh(cursor.scroll_visible, animate=False)
        elif cursor is self:
            self.call_after_refresh(self._focus_first_if_table_focused)

    def _at_top(self, cursor: Widget | None) -> bool:
        """True when the view is at its top with the cursor on the first visible row: where
        the screen opened, or where Home put it; the user has not moved away."""
        rows = self.visible_rows()
        return self.scroll_y == 0 and bool(rows) and cursor is rows[0]

    def _stay_at_top(self) -> None:
        """The cursor on the first visible row and the view at its top (headers shown)."""
        if self.focus_first() is not None:
            self.call_after_refresh(self.scroll_home, animate=False)

    def _absent_now(self, count: int) -> list[bool]:
        """Which of the first ``count`` sections show their daemon's banner instead of rows."""
        return [section.absent for section in list(self._sections.values())[:count]]

    def focus_near(self, row: CounterRowView) -> None:
        """Focus ``row``, or while it is hidden (its daemon went away) the nearest visible row.

        Why: a hidden widget loses focus and Textual gives it to nobody, so the row keys
        (arrows, PgDn, Enter, the footer's ⏎ Detail) went dead, also after the daemon came
        back. The next rows below come first (the next section's first row), then those above;
        with none visible the table itself keeps the focus, and its first row returning takes
        the cursor back. The deferred focus yields to a widget focused meanwhile: ``/`` on the
        native page comes back here and then opens the filter input, and a row that took the
        focus back ran the typed filter text as commands (``q`` quit).
        """
        rows = self.rows()
        at = rows.index(row)
        for candidate in (*rows[at:], *reversed(rows[:at])):
            if candidate.display:
                # After the hidden rows left the layout: scrolled to where the row is then.
                self.call_after_refresh(self._focus_unless_moved, candidate, self.screen.focused)
                return
        self.focus()

    def _focus_unless_moved(self, row: CounterRowView, was: Widget | None) -> None:
        """Focus ``row`` unless a shown widget other than ``was`` has taken the focus since."""
        now = self.screen.focused
        if now is None or now is was or now is self or not now.display:
            self.move_cursor(row)

    def rows(self) -> list[CounterRowView]:
        """Every row, top to bottom."""
        return [r for section in self._sections.values() for r in section.rows.values()]

    def apply_filter(self, text: str) -> None:
        """Show only counters whose name contains ``text`` (case-insensitive)."""
        self.filter_text = text
        for section in self._sections.values():
            section.filter_text = text
            for row in section.rows.values():
                row.display = not section.absent and section.shown_by_filter(row)

    def visible_rows(self) -> list[CounterRowView]:
        """Rows currently shown, top to bottom."""
        return [r for r in self.rows() if r.display]

    def cursor_row(self) -> CounterRowView | None:
        """The row with the cursor: the focused row (None while no row has the focus)."""
        focused = self.screen.focused
        return focused if isinstance(focused, CounterRowView) else None

    def move_cursor(self, row: CounterRowView) -> None:
        """Put the cursor (the focus) on ``row`` now, before the next key is handled, and
        the view on it (:meth:`scroll_to_cursor`).

        Why not ``row.focus()``: it moves the focus only once the app gets to the queued
        request, after the keys already waiting. Keys that arrive together (a held key, a slow
        SSH link, pasted input) each started from the same row: ten Downs moved one row.
        """
        self.screen.set_focus(row, scroll_visible=False)
        self.scroll_to_cursor()
        # A row shown or hidden just now (a filter typed) has its place at the next layout.
        self.call_after_refresh(self.scroll_to_cursor)

    def scroll_to_cursor(self) -> None:
        """Bring the cursor row into view now, unanimated; centred when it was out of view
        (as Textual's focus scroll), the view left alone when it is in.

        Why not Textual's focus scroll: it is decided later, against the frame last drawn.
        Downs read while the view was on its way elsewhere (Home's animated scroll under load,
        the sample interval stretched) found their row in a frame drawn mid-way, asked for no
        scroll, and the view went on to the top without the cursor: off screen, no row
        highlighted, until the next key. Here the layout and where the view is going decide,
        and the view is there before the next key is handled."""
        row = self.cursor_row()
        if row is None or not row.display or self not in row.ancestors:
            return
        region = self._content_region(row)
        if not region:
            return  # not laid out yet: the call after the next refresh places it
        moving = self.app.animator.is_being_animated(self, "scroll_y")
        top = self.scroll_target_y if moving else self.scroll_y
        window = self.scrollable_content_region.at_offset((0, round(top)))
        if window.y <= region.y and region.bottom <= window.bottom:
            return
        centred = region.y - (window.height - region.height) // 2
        y = max(0, min(self.max_scroll_y, min(centred, region.y)))  # its top line always
        self.scroll_to(y=y, animate=False, immediate=True)

    def _content_region(self, row: CounterRowView) -> Region:
        """Where ``row`` is in the table's scrolled content, by the last layout (as Textual's
        ``scroll_to_widget`` finds it)."""
        region = row.virtual_region_with_margin
        node: Widget = row
        while isinstance(node.parent, Widget) and node.parent is not self:
            container = node.parent
            region = (
                region.translate(container.styles.margin.top_left)
                .translate(container.styles.border.spacing.top_left)
                .translate(container.virtual_region_with_margin.offset)
            )
            node = container
        return region

    def action_move(self, delta: int) -> None:
        """Move the cursor ``delta`` visible rows, stopping at the first/last one."""
        rows = self.visible_rows()
        if not rows:
            return
        cursor = self.cursor_row()
        index = rows.index(cursor) if cursor in rows else -1 if delta > 0 else len(rows)
        self.move_cursor(rows[max(0, min(len(rows) - 1, index + delta))])

    def action_page(self, direction: int) -> None:
        """Move the cursor a screenful of rows down (1) or up (-1)."""
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def _focus_first_if_table_focused(self) -> None:
        if self.has_focus:
            self.focus_first()

    def focus_first(self) -> Widget | None:
        """Focus the first visible row (used after filtering); None when none match."""
        rows = self.visible_rows()
        if rows:
            self.move_cursor(rows[0])
            return rows[0]
        return None
