"""The connections screen: header, error banner, filter line, state counts, table, detail pane.

It watches the App's ``snapshot`` reactive (state flows down) and owns the view state: sort,
filter, grouping and the detail pane. Preferences changes go up to the App, which saves them.
At 80x24 the detail pane takes over the screen; from 140 columns it sits beside the table.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.connections.query import SORT_COLUMNS, QueryError, parse_query
from core.connections.snapshot import Snapshot
from tui import format as fmt
from tui.connections.conn_table import ConnTable
from tui.connections.detail import DetailPane
from tui.connections.state_bar import StateBar
from tui.replay.controls import ReplayBar
from tui.shell import shell_of
from tui.widgets.filter_bar import FilterBar
from tui.widgets.header import HeaderBar

WIDE = 140
"""From this many columns the detail pane sits beside the table."""


class ConnectionsScreen(Screen[None]):
    """The live connection table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter (state:, port:, …)"),
        Binding("enter", "toggle_detail", "Detail", id="detail", tooltip="Open/close detail"),
        Binding("s", "next_sort", "Sort", id="sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", id="reverse", tooltip="Reverse the sort"),
        Binding(
            "g", "toggle_group", "Group", id="group", tooltip="Group by process, then by container"
        ),
        Binding("escape", "escape", "Back", id="escape", show=False),
        Binding("ctrl+d", "scroll_detail(1)", "Detail down", id="detail-down", show=False),
        Binding("ctrl+u", "scroll_detail(-1)", "Detail up", id="detail-up", show=False),
    ]

    def __init__(self) -> None:
        """Built by the App's screen registry."""
        super().__init__(id="connections")
        self.detail_open = False
        self._tcp_info_for: str | None = None
        self._snapshot: Snapshot | None = None

    def compose(self) -> ComposeResult:
        """The screen's widgets, top to bottom."""
        prefs = shell_of(self).prefs
        yield HeaderBar(id="header")
        replay = shell_of(self).replay
        if replay is not None:
            yield ReplayBar(replay.feed, replay.marks, id="replay-bar")
        yield Static(id="banner")
        yield FilterBar(id="filter-bar")
        yield StateBar(id="state-bar")
        with Horizontal(id="body"):
            yield ConnTable(
                id="table",
                ghost_ttl_s=shell_of(self).ghost_ttl_s,
                hidden=frozenset(prefs.hidden_columns),
            )
            yield DetailPane(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        """Apply saved view preferences, then follow the App's snapshots."""
        table = self.table
        prefs = shell_of(self).prefs
        table.set_sort(prefs.sort_column, prefs.sort_reverse)
        if prefs.filter:
            self._apply_filter(prefs.filter, save=False)
        self.set_class(self.size.width >= WIDE, "-wide")
        self.watch(self.app, "snapshot", self._on_snapshot, init=True)
        table.focus()

    @property
    def table(self) -> ConnTable:
        """The connection table."""
        return self.query_one("#table", ConnTable)

    def on_resize(self) -> None:
        """Switch between side-by-side and take-over detail layouts."""
        self.set_class(self.size.width >= WIDE, "-wide")

    # --- data -------------------------------------------------------------------------
    def _on_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        self._snapshot = snap
        self.table.update_snapshot(snap)
        self._show_counts()
        self._show_banner(snap)
        if self.detail_open:
            self._show_detail()

    def _show_counts(self) -> None:
        index = self.table.index
        self.query_one(StateBar).show(
            index.counts_all, index.counts_filtered, not index.query.empty
        )

    def _show_banner(self, snap: Snapshot) -> None:
        banner = self.query_one("#banner", Static)
        error = snap.error
        if error is None:
            banner.display = False
            return
        text = Text()
        text.append(f" sampler error ({error.kind.value}): ", style="bold")
        text.append(fmt.safe(error.message))
        text.append(f" — since {fmt.clock(error.since)}")
        if snap.stale:
            text.append("; showing the last good sample", style="italic")
        banner.update(text)
        banner.display = True

    # --- actions ----------------------------------------------------------------------
    def action_filter(self) -> None:
        """Open the filter input."""
        self.query_one(FilterBar).edit(self.table.index.query.text)

    @on(FilterBar.Submitted)
    def _filter_submitted(self, event: FilterBar.Submitted) -> None:
        if self._apply_filter(event.text, save=True):
            self.query_one(FilterBar).close()
            self.table.focus()

    def _apply_filter(self, text: str, *, save: bool) -> bool:
        bar = self.query_one(FilterBar)
        try:
            query = parse_query(text)
        except QueryError as exc:
            bar.show_active(self.table.index.query.text, str(exc))
            self.notify(str(exc), title="Filter not applied", severity="warning")
            return False
        self.table.set_query(query)
        bar.show_active(query.text)
        self._show_counts()
        if save:
            shell_of(self).update_prefs(filter=query.text)
        return True

    def action_escape(self) -> None:
        """Close the filter input or the detail pane, else clear the filter."""
        bar = self.query_one(FilterBar)
        if bar.editing:
            bar.close()
            self._apply_filter("", save=True)
            self.table.focus()
        elif self.detail_open:
            self.action_toggle_detail()
        elif not self.table.index.query.empty:
            self._apply_filter("", save=True)

    def action_scroll_detail(self, pages: int) -> None:
        """Page the open detail pane without leaving the table (side by side, keyboard only)."""
        if not self.detail_open:
            return
        detail = self.query_one(DetailPane)
        if pages > 0:
            detail.scroll_page_down(animate=False)
        else:
            detail.scroll_page_up(animate=False)

    def action_toggle_detail(self) -> None:
        """Open or close the detail pane (Enter on a group row expands it instead)."""
        table = self.table
        if not self.detail_open and table.cursor_group is not None:
            table.toggle_group()
            return
        self.detail_open = not self.detail_open
        self.set_class(self.detail_open, "-detail-open")
        if self.detail_open:
            self._show_detail()
            if not self.has_class("-wide"):
                # The pane has taken over the screen: its keys scroll it.
                self.call_after_refresh(self.query_one(DetailPane).focus)
        else:
            self._watch_tcp_info(None)
            table.focus()
            table.move_cursor_to(table.cursor_id or "")

    def _show_detail(self) -> None:
        table = self.table
        snap = self._snapshot
        if snap is None:
            return
        conn = table.cursor_connection
        proc = table.index.proc(conn) if conn is not None else None
        ghost = conn is not None and conn.instance_id in table.index.ghosts
        self._watch_tcp_info(conn.instance_id if conn is not None and not ghost else None)
        self.query_one(DetailPane).show(conn, snap, proc, ghost)

    def _watch_tcp_info(self, instance_id: str | None) -> None:
        """Ask the feed for tcp_info of the connection the pane shows, when that changes."""
        if instance_id != self._tcp_info_for:
            self._tcp_info_for = instance_id
            shell_of(self).show_tcp_info_for([instance_id] if instance_id is not None else [])

    @on(ConnTable.CursorMoved)
    def _cursor_moved(self) -> None:
        if self.detail_open:
            self._show_detail()

    def action_next_sort(self) -> None:
        """Sort by the next column, ascending."""
        index = self.table.index
        column = SORT_COLUMNS[(SORT_COLUMNS.index(index.sort_column) + 1) % len(SORT_COLUMNS)]
        self._sort(column, False)

    def action_reverse_sort(self) -> None:
        """Reverse the sort direction."""
        index = self.table.index
        self._sort(index.sort_column, not index.reverse)

    def _sort(self, column: str, reverse: bool) -> None:
        # The header's ▲/▼ on the sorted column is the feedback (a toast costs a frame at 50k).
        self.table.set_sort(column, reverse)
        shell_of(self).update_prefs(sort_column=column, sort_reverse=reverse)

    def action_toggle_group(self) -> None:
        """Cycle: no groups → by process → by container (when namespaces are shown) → none."""
        table = self.table
        if not table.grouped:
            table.set_grouped(True, "process")
        elif table.group_by == "process" and table.many_namespaces:
            table.set_grouped(True, "container")
        else:
            table.set_grouped(False)

    def toggle_column(self, key: str) -> None:
        """Show or hide one column (saved in the preferences)."""
        hidden = set(self.table.hidden) ^ {key}
        self.table.set_hidden(frozenset(hidden))
        shell_of(self).update_prefs(hidden_columns=tuple(sorted(hidden)))
