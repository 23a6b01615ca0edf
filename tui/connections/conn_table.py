"""The connection list: a Line-API virtual table that draws only the visible rows.

Why not DataTable: measured here, DataTable needs 27.6 s to remove 1% of 50k rows. This
ScrollView renders ``render_line(y)`` from a :class:`RowIndex` (sorted, filtered, updated in
O(changes)) and caches each drawn line in an LRU keyed on everything that changes it: the
row's record objects, lifecycle class, cursor, age text, width, column set and theme.

The cursor is an InstanceID, not a position: it stays on its connection across refreshes and
re-sorts; on a ghost row until it expires; then on the neighbour at the same place.
What a line looks like (and how untrusted text stays plain text) is
:mod:`tui.connections.row_lines`; what a group row's rate is summed over, sample by sample, is
:mod:`tui.connections.group_rows`; this widget owns the rows, the cursor, scrolling and the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from core.connections import (
    PAGE_COLUMN,
    SORT_COLUMNS,
    FirstPage,
    Group,
    Query,
    RateTracker,
    ReverseDns,
    RowIndex,
    Snapshot,
    TcpConnection,
    TcpState,
    namespace_label,
)
from tui import format as fmt
from tui.connections.columns import (
    ON_SCREEN_KEYS,
    ONLY_WITH_NAMESPACES,
    Column,
    layout,
    narrowed,
)
from tui.connections.group_rows import GroupRows
from tui.connections.row_lines import RowExtra, header_line, row_line
from tui.connections.uniform import UniformColumns
from tui.prefs import DEFAULT_HIDDEN

HIGHLIGHT_S = 3.0
"""How long a new or state-changed row stays highlighted (at least one tick is ensured)."""

DRAWN_SCREENS = 4
"""Drawn lines kept for reuse, in screens of the table's height (at least DRAWN_LINES_MIN).
A row's line changes every second (its age), so older lines are rarely drawn again, and each
kept line costs about 3 KB (a Strip keeps caches of its own): 1024 of them were 2-3 MiB of
the app's memory at 50k rows (``bench/bench_memory.py --creep``)."""
DRAWN_LINES_MIN = 64

PREPARE_ABOVE_ROWS = 5000
"""From this many rows the next sort column's order is made ahead, while idle."""
BUILD_STEP_S = 0.012
BUILD_EVERY_S = 0.004
"""A new order the user waits for, or a tick's many row moves: 12 ms slices, 4 ms apart (keys
are handled in between; a key meeting a slice waits for its end, doubled when the sampler's
thread shares the interpreter lock, so slices stay short; 3/4 of the time still goes to it)."""
REPAINT_LINES = 10
REPAINT_EVERY_S = 0.016
"""A tick that changes only what the rows on screen say repaints them 10 lines a frame (about
5 ms of the UI thread each at 250k rows, not 20-30 ms at once; the last line is new 50 ms
after the first at 40 lines)."""
SLICES_ABOVE_ROWS = 100_000
"""Below this many rows a tick repaints in one frame, with the header and the state counts.
Why: each frame costs the compositor and the terminal write again; at 50k rows (where the
sampling thread holds the interpreter for ~30 ms a second, not ~0.5 s as at 250k) the four
slices were four of the five frames a second, 40% of the UI thread's CPU at 1 Hz."""
PREPARE_STEP_S = 0.006
PREPARE_EVERY_S = 0.03
"""The next column's order, made while idle: 6 ms slices, 30 ms apart (at 250k rows it takes
seconds after each re-sort, while keys are pressed: a key meeting a slice waits for its end)."""

STYLE_CACHE = 64
"""Row styles kept (a handful of lifecycle/cursor combinations per theme)."""


class ConnTable(ScrollView, can_focus=True):
    """Virtual table of connections (and, toggled, one row per owning process)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conn-table--header",
        "conn-table--sorted",
        "conn-table--cursor",
        "conn-table--new",
        "conn-table--changed",
        "conn-table--ghost",
        "conn-table--group",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
    ]

    class CursorMoved(Message):
        """The cursor is on another row (InstanceID, or ``group:<pid>``); ``by_user``: moved
        by a key or a click, not because its row left the listing (the detail pane follows
        only the user's moves)."""

        def __init__(self, row_id: str | None, by_user: bool = True) -> None:
            """Carry the row now under the cursor."""
            super().__init__()
            self.row_id = row_id
            self.by_user = by_user

    class HeaderClicked(Message):
        """The user clicked a column title (the screen sorts by it)."""

        def __init__(self, column: str) -> None:
            """Carry the column key."""
            super().__init__()
            self.column = column

    class NamesResolved(Message):
        """A reverse DNS lookup finished (posted from its thread): redraw the rows."""

    def __init__(
        self,
        *,
        ghost_ttl_s: float = 5.0,
        hidden: frozenset[str] = DEFAULT_HIDDEN,
        id: str | None = None,
    ) -> None:
        """An empty table; :meth:`update_snapshot` fills it."""
        super().__init__(id=id)
        self.index = RowIndex()
        self._rows_query: Query = self.index.query
        """The filter the rows shown obey (the index's query once its order is built)."""
        self.ghost_ttl_s = ghost_ttl_s
        self.hidden = hidden
        self.snapshot: Snapshot | None = None
        self.cursor_id: str | None = None
        self._cursor_pos = 0
        self.grouped = False
        self._expanded: set[str] = set()
        self._entries: list[str] | None = None
        self._groups: dict[str, Group] = {}
        self._tick_added: frozenset[str] = frozenset()
        self._tick_changed: frozenset[str] = frozenset()
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(DRAWN_LINES_MIN)
        self._drawn: dict[int, Strip] = {}
        """The line last handed to Textual for each line ``y`` on screen: a sample redraws
        only the lines that differ from it (see :meth:`_refresh_changed`)."""
        self._styles: dict[tuple[object, ...], Style] = {}
        self._layout: tuple[tuple[Column, int], ...] = ()
        self._layout_key: tuple[object, ...] = ()
        self._unfitted: tuple[tuple[Column, int], ...] = ()
        """The layout for :attr:`_layout_key` before it is fitted to the texts on screen."""
        self._listed = 0
        """Counts the changes of what rows say (relisted, a first page, names resolved)."""
        self._whole_key: tuple[object, ...] = ()
        self._whole = (0, 0)
        self._work_timer: Timer | None = None
        self._slices: Timer | None = None
        """The next slice of a tick's repaint (see :meth:`_repaint`)."""
        self.on_rows_shown: Callable[[], None] | None = None
        """Called when rows moved by slices, or an order made in slices, are shown: in the
        same call, so that what depends on them (the state counts) is drawn in the same frame
        (a message came a frame late at times: rows filtered, counts not yet)."""
        self.rates = RateTracker()
        """In/s and Out/s of the rows on screen (and the process groups on screen)."""
        self.group_rows = GroupRows(self.rates)
        """The group rows' rates: which members each on screen follows, turning over."""
        self.uniform = UniformColumns()
        """Enum columns with one value on every row: shown as a note, not as a column."""
        self._grouped_from: str | None = None
        self.pinned: str | None = None
        """A connection whose rates are followed wherever it is (the detail pane's)."""
        self.dns: ReverseDns | None = None
        """Set while reverse DNS is on: endpoints show host names once resolved."""
        self.many_namespaces = False
        """More than one network namespace has sockets: the Namespace column is shown."""
        self.group_by = "process"
        """What the grouped view groups by: ``process`` or ``container`` (its namespace)."""
        self.page: FirstPage | None = None
        """Set while the table shows a first page (its rows only) before the whole first
        sample; the index stays empty until that sample comes."""
        self._page_ids: list[str] = []
        self.slices_above_rows = SLICES_ABOVE_ROWS
        """From this many rows a tick's repaint goes in slices (see :meth:`_repaint`)."""

    # --- data -------------------------------------------------------------------------
    def update_snapshot(self, snap: Snapshot) -> None:
        """Show ``snap``: O(changed rows) index update, cursor kept on its row, one refresh."""
        self.snapshot = snap
        if snap.page is not None:
            self._show_page(snap.page)
            return
        sliced = len(self.index.rows) >= self.slices_above_rows
        before = self._on_screen() if sliced else None
        self.page = None
        view = snap.namespaces
        self.many_namespaces = view is not None and view.with_sockets > 1
        self._tick_added = snap.diff.added
        self._tick_changed = frozenset(c.instance_id for c in snap.diff.state_changed)
        self.index.update(snap, self.ghost_ttl_s)
        self.uniform.update(snap)
        self.group_rows.next_sample(snap)
        followed = self.followed_ids()
        if self.pinned is not None:
            followed.append(self.pinned)
        self.rates.update(snap, self.group_rows.tracked(followed))
        self._reindex(tick_from=before, tick=True)

    def read_first_rates(self, followed: list[str]) -> None:
        """First readings, from the sample shown, of ``followed`` (:meth:`followed_ids`) and
        the groups' members since it came (after ``g``, a replay's groups are summed whole
        one sample sooner)."""
        if self.snapshot is not None:
            self.rates.read_first(self.snapshot, self.group_rows.tracked(followed))

    def _show_page(self, page: FirstPage) -> None:
        """A first page: its rows at the top of a table as long as the whole sample (unless
        the view has changed since it was asked for: then the whole sample is waited for)."""
        index = self.index
        same_view = (index.sort_column, index.reverse) == (PAGE_COLUMN, page.reverse)
        if not same_view or not index.query.empty or self.grouped:
            return
        self.page = page
        self._page_ids = [c.instance_id for c in page.rows]
        self._listed += 1
        self._restore_cursor()
        self._fit_virtual_size()
        self.refresh()

    def _drop_page(self) -> None:
        """Another order, filter or grouping than the page's: wait for the whole sample."""
        if self.page is not None:
            self.page = None
            self._page_ids = []

    def followed_ids(self) -> list[str]:
        """Connections whose byte rates the table shows now: rows on screen when the rate
        columns are laid out, and members of the group rows on screen that move bytes (at
        most :data:`~tui.connections.group_rows.FOLLOW_AT_MOST`, see
        :meth:`GroupRows.follow`)."""
        snap = self.snapshot
        if snap is None:
            self.group_rows.followed = {}
            return []
        top = int(self.scroll_offset.y)
        on_screen: list[str] = []
        for position in range(top, min(self.row_count, top + max(1, self.size.height))):
            row_id = self.row_id_at(position)
            if not row_id:
                break  # below a first page's rows
            on_screen.append(row_id)
        rates_shown = any(c.key in ON_SCREEN_KEYS for c, _ in self._layout)
        ghosts = self.index.ghosts
        return self.group_rows.follow(
            snap,
            on_screen,
            self._groups,
            lambda row_id: rates_shown and row_id not in ghosts,
            self._group_row_of,
        )

    def set_dns(self, dns: ReverseDns | None) -> None:
        """Turn host names on (with this resolver) or off."""
        if self.dns is not None and self.dns is not dns:
            self.dns.close()
        self.dns = dns
        self._listed += 1
        self.refresh()

    def on_conn_table_names_resolved(self, event: NamesResolved) -> None:
        """Redraw the lines that show a name found since."""
        event.stop()
        self._listed += 1
        self._refresh_changed(0, self.size.height)

    def set_sort(self, column: str, reverse: bool) -> None:
        """Sort by ``column`` (ascending unless ``reverse``), keeping the cursor's row."""
        if (column, reverse) != (self.index.sort_column, self.index.reverse):
            self._drop_page()
        if not self.index.building:
            self._rows_query = self.index.query
        self.index.set_sort(column, reverse)
        self._reindex()

    def set_query(self, query: Query) -> None:
        """Filter by a parsed query."""
        if not query.empty:
            self._drop_page()
        if not self.index.building:
            self._rows_query = self.index.query
        self.index.set_query(query)
        self._reindex()

    def set_grouped(self, grouped: bool, by: str = "process") -> None:
        """Switch between one row per connection and one row per process (or container).

        The cursor follows its connection through the whole ``g`` cycle: onto that
        connection's group, onto its group in the other grouping, and back onto the
        connection (or the group's first one) when the groups go. The row position means
        nothing across groupings: it put the cursor on another process's namespace.
        """
        if grouped == self.grouped and (not grouped or by == self.group_by):
            self.group_by = by
            return
        self._drop_page()
        followed = self._followed_connection()
        if grouped and self.grouped:
            self._expanded.clear()  # the other grouping's rows: nothing of it stays expanded
        self.grouped, self.group_by = grouped, by
        if followed is not None:
            self._grouped_from = followed
            self.cursor_id = self._group_row_of(followed) if grouped else followed
        self._reindex()
        self._scroll_cursor_into_view()

    def _followed_connection(self) -> str | None:
        """The connection the cursor stands for: its row's, or on a group row the one it was
        grouped from (when still in that group), else the group's first."""
        cursor = self.cursor_id
        if cursor is None:
            return None
        if cursor in self.index.rows:
            return cursor
        group = self._groups.get(cursor)
        if group is None or not group.rows:
            return None
        came_from = self._grouped_from
        return came_from if came_from in group.rows else (group.members or group.rows)[0]

    def _group_row_of(self, row_id: str) -> str | None:
        """The group row that holds connection ``row_id`` in the current grouping."""
        if row_id not in self.index.rows:
            return None
        return self.index.group_row_id(self._record(row_id), self.group_by)

    def set_hidden(self, hidden: frozenset[str]) -> None:
        """Hide the columns in ``hidden``."""
        self.hidden = hidden
        self.refresh()

    def _schedule_work(self) -> None:
        # Orders are made in bounded slices on timers, never in one go: the one asked for
        # (a re-sort, a filter, a large snapshot) right away, then, on large tables, the next
        # sort column's, so that `s` only swaps two orders.
        index = self.index
        if len(index.rows) >= PREPARE_ABOVE_ROWS:
            columns = SORT_COLUMNS
            index.prepare(columns[(columns.index(index.sort_column) + 1) % len(columns)])
        if (index.has_work or index.retiring) and self._work_timer is None:
            delay = BUILD_EVERY_S if self._urgent else PREPARE_EVERY_S
            self._work_timer = self.set_timer(delay, self._work)

    @property
    def filter_pending(self) -> bool:
        """True while the rows shown (and their counts) are still the previous filter's: a
        new filter's order is made in slices on a large table, seconds on a busy host.

        Why not :attr:`RowIndex.building` alone: a re-sort is made in slices too, and its
        rows (the same filter's) may be acted on meanwhile; a new filter's may not (``K``
        offered to end the process of a row the new filter leaves out)."""
        return self.index.building and self.index.query is not self._rows_query

    @property
    def _urgent(self) -> bool:
        """The rows on screen wait: an order asked for, or a tick's many moves."""
        return self.index.building or self.index.catching_up

    def _work(self) -> None:
        self._work_timer = None
        index = self.index
        asked = index.building
        if not index.step(BUILD_STEP_S if self._urgent else PREPARE_STEP_S):
            self._schedule_work()
        elif self.grouped and index.catching_up:
            self._schedule_work()  # the groups (a pass over every row) once all rows moved
        else:
            # A tick's rows moved (only the lines that differ are drawn), or the order asked
            # for is shown now (all of them).
            self._reindex(tick=not asked)
            if self.on_rows_shown is not None:
                self.on_rows_shown()

    def _reindex(self, tick_from: tuple[object, ...] | None = None, tick: bool = False) -> None:
        """The rows listed anew (``tick``: after a sample; of a table large enough for
        slices: ``tick_from`` is :meth:`_on_screen` before it)."""
        cursor = self._cursor_pos
        self._listed += 1
        if not self.index.building:
            self._rows_query = self.index.query
        if self.grouped:
            groups = self.index.groups(self.group_by)
            self._groups = {g.row_id: g for g in groups}
            entries: list[str] = []
            for g in groups:
                entries.append(g.row_id)
                if g.row_id in self._expanded:
                    entries.extend(g.rows)
            self._entries = entries
        else:
            self._entries = None
            self._groups = {}
        self._restore_cursor()
        self._fit_virtual_size()
        self._scroll_cursor_into_view()
        same = tick_from is not None and cursor == self._cursor_pos
        self._repaint(same and tick_from == self._on_screen(), changed_only=tick)
        self._schedule_work()

    def _on_screen(self) -> tuple[object, ...]:
        """What decides which row each line shows: scroll offset, size, columns, order, and
        the rows on screen."""
        top = int(self.scroll_offset.y)
        end = min(self.row_count, top + self.size.height)
        return (
            top,
            self.size,
            self._columns(self.scrollable_content_region.width),
            self.index.sort_column,
            self.index.reverse,
            self.index.building,
            [self.row_id_at(position) for position in range(top, end)],
        )

    def _repaint(self, in_slices: bool, changed_only: bool = False) -> None:
        """Draw the rows anew: at once, or (``in_slices``: a tick changed only what the same
        rows on screen say, their ages first of all) :data:`REPAINT_LINES` lines a frame;
        ``changed_only`` (a sample, not a new view): only the lines that differ.

        Why slices: a tick changes every row's age, and drawing 40 lines at once took
        17-31 ms of the UI thread's CPU at 250k rows (120x40, measured), doubled while the
        sampler's thread shares the interpreter: a key pressed then waited for all of it.
        """
        if self._slices is not None:
            self._slices.stop()
            self._slices = None
        if in_slices:
            self._repaint_lines(1)
        elif changed_only:
            self._refresh_changed(0, self.size.height)
        else:
            self.refresh()

    def _refresh_changed(self, first: int, end: int) -> None:
        """Refresh those of lines ``first`` to ``end`` (excluded) that would be drawn unlike
        the last time (:attr:`_drawn`).

        Why: Textual writes every line of a refreshed region to the terminal, changed or
        not. A whole refresh each sample wrote every line on screen again, 93% of it
        byte-identical (3.4 KB/s at 80x24 with three idle sockets): at 64 kbit/s over ssh
        the screen fell 25 s behind. Drawing the lines here costs little: Textual's own
        call of :meth:`render_line` then finds them in the cache of drawn lines.
        """
        width = max(self.virtual_size.width, self.size.width)
        drawn = self._drawn
        for y in range(first, min(end, self.size.height)):
            if self._line(y) != drawn.get(y):
                self.refresh(Region(0, y, width, 1))

    @property
    def repainting(self) -> bool:
        """True while a tick's repaint has slices to come."""
        return self._slices is not None

    def _repaint_lines(self, first: int) -> None:
        """Lines ``first`` onwards, :data:`REPAINT_LINES` now and the rest a frame later."""
        self._slices = None
        height = self.size.height
        self._refresh_changed(first, first + REPAINT_LINES)
        if first + REPAINT_LINES < height:
            self._slices = self.set_timer(
                REPAINT_EVERY_S, partial(self._repaint_lines, first + REPAINT_LINES)
            )

    def _fit_virtual_size(self) -> None:
        """The scrollable height follows the row count, without a relayout of the screen
        while the scrollbar stays as it is.

        Why: ``virtual_size`` is a layout reactive; at 50k rows with churn the count changes
        every tick, and each change laid out and repainted the whole screen (measured: a
        third of the UI's CPU at 1 Hz). Only the scrollbar's own geometry depends on it then.
        """
        size = Size(self.scrollable_content_region.width, self.row_count + 1)
        old = self.virtual_size
        if size == old:
            return
        # Taller than the view before and after (a margin for the scrollbar's own row): the
        # scrollbar stays shown, nothing else on screen moves.
        height = self.container_size.height + 1
        scrolls = old.height > height and size.height > height and old.width == size.width
        if not scrolls or not self.is_mounted:
            self.virtual_size = size
            return
        self.set_reactive(ConnTable.virtual_size, size)
        self._scroll_update(size)  # the scrollbar's window, and the scroll offset's bounds

    # --- rows -------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """Rows currently listed."""
        if self.page is not None:
            return self.page.total
        return len(self._entries) if self._entries is not None else len(self.index)

    def row_id_at(self, position: int) -> str:
        """Row identity at ``position`` (``""`` below a first page's rows)."""
        if self.page is not None:
            return self._page_ids[position] if position < len(self._page_ids) else ""
        if self._entries is not None:
            return self._entries[position]
        return self.index.row_id(position)

    def position_of(self, row_id: str) -> int | None:
        """Where ``row_id`` is listed, or None."""
        if self.page is not None:
            return self._page_ids.index(row_id) if row_id in self._page_ids else None
        if self._entries is not None:
            try:
                return self._entries.index(row_id)
            except ValueError:
                return None
        return self.index.position(row_id)

    @property
    def cursor_row(self) -> int:
        """Position of the cursor."""
        return self._cursor_pos

    def _record(self, row_id: str) -> TcpConnection:
        # The snapshot's record is the current one (the index may hold an older record of an
        # unchanged-State connection until its next full scan); ghosts live only in the index.
        snap = self.snapshot
        conn = snap.connections.get(row_id) if snap is not None else None
        if conn is None:
            conn = self.index.rows.get(row_id)
        return conn if conn is not None else self.index.record(row_id)

    def connection(self, row_id: str) -> TcpConnection | None:
        """Connection ``row_id`` (live or ghost) whether the filter lists it or not; None
        once it left the table (the detail pane stays bound to it by this)."""
        if row_id not in self.index.rows:
            return None
        return self._record(row_id)

    @property
    def cursor_connection(self) -> TcpConnection | None:
        """The connection (live or ghost) under the cursor; None on a group row."""
        row_id = self.cursor_id
        if self.page is not None and self.snapshot is not None and row_id:
            return self.snapshot.connections.get(row_id)
        if row_id is None or row_id not in self.index.rows:
            return None
        return self._record(row_id)

    @property
    def cursor_group(self) -> Group | None:
        """The group under the cursor in the group view."""
        return self._groups.get(self.cursor_id) if self.cursor_id is not None else None

    def toggle_group(self) -> None:
        """Expand or collapse the process group under the cursor."""
        group = self.cursor_group
        if group is None:
            return
        self._expanded ^= {group.row_id}
        self._reindex()

    def _restore_cursor(self) -> None:
        count = self.row_count
        position = self.position_of(self.cursor_id) if self.cursor_id is not None else None
        if position is None:
            # Its row went (ghost expired, filtered out): take the neighbour at the same place.
            position = min(self._cursor_pos, count - 1)
        self._set_cursor(max(0, position), post=False)

    def _set_cursor(self, position: int, post: bool = True) -> None:
        count = self.row_count
        old = self.cursor_id
        if count == 0:
            self._cursor_pos, self.cursor_id = 0, None
        else:
            self._cursor_pos = max(0, min(position, count - 1))
            self.cursor_id = self.row_id_at(self._cursor_pos)
        if post or old != self.cursor_id:
            self.post_message(self.CursorMoved(self.cursor_id, by_user=post))

    def move_cursor_to(self, row_id: str) -> bool:
        """Put the cursor on ``row_id`` if it is listed."""
        position = self.position_of(row_id)
        if position is None:
            return False
        self._set_cursor(position)
        self._scroll_cursor_into_view()
        self.refresh()
        return True

    # --- actions ----------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows."""
        before, top = self._cursor_pos, self.scroll_offset.y
        self._set_cursor(self._cursor_pos + delta)
        self._scroll_cursor_into_view()
        self._refresh_cursor_rows(before, top)

    def _refresh_cursor_rows(self, before: int, top: float) -> None:
        """Draw anew the row the cursor left and the one it reached; all rows if the view
        scrolled.

        Why: a whole repaint sends every line through Textual's styles and the compositor
        again (measured at 250k rows while the sampler shares the interpreter: 20-60 ms a
        repaint), where a cursor step changes two lines.
        """
        if self.scroll_offset.y != top:
            self.refresh()
            return
        width = max(self.virtual_size.width, self.size.width)
        for position in {before, self._cursor_pos}:
            y = position - int(top) + 1  # line 0 is the header
            if 0 < y < self.size.height:
                self.refresh(Region(0, y, width, 1))

    def action_page(self, direction: int) -> None:
        """Move the cursor by one page."""
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        """Move the cursor to the first or last row."""
        self.action_cursor(self.row_count if end else -self.row_count)

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self._cursor_pos < top:
            self.scroll_to(y=self._cursor_pos, animate=False, immediate=True)
        elif self._cursor_pos >= top + visible:
            self.scroll_to(y=self._cursor_pos - visible + 1, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        """Click a row to put the cursor on it; click a column title to sort by it."""
        if event.y == 0:
            column = self.column_at(event.x)
            if column is not None:
                self.post_message(self.HeaderClicked(column.key))
            return
        self._set_cursor(int(self.scroll_offset.y) + event.y - 1)
        self.refresh()

    def column_at(self, x: int) -> Column | None:
        """The column drawn at cell ``x`` (gaps belong to the column on their left)."""
        left = 0
        for col, width in self._layout:
            if left <= x <= left + width:
                return col
            left += width + 1
        return None

    def on_resize(self, event: events.Resize) -> None:
        """Re-fit the columns, keep the cursor visible, keep a few screens of drawn lines."""
        self.virtual_size = Size(self.scrollable_content_region.width, self.row_count + 1)
        self._scroll_cursor_into_view()
        lines = max(DRAWN_LINES_MIN, DRAWN_SCREENS * event.size.height)
        if lines != self._cache.maxsize:
            self._cache = LRUCache(lines)  # (an LRUCache does not shrink in place)

    # --- drawing ----------------------------------------------------------------------
    @property
    def layout_columns(self) -> tuple[tuple[Column, int], ...]:
        """The columns drawn now, with their widths."""
        return self._columns(self.scrollable_content_region.width)

    def _columns(self, width: int) -> tuple[tuple[Column, int], ...]:
        hidden = self.hidden | self.uniform.values.keys()
        if not self.many_namespaces:
            hidden |= ONLY_WITH_NAMESPACES
        sort = self.index.sort_column
        key: tuple[object, ...] = (width, hidden, sort)
        if key[:3] != self._layout_key[:3]:
            self._unfitted = layout(width, hidden, keep=sort)
            self._layout, self._layout_key = self._unfitted, key
        if not narrowed(self._unfitted):
            return self._layout
        # Endpoints narrowed (60 to ~72 columns): shared so that the texts on screen stay whole.
        whole = self._whole_endpoints()
        if (*key, whole) != self._layout_key:
            self._layout = layout(width, hidden, keep=sort, whole=whole)
            self._layout_key = (*key, whole)
        return self._layout

    def _whole_endpoints(self) -> tuple[int, int]:
        """The cells the widest IPv4 Local and Remote texts on screen need. Why IPv4 only: an
        IPv6 address or a host name is cut in any case, and would take the cells that keep an
        IPv4 address whole beside it."""
        top = int(self.scroll_offset.y)
        key = (top, self.size.height, self.row_count, self._listed, self.dns)
        if key == self._whole_key:
            return self._whole
        local = remote = 0
        local_name = remote_name = None
        for position in range(top, min(self.row_count, top + self.size.height)):
            row_id = self.row_id_at(position)
            if not row_id or row_id in self._groups:
                continue
            conn = self._record(row_id)
            if self.dns is not None:
                local_name, remote_name = self._names(conn)
            if local_name is None and ":" not in conn.local_address:
                local = max(local, len(fmt.endpoint(conn.local_address, conn.local_port)))
            if remote_name is None and ":" not in conn.remote_address:
                remote = max(remote, len(fmt.endpoint(conn.remote_address, conn.remote_port)))
        self._whole_key, self._whole = key, (local, remote)
        return self._whole

    def _lifecycle(self, row_id: str, conn: TcpConnection, now: datetime) -> str:
        if row_id in self.index.ghosts:
            return "ghost"
        window = timedelta(seconds=HIGHLIGHT_S)
        created = conn.creation_time
        if row_id in self._tick_added or (
            created is not None and not conn.created_before_start and now - created < window
        ):
            return "new"
        changed = conn.state_changed_at
        if row_id in self._tick_changed or (changed is not None and now - changed < window):
            return "changed"
        return ""

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header at 0, else a row under the scroll offset
        (kept as drawn, see :meth:`_refresh_changed`)."""
        strip = self._line(y)
        self._drawn[y] = strip
        return strip

    def _line(self, y: int) -> Strip:
        """What line ``y`` shows now."""
        width = self.scrollable_content_region.width
        columns = self._columns(width)
        theme = self.app.theme
        if y == 0:
            key: tuple[object, ...] = (
                "header",
                width,
                columns,
                theme,
                self.index.sort_column,
                self.index.reverse,
                self.index.building,
            )
            return self._cached(
                key,
                lambda: header_line(
                    columns,
                    width,
                    self._style,
                    sort_column=self.index.sort_column,
                    reverse=self.index.reverse,
                    building=self.index.building,
                ),
            )
        position = int(self.scroll_offset.y) + y - 1
        if position >= self.row_count:
            return Strip.blank(width, self.rich_style)
        row_id = self.row_id_at(position)
        if not row_id:
            return Strip.blank(width, self.rich_style)  # below a first page: still reading
        cursor = position == self._cursor_pos
        group = self._groups.get(row_id)
        if group is not None:
            return self.group_rows.line(
                group,
                expanded=row_id in self._expanded,
                cursor=cursor,
                width=width,
                theme=theme,
                style=self._style,
                cached=self._cached,
            )
        conn = self._record(row_id)
        proc = self.index.proc(conn)
        now = self.snapshot.time if self.snapshot is not None else datetime.now(UTC)
        life = self._lifecycle(row_id, conn, now)
        age = fmt.conn_age(conn, now)
        listening = conn.state is TcpState.LISTEN  # a listener moves no bytes of its own
        ns = (
            namespace_label(self.index.namespace_of(conn), self.index.namespaces)
            if self.many_namespaces
            else ""
        )
        info = self.snapshot.tcp_info.get(row_id) if self.snapshot is not None else None
        queues = (info.recv_q, info.send_q) if info is not None else (None, None)
        extra = RowExtra(
            None if listening else self.rates.rate(row_id), *self._names(conn), ns, *queues
        )
        member = self._entries is not None  # a group's member, under its group's row
        key = (
            "row",
            row_id,
            conn,
            proc,
            life,
            cursor,
            age,
            width,
            columns,
            theme,
            member,
            extra,
        )
        return self._cached(
            key,
            lambda: row_line(
                conn, proc, life, age, cursor, columns, width, extra, self._style, member=member
            ),
        )

    def _names(self, conn: TcpConnection) -> tuple[str | None, str | None]:
        dns = self.dns
        if dns is None:
            return None, None
        return dns.name(conn.local_address), dns.name(conn.remote_address)

    def _cached(self, key: tuple[object, ...], make: Callable[[], Strip]) -> Strip:
        strip = self._cache.get(key)
        if strip is None:
            strip = make()
            self._cache[key] = strip
        return strip

    def _style(self, *names: str) -> Style:
        # Kept until a style of the table or of an ancestor changes (theme, classes): a row
        # drawn anew every second (its age) re-blended every ancestor's colours per line.
        key = (names, self.app.theme, *(n.styles._cache_key for n in self.ancestors_with_self))
        style = self._styles.get(key)
        if style is None:
            if len(self._styles) > STYLE_CACHE:
                self._styles.clear()
            style = self.rich_style
            for name in names:
                style += self.get_component_rich_style(name)
            self._styles[key] = style
        return style
