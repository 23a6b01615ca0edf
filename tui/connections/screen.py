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
from textual.widgets import Static

from core.connections import (
    SORT_COLUMNS,
    Completion,
    Query,
    QueryError,
    ReverseDns,
    Snapshot,
    TcpConnection,
    complete,
    field_values,
    namespace_misses,
    parse_query,
    pid_zero_miss,
)
from core.textsafe import composed
from tui import bindings
from tui import format as fmt
from tui.connections import actions as acts
from tui.connections.columns import BY_KEY, Column
from tui.connections.conn_table import ConnTable
from tui.connections.detail import HIDDEN_TEXT, DetailPane, back_text, gone_text
from tui.connections.state_bar import StateBar
from tui.covered import CoverHeld
from tui.footer import KeysFooter
from tui.replay.controls import ReplayBar
from tui.shell import HeaderState, shell_of
from tui.toasts import dismiss_toasts, say_filter_cleared
from tui.widgets.filter_bar import FilterBar
from tui.widgets.header import HeaderBar

WIDE = 140
"""From this many columns the detail pane sits beside the table."""
_ACTS = {"close_connection": "close", "terminate_process": "terminate"}
"""The acting keys' actions → the kind :meth:`ConnectionsScreen._off` tells about."""


def _filter_problem(text: str) -> str | None:
    try:
        parse_query(text)
    except QueryError as exc:
        return str(exc)
    return None


def uniform_note(values: dict[str, int | None], shown: tuple[tuple[Column, int], ...]) -> str:
    """``all rows: Offload InHost, Applied —`` for the uniform columns not drawn."""
    drawn = {c.key for c, _ in shown}
    parts = []
    for key, value in values.items():
        if key in drawn:
            continue
        enum = "OffloadState" if key == "offload" else "AppliedSetting"
        shown_value = "—" if value is None else fmt.enum_name(enum, value)
        parts.append(f"{BY_KEY[key].title} {shown_value}")
    return f"all rows: {', '.join(parts)}" if parts else ""


class ConnectionsScreen(CoverHeld, Screen[None]):
    """The live connection table (held still under a screen pushed over it: see
    :mod:`tui.covered`)."""

    AUTO_FOCUS = "#table"  # not Textual's "*": the first focusable widget is the hidden filter
    BINDINGS: ClassVar[list[BindingType]] = [
        # First in the footer, so 80 columns always show it (the App's ? is the same action).
        bindings.HELP,
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter (state:, port:, …)"),
        Binding("enter", "toggle_detail", "Detail", id="detail", tooltip="Open/close detail"),
        Binding("s", "next_sort", "Sort", id="sort", tooltip="Sort by the next column"),
        Binding(
            "S", "reverse_sort", "Reverse", id="reverse", tooltip="Reverse the sort", show=False
        ),
        Binding(
            "greater_than_sign",
            "move_sort(1)",
            "Sort →",
            id="sort-right",
            tooltip="Sort by the column to the right",
            show=False,
        ),
        Binding(
            "less_than_sign",
            "move_sort(-1)",
            "Sort ←",
            id="sort-left",
            tooltip="Sort by the column to the left",
            show=False,
        ),
        # Upper case, as htop's P/M/T: the lower-case letters are replay keys (t: seek).
        Binding("T", "sort_by('state')", "Sort by State", id="sort-state", show=False),
        Binding("O", "sort_by('offload')", "Sort by Offload", id="sort-offload", show=False),
        Binding("P", "sort_by('pid')", "Sort by PID", id="sort-pid", show=False),
        # Off the footer: at 80 columns it pushed "q Quit" out (help and the palette list it).
        Binding(
            "g",
            "toggle_group",
            "Group",
            id="group",
            tooltip="Group by process, then container",
            show=False,
        ),
        Binding("x", "close_connection", "Close", id="close-conn", tooltip="Close the connection"),
        Binding("K", "terminate_process", "Kill", id="kill-proc", tooltip="Terminate its process"),
        # Off (replay, demo, no CAP_NET_ADMIN for x): the key says why, not nothing.
        Binding("x", "act_unavailable('close')", show=False),
        Binding("K", "act_unavailable('terminate')", show=False),
        # Names the other screen in the footer (Tab also switches).
        bindings.show_screen("ipsec", footer=True),
        # Screen's own Tab (focus next) would shadow the App's screen switch; say it here.
        bindings.next_screen(),
        Binding(
            "n", "toggle_dns", "Names", id="dns", tooltip="Host names (reverse DNS)", show=False
        ),
        Binding("escape", "escape", "Back", id="escape", show=False),
        Binding("ctrl+d", "scroll_detail(1)", "Detail down", id="detail-down", show=False),
        Binding("u", "toggle_missing", "Not reported", id="detail-missing", show=False),
        Binding("ctrl+u", "scroll_detail(-1)", "Detail up", id="detail-up", show=False),
    ]

    def __init__(self) -> None:
        """Built by the App's screen registry."""
        super().__init__(id="connections")
        self.detail_open = False
        self._detail_id: str | None = None
        self._followed: frozenset[str] = frozenset()
        self._snapshot: Snapshot | None = None
        """The snapshot the table shows (the actions and the detail act on its rows)."""
        self._latest: Snapshot | None = None
        """The newest snapshot (newer than the one shown while covered)."""
        self._header: HeaderState | None = None

    def compose(self) -> ComposeResult:
        """The screen's widgets, top to bottom."""
        prefs = shell_of(self).prefs
        yield HeaderBar(id="header")
        replay = shell_of(self).replay
        if replay is not None:
            yield ReplayBar(replay.feed, replay.marks, id="replay-bar")
        yield Static(id="banner")
        yield FilterBar(
            id="filter-bar",
            submitted=self._filter_submitted,
            validate=_filter_problem,
            complete=self._complete,
            escape="screen.escape",
        )
        yield StateBar(id="state-bar")
        with Horizontal(id="body"):
            yield ConnTable(
                id="table",
                ghost_ttl_s=shell_of(self).ghost_ttl_s,
                hidden=frozenset(prefs.hidden_columns),
            )
            yield DetailPane(id="detail")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        """Apply saved view preferences, then follow the App's snapshots."""
        table = self.table
        prefs = shell_of(self).prefs
        table.set_sort(prefs.sort_column, prefs.sort_reverse)
        if shell_of(self).initial_filter:
            # --filter: this run only. Filters are never saved (a forgotten one hides rows).
            self._apply_filter(shell_of(self).initial_filter)
        self.set_class(self.size.width >= WIDE, "-wide")
        table.on_rows_shown = self._show_counts
        self.watch(self.app, "snapshot", self._on_snapshot, init=True)
        self.watch(self.app, "header", self._on_header, init=True)
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
        self._latest = snap
        if not self.covered:
            self._draw(snap)

    def uncovered(self) -> None:
        """The latest snapshot and header, held while a screen was over this one."""
        if self._latest is not None and self._latest is not self._snapshot:
            self._draw(self._latest)
        self._on_header(self._header)

    def _draw(self, snap: Snapshot) -> None:
        self._snapshot = snap
        self.table.update_snapshot(snap)
        self._follow()
        self._show_counts()
        if self.detail_open:
            self._show_detail()  # where the user scrolled it: a sample does not move it

    def _show_counts(self) -> None:
        table = self.table
        index = table.index
        if table.page is not None:  # a first page: the whole sample's counts, owners pending
            counts = dict(table.page.counts)
            self.query_one(StateBar).show(counts, counts, False, "owners: looking up…")
            return
        note = uniform_note(table.uniform.values, table.layout_columns)
        agreed = None if table.filter_pending else index.counts()
        if agreed is None:  # no counts of the new filter yet (its rows wait)
            self.query_one(StateBar).show(index.counts_all, index.counts_all, False, note, True)
            return
        self.query_one(StateBar).show(*agreed, not index.query.empty, note)

    def _on_header(self, state: HeaderState | None) -> None:
        self._header = state
        if state is not None and state.snapshot is not None and not self.covered:
            self._show_banner(state.snapshot, state.link, state.link_cause)

    def _show_banner(self, snap: Snapshot, link: str | None, cause: str | None) -> None:
        """The sampler's error; for a remote link's outage only its cause, whole (wrapped):
        the header says the state, attempt and since (a banner repeating them took two more
        lines at 80 columns), but not why, and "connection refused", "login refused" and
        "no python3" need different fixes, told by the words of ssh or the server."""
        banner = self.query_one("#banner", Static)
        error = snap.error
        if error is None or (link and not cause):
            banner.display = False
            return
        text = Text()
        banner.set_class(bool(link and cause), "-cause")
        if link and cause:
            text.append(" cause: ", style="bold")
            # core.remote.failures already escaped the server's words (as the one-shot error
            # shows them): composed() keeps those escapes single, still escaping a control.
            text.append(composed(cause))
        else:
            text.append(f" sampler error ({error.kind.value}): ", style="bold")
            text.append(fmt.safe(error.message))
            text.append(f" — since {fmt.clock(error.since)}")
            if snap.stale:
                text.append("; showing the last good sample", style="italic")
        banner.update(text)
        banner.display = True

    def _complete(self, text: str, cursor: int) -> Completion:
        """Tab in the filter input: field names, then values from the rows on hand."""
        index = self.table.index
        return complete(
            text, cursor, field_values(index.rows.values(), index.processes, index.namespaces)
        )

    # --- actions ----------------------------------------------------------------------
    def action_filter(self) -> None:
        """Open the filter input."""
        self.query_one(FilterBar).edit(self.table.index.query.text)

    def _filter_submitted(self, text: str) -> None:
        """Enter in the filter: applied, the bar closed and the table focused now (the keys
        read with the Enter act on the table); a filter that does not parse stays open."""
        if self._apply_filter(text):
            self.query_one(FilterBar).close()
            self.set_focus(self.table)

    def _apply_filter(self, text: str) -> bool:
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
        self._tell_misses(query)
        return True

    def _tell_misses(self, query: Query) -> None:
        """Toast what the filter's words fail to name (applied all the same: a namespace may
        come), as ``tcpscope connections`` notes it: a typo is silent otherwise."""
        snap = self._snapshot
        # A sample that looked up no namespace (--netns current, psutil) tells every value
        # why; before the first sample nothing is known yet.
        source = snap.source if snap is not None and snap.namespaces is None else None
        misses = namespace_misses(query, self.table.index.namespaces, source)
        lines = list(misses.lines)
        pid_zero = (
            None
            if snap is None or 0 not in query.named_pids()
            else pid_zero_miss(
                "pid:0", snap.source, snap.connections.values(), time_wait="state:timewait"
            )
        )
        if pid_zero is not None:  # Windows' PID of the kernel's sockets: Linux has none
            lines.append(pid_zero)
        if lines:
            # "matches nothing" only of a word that keeps no row: a negated miss excludes
            # nothing, one value of an OR list leaves the others' rows.
            text = "\n".join(lines)
            empty = pid_zero is not None and not sum(self.table.index.counts_filtered.values())
            if misses.empties or empty:
                self.notify(text, title="Filter matches nothing", severity="warning")
            else:
                self.notify(text, title="Filter note")

    def action_escape(self) -> None:
        """Dismiss the toasts shown, else close the filter input or the detail pane, else
        clear the filter. Toasts first: Esc pressed to get rid of one cleared the filter
        unseen, and the next ``x`` aimed at a row the filter had kept out of sight."""
        if not dismiss_toasts(self):
            self.action_back()

    def action_back(self) -> None:
        """Close the filter input or the detail pane, else clear the filter (the palette's
        entry: asked for by name, it is not spent on a toast)."""
        bar = self.query_one(FilterBar)
        if bar.editing:
            bar.close()
            self._clear_filter()
            self.set_focus(self.table)  # now: the keys read with the Escape are the table's
        elif self.detail_open:
            self.action_toggle_detail()
        elif not self.table.index.query.empty:
            self._clear_filter()

    def _clear_filter(self) -> None:
        """Drop the active filter and say which it was (every row is back: a user who did
        not mean it sees why, and what to type again)."""
        was = self.table.index.query.text
        self._apply_filter("")
        say_filter_cleared(self, was)

    def action_scroll_detail(self, pages: int) -> None:
        """Page the open detail pane without leaving the table (side by side, keyboard only)."""
        if not self.detail_open:
            return
        # From where the last key left it: two Ctrl+D read together paged it once.
        self.query_one(DetailPane).scroll_pages(pages)

    def action_toggle_detail(self) -> None:
        """Open or close the detail pane (Enter on a group row expands it instead)."""
        table = self.table
        if not self.detail_open and table.cursor_group is not None:
            table.toggle_group()
            return
        pane = self.query_one(DetailPane)
        if self.detail_open and pane.back:
            # Gone, and its endpoints' new connection listed now: shown, as the banner says.
            pane.unmark()
            self._show_detail()
            return
        self.detail_open = not self.detail_open
        self.set_class(self.detail_open, "-detail-open")
        if self.detail_open:
            # Opened again: the answer first (it reopened where it was scrolled to, the State
            # line out of sight).
            self.query_one(DetailPane).scroll_home(animate=False, immediate=True)
            self._show_detail(follow=True)
            if not self.has_class("-wide"):
                # The pane has taken over the screen: its keys scroll it, from the next key on
                # (focused after a refresh, a Down read with the Enter moved the hidden table's
                # cursor, and the pane then showed that other connection).
                self.set_focus(self.query_one(DetailPane))
        else:
            self._watch_tcp_info(None)
            table.focus()
            table.move_cursor_to(table.cursor_id or "")

    def _show_detail(self, follow: bool = False) -> None:
        """Draw the pane: the cursor's connection when the user moved it (``follow``), else
        the connection the pane is bound to (its InstanceID), wherever the cursor went by
        itself: said hidden when the filter leaves it out (still live), said gone once it
        left the table. Never the cursor's neighbour as if it were the same connection."""
        table = self.table
        snap = self._snapshot
        if snap is None:
            return
        pane = self.query_one(DetailPane)
        bound = pane.row_id
        if follow or bound is None or table.page is not None:  # a first page: not indexed yet
            self._draw_detail(pane, snap, table.cursor_connection)
            return
        conn = None if pane.gone_since is not None else table.connection(bound)
        if conn is None:
            if pane.gone_since is None:
                self._watch_tcp_info(None)
            # Its InstanceID listed again (the same endpoints, a new socket): said so, and
            # Enter shows it; the last values stay the old one's until then.
            pane.mark_gone(pane.gone_since or snap.time, back=bound in table.index.rows)
            return
        self._draw_detail(pane, snap, conn)
        if table.index.position(bound) is None:
            pane.mark_hidden()
        elif table.cursor_id != bound:
            table.move_cursor_to(bound)  # listed again: x and K act on the connection shown

    def _draw_detail(self, pane: DetailPane, snap: Snapshot, conn: TcpConnection | None) -> None:
        """Draw ``conn`` (live or ghost) in the pane, its tcp_info and rates followed."""
        table = self.table
        proc = table.index.proc(conn) if conn is not None else None
        ghost = conn is not None and conn.instance_id in table.index.ghosts
        self._watch_tcp_info(conn.instance_id if conn is not None and not ghost else None)
        rates = table.rates
        if conn is not None:
            rates.keep_history(conn.instance_id)
            rates.update(snap, [conn.instance_id])
        iid = conn.instance_id if conn is not None else ""
        pane.show(
            conn,
            snap,
            proc,
            ghost,
            rates.rate(iid),
            rates.history(iid),
            kept=table.index.kept_namespace(iid) if ghost else None,
        )

    def pane_refusal(self) -> str | None:
        """Why ``x``/``K`` do nothing now: the open pane shows a connection that is not the
        cursor's row (no longer in the table, or hidden by the filter), and the cursor is on
        another row, out of sight at 80 columns."""
        pane = self.query_one(DetailPane)
        if not self.detail_open:
            return None
        if pane.gone_since is not None:
            said = back_text if pane.back else gone_text
            return f"the connection shown is {said(pane.gone_since)}"
        if pane.hidden:
            return f"the connection shown is {HIDDEN_TEXT}"
        return None

    def action_toggle_missing(self) -> None:
        """``u``: open or fold the detail pane's not-reported properties."""
        if self.detail_open:
            self.query_one(DetailPane).action_toggle_missing()

    def _watch_tcp_info(self, instance_id: str | None) -> None:
        """Follow the tcp_info of the connection the pane shows (and the rows' rates)."""
        self._detail_id = instance_id
        self.table.pinned = instance_id
        self._follow()

    def _follow(self) -> None:
        """Ask the feed for the tcp_info shown: the detail's connection, the rates on screen."""
        table = self.table
        followed = table.followed_ids()
        table.read_first_rates(followed)
        ids = set(followed)
        if self._detail_id is not None:
            ids.add(self._detail_id)
        wanted = frozenset(ids)
        if wanted != self._followed:
            self._followed = wanted
            shell_of(self).show_tcp_info_for(sorted(wanted))

    @on(ConnTable.CursorMoved)
    def _cursor_moved(self, event: ConnTable.CursorMoved) -> None:
        if self.detail_open:
            self._show_detail(follow=event.by_user)

    def action_next_sort(self) -> None:
        """Sort by the next column, ascending."""
        index = self.table.index
        column = SORT_COLUMNS[(SORT_COLUMNS.index(index.sort_column) + 1) % len(SORT_COLUMNS)]
        self._sort(column, False)

    def action_reverse_sort(self) -> None:
        """Reverse the sort direction."""
        index = self.table.index
        self._sort(index.sort_column, not index.reverse)

    def action_move_sort(self, step: int) -> None:
        """``<``/``>``: sort by the column left/right of the sorted one (as htop does).

        In a replay these keys step the recording; the header titles still sort on a click.
        """
        keys = [c.key for c, _ in self.table.layout_columns if c.sortable]
        if not keys:
            return
        current = self.table.index.sort_column
        at = keys.index(current) if current in keys else (-1 if step > 0 else 0)
        self._sort(keys[(at + step) % len(keys)], self.table.index.reverse)

    def action_sort_by(self, column: str) -> None:
        """Sort by ``column``; asked again for the sorted column, reverse it."""
        index = self.table.index
        if column not in SORT_COLUMNS:
            title = BY_KEY[column].title if column in BY_KEY else column
            self.notify(
                f"{title} is measured only for the rows on screen, so it cannot order the table",
                title="Sort",
                severity="warning",
            )
            return
        reverse = not index.reverse if column == index.sort_column else False
        self._sort(column, reverse)

    @on(ConnTable.HeaderClicked)
    def _header_clicked(self, event: ConnTable.HeaderClicked) -> None:
        if event.column != "marker":
            self.action_sort_by(event.column)

    def action_toggle_dns(self) -> None:
        """Host names instead of addresses (reverse DNS, looked up in the background)."""
        table = self.table
        if table.dns is not None:
            table.set_dns(None)
            self.notify("addresses shown as numbers", timeout=1.5)
            return

        def resolved() -> None:
            table.post_message(ConnTable.NamesResolved())  # thread-safe

        table.set_dns(ReverseDns(on_resolved=resolved))
        self.notify("host names: looked up in the background (n turns them off)", timeout=2)

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
        self._follow()  # the groups' members from the next sample on, not the one after

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Close/Kill show dimmed in the demo and under --redact, Close also without
        CAP_NET_ADMIN, and are left out of the footer of a replay and over --remote (never
        available there); their keys then explain why.

        In a replay, ``<``/``>`` step the recording by a minute (the replay keys win).
        """
        if action == "move_sort":
            return shell_of(self).replay is None
        if action in ("close_connection", "terminate_process"):
            shell = shell_of(self)
            if shell.replay is not None or shell.remote:
                return False  # never available there: the footer's room is for other keys
            return True if self._off(_ACTS[action]) is None else None
        if action == "act_unavailable":
            return self._off(str(parameters[0]) if parameters else "terminate") is not None
        return True

    def _off(self, kind: str) -> str | None:
        """Why ``close`` or ``terminate`` is off here, or None."""
        shell = shell_of(self)
        return shell.close_off if kind == "close" else shell.actions_off

    def action_close_connection(self) -> None:
        """Close the selected connection (confirmation first)."""
        self._act("close")

    def action_terminate_process(self) -> None:
        """Terminate the selected connection's process (confirmation first)."""
        self._act("terminate")

    def _act(self, kind: str) -> None:
        """Never on the cursor's row while the pane shows another connection (gone, or hidden
        by the filter): it would act on a row the user does not see (at 80 columns the pane
        covers the table)."""
        refusal = self.pane_refusal()
        if refusal is not None:
            title = "Close connection" if kind == "close" else "Terminate process"
            self.notify(refusal, title=title, severity="warning", markup=False)
            return
        acts.start(self, self.table, self._snapshot, kind)

    def action_act_unavailable(self, kind: str) -> None:
        """Say why closing (``kind`` "close") or terminating is off here."""
        title = "Close connection" if kind == "close" else "Terminate process"
        self.notify(self._off(kind) or "", title=title, severity="warning", markup=False)

    def toggle_column(self, key: str) -> None:
        """Show or hide one column (saved in the preferences)."""
        hidden = set(self.table.hidden) ^ {key}
        self.table.set_hidden(frozenset(hidden))
        shell_of(self).update_prefs(hidden_columns=tuple(sorted(hidden)))
