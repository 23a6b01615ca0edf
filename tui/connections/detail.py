"""The detail pane: the answer first, then every MSFT_NetTCPConnection property, decoded.

Why this order: a person opening the pane on a busy server wants "what is this connection, who
owns it, is it healthy" before any property list. The top (:mod:`tui.connections.summary`) fits
an 80x24 terminal: State and its meaning, endpoints, process, OffloadState and its meaning, age
and how sure it is, rtt/cwnd/retransmits, bytes and current rates, and a sparkline of the byte
rate while the pane is open. Below come the 32 properties: those with a value in the class's
order, then the not-reported ones folded into one group whose shared reasons are said once
(:mod:`tui.connections.property_list`), then the whole process record and tcp_info.

Untrusted text (process name, user, command line, exe, addresses) goes through
:func:`tui.format.safe` and into ``Text`` objects, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Collapsible, Static

from core.connections import (
    LISTENER_NOT_MEASURED,
    ByteRate,
    NamespaceInfo,
    OwnerStatus,
    ProcessInfo,
    ReadBy,
    Snapshot,
    TcpConnection,
    TcpInfo,
    TcpState,
    not_measured,
    peer_window,
    process_label,
    shown_namespace,
)
from tui import format as fmt
from tui.connections.namespace_detail import namespace_line, namespace_table
from tui.connections.property_list import (
    missing_text,
    shown_table,
    split_properties,
    where_words,
)
from tui.connections.summary import summary, why_no_tcp_info
from tui.key_scroll import VerticalKeyScroll
from tui.shell import shell_of
from tui.widgets.line_static import LineStatic
from tui.widgets.rate_sparkline import MergedSparkline

PANE_CMDLINE_CELLS: Final = 1000
"""The most cells of a command line the pane shows (escaped): a few screen lines. Rich wraps
the cell whole each frame, and another user's can be 2 MB (8 MB escaped, no place to break).
"""
HINT = "Esc/Enter close · ↑↓ scroll · u: not-reported properties"


def gone_text(since: datetime) -> str:
    """What the pane says over a connection that has left the table (its ghost expired):
    the values below are its last ones, and nothing acts on it. Also the toast of a refused
    ``x``/``K``."""
    return (
        f"gone since {fmt.clock(since)} — no longer in the table; "
        "these are its last values (x and K do nothing here, Esc closes)"
    )


def back_text(since: datetime) -> str:
    """What the pane says over a gone connection once a connection with its InstanceID (the
    same endpoints, in the same namespace: a new socket) is in the table again: never "no
    longer in the table", and how to see the new one. Also the toast of a refused ``x``/``K``."""
    return (
        f"gone since {fmt.clock(since)} — a new connection with the same endpoints is in the "
        "table now (Enter shows it); these are the old one's last values (x and K do nothing "
        "here, Esc closes)"
    )


HIDDEN_TEXT: Final = (
    "hidden by the filter (still live) — not a row of the table now, so x and K do nothing "
    "here; / changes the filter, Esc closes"
)
"""What the pane says over a connection the filter leaves out (a new filter, or its State
changed out of it): its values stay live, and the keys that act on the cursor's row do not
reach it. Also the toast of a refused ``x``/``K``."""


def process_table(
    conn: TcpConnection, proc: ProcessInfo | None, owners: str | None = None
) -> Table:
    """The owning process: name, PID, user, command line, executable (all made safe).
    ``owners``: the run's note on why other users' owners are not known (its privilege, or a
    hidepid /proc), said for a row whose owner needs privilege."""
    table = Table.grid(padding=(0, 1))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    if proc is None:
        status = conn.owner_status
        asks_privilege = bool(owners) and status is OwnerStatus.NEEDS_PRIVILEGE
        table.add_row(Text("process"), Text(_no_process(conn, asks_privilege)))
        if owners and asks_privilege:
            table.add_row(Text("why"), Text(owners.partition(": ")[2] or owners, style="italic"))
        return table
    denied = set(proc.denied)

    def show(name: str, text: str | None) -> Text:
        if text is None:
            return Text("access denied" if name in denied else "not reported", style="italic")
        return Text(fmt.safe(text))

    if len(conn.holders) > 1:
        pids = ", ".join(str(pid) for pid in conn.holders)
        table.add_row(
            Text("holders"), Text(f"PIDs {pids} hold this socket; OwningProcess is the lowest")
        )
    table.add_row(Text("name"), show("name", proc.name))
    table.add_row(Text("pid"), Text(str(proc.pid)))
    table.add_row(Text("user"), show("username", proc.username))
    table.add_row(
        Text("cmdline"), show("cmdline", None) if proc.cmdline is None else _command(proc)
    )
    table.add_row(Text("exe"), show("exe", proc.exe))
    return table


def _command(proc: ProcessInfo) -> Text:
    """The command line's first :data:`PANE_CMDLINE_CELLS` cells, folded at the pane's width
    (an argument longer than a line is not cut), and how many bytes are left out."""
    head, left = fmt.command_head(proc.cmdline or (), PANE_CMDLINE_CELLS)
    text = Text(head, overflow="fold")
    if left:
        text.append("…")
        text.append(f"\n({left:,} more bytes not shown)", style="italic")
    return text


def _no_process(conn: TcpConnection, asks_privilege: bool) -> str:
    """Why the pane has no process record, in words (never the owner status's token, e.g.
    ``needs-privilege``): as the Process line and the close dialog say it. ``asks_privilege``:
    the "why" row below says what would show the owner, so this line stays short."""
    status = conn.owner_status
    if conn.owning_process is not None:
        return f"PID {conn.owning_process}: its process record is gone"
    if status is OwnerStatus.RESOLVING:
        return "owner being looked up"
    if asks_privilege:
        return "owner not known: needs root"
    return process_label(None, None, status)


def state_change_text(conn: TcpConnection, now: datetime) -> Text:
    """When tcpscope saw the TCP State change (tcpscope.state_changed_at): not a WMI value."""
    text = Text("\nState changed ", style="bold")
    if conn.state_changed_at is None:
        text.append("not seen since tcpscope first listed it", style="italic")
    else:
        when = conn.state_changed_at
        text.append(f"{when.isoformat()} ({fmt.age_words(now - when)} ago)")
    text.append("\n  observed: tcpscope.state_changed_at, the TCP State's change", style="dim")
    return text


def tcp_table(
    info: TcpInfo | None,
    source: str = "netlink",
    state: TcpState | None = None,
    ghost: bool = False,
    owner: OwnerStatus | None = None,
    procfs: bool = False,
    window: int | None = None,
) -> Table | Text:
    """Every tcp_info figure tcpscope decodes (``procfs``: see why_no_tcp_info; ``window``:
    the peer's receive window, None when not known)."""
    if info is None:
        return Text(why_no_tcp_info(source, state, ghost, owner, procfs=procfs), style="italic")
    table = Table.grid(padding=(0, 1))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    if state is TcpState.LISTEN:  # only its queue is measured (as in --json)
        rows = _listener_rows(info)
    else:
        rows = (*_connection_rows(info, state), ("peer's window", _window(window)))
    for name, text in rows:
        table.add_row(Text(name), Text(text))
    return table


def _listener_rows(info: TcpInfo) -> tuple[tuple[str, str], ...]:
    """A listener's tcp_info holds rtt 0, cwnd 10, mss 0 (nothing was sent) and, in its
    unacked/sacked fields, its accept queue and backlog (``tcp_get_info``): only the queue
    is a measurement."""
    if info.recv_q is None or info.send_q is None:
        queue = "not reported (recorded before tcpscope read the queues)"
    else:
        queue = (
            f"{info.recv_q} waiting for accept(), backlog {info.send_q} "
            f"(ss: Recv-Q {info.recv_q}, Send-Q {info.send_q})"
        )
    return (
        ("rtt, cwnd, bytes", LISTENER_NOT_MEASURED),
        ("accept queue", queue),
    )


def _connection_rows(info: TcpInfo, state: TcpState | None) -> tuple[tuple[str, str], ...]:
    """A connection's figures; those the kernel has not measured yet say so, not 0, in the
    words of ``connections --json`` (:func:`not_measured`): rtt before anything is
    acknowledged (the kernel's 0 and initial variance), mss before the route gave one."""
    unmeasured = not_measured(state, info)
    rtt = unmeasured.get("rtt_us") or (
        f"{info.rtt_us / 1000:.3f} ms (var {info.rttvar_us / 1000:.3f} ms)"
    )
    mss = f"mss {unmeasured.get('snd_mss') or f'{info.snd_mss} B'}"
    return (
        ("rtt", rtt),
        ("cwnd", f"{info.snd_cwnd} segments ({mss})"),
        ("retransmits", f"{info.retrans} in flight, {info.total_retrans} total"),
        ("bytes in (received)", fmt.size(info.bytes_received)),
        ("bytes out (acked)", fmt.size(info.bytes_acked)),
        # An idle connection read "out 1 Byte": the kernel's counters include the sequence
        # numbers a SYN and a FIN take, as ss's bytes_acked / bytes_received do.
        ("", "(as the kernel and ss count: a SYN and a FIN are one byte each)"),
        ("unacked / lost", f"{info.unacked} / {info.lost} segments"),
        ("Recv-Q / Send-Q", _queues(info)),
    )


WINDOW_NOT_REPORTED: Final = (
    "not reported: read from the kernel's tcpi_snd_wnd (Linux 5.4+) in a live netlink "
    "sample, not kept in recordings or --remote frames"
)


def _window(window: int | None) -> str:
    if window is None:
        return WINDOW_NOT_REPORTED
    return f"{fmt.size(window)} (its receive window as it last advertised it: tcpi_snd_wnd)"


def _queues(info: TcpInfo) -> str:
    """As ``ss`` shows them: sequence space, a SYN or FIN not yet read or acknowledged
    counting one (the summary names it instead)."""
    if info.recv_q is None or info.send_q is None:
        return "not reported (recorded before tcpscope read the queues)"
    return (
        f"{info.recv_q} / {info.send_q} (as ss: bytes, and 1 for a SYN or FIN not yet read "
        "or acknowledged)"
    )


class DetailPane(VerticalKeyScroll, can_focus=True):
    """Shows one connection; :meth:`show` redraws it on every snapshot while open.

    A :class:`VerticalKeyScroll`: ↑↓/PgUp/PgDn read together (a held key, a slow link) each
    scroll it, where ten Downs scrolled one line.
    """

    def __init__(self, *, id: str | None = None) -> None:
        """An empty pane."""
        super().__init__(id=id)
        self.row_id: str | None = None
        self._history: list[float] = []
        self._last: tuple[object, ...] | None = None
        self._width = 0
        self.gone_since: datetime | None = None
        """Set when the connection shown left the table: the pane keeps its last values."""
        self.hidden = False
        """The connection shown is live but the filter leaves it out of the table."""
        self.back = False
        """Gone, and a new connection with its InstanceID is in the table now."""

    def compose(self) -> ComposeResult:
        """Summary and sparkline first; the property list, process and tcp_info below."""
        gone = Static(id="detail-gone")
        gone.display = False
        yield gone
        # LineStatic: a sample redraws the lines that changed (the Age line), not the pane.
        yield LineStatic(id="detail-summary")
        yield LineStatic("", id="detail-rate")
        yield MergedSparkline([], id="detail-sparkline")
        yield Static(Text(HINT, style="dim"), id="detail-hint")
        yield LineStatic(id="detail-body")
        with Collapsible(title="not reported", collapsed=True, id="detail-missing"):
            yield LineStatic(id="detail-missing-body")
        yield LineStatic(id="detail-more")

    def show(
        self,
        conn: TcpConnection | None,
        snap: Snapshot,
        proc: ProcessInfo | None,
        ghost: bool,
        rate: ByteRate | None = None,
        history: Sequence[float] = (),
        kept: NamespaceInfo | None = None,
    ) -> None:
        """Draw ``conn`` as of ``snap``; ``rate``/``history`` are its byte rates while open;
        ``kept``: a ghost's own namespace (its key may name another one by now)."""
        body = self.query_one("#detail-summary", LineStatic)
        self._mark(None)
        if conn is None:
            self.row_id, self._last = None, None  # bound to nothing: nothing can go
            self._clear()
            body.show(Text("no connection selected"))
            return
        self._last = (conn, snap, proc, ghost, rate, history, kept)
        if self.row_id != conn.instance_id:  # another connection: its answer first
            self.scroll_home(animate=False, immediate=True)
        self.row_id = conn.instance_id
        self._history = list(history)
        info = snap.tcp_info.get(conn.instance_id)
        ns = shown_namespace(conn.netns, snap.namespaces, kept)
        procfs = ns is not None and ns.read_by is ReadBy.PROCFS
        window = None if ghost else peer_window(snap.tcp_info, conn.instance_id)
        width = self._width = self.scrollable_content_region.width
        if width < 20:
            width = max(20, self.app.size.width - 4)  # not laid out yet: the take-over width
        top = summary(
            conn,
            proc,
            info,
            rate,
            source=snap.source,
            started_at=snap.started_at,
            now=snap.time,
            ghost=ghost,
            width=width,
            namespace=self._namespace_line(conn, snap, shell_of(self).own_namespace, kept),
            procfs=procfs,
            window=window,
            # short: the owner section's "why" below says it whole (five lines at 80 columns)
            hidepid=snap.privilege.hidepid_short,
        )
        body.show(top)
        split = split_properties(
            conn, snap.source, snap.started_at, snap.time, snap.privilege.hidepid
        )
        self.query_one("#detail-body", LineStatic).show(
            RichGroup(
                Text(
                    f"\nAll {len(split.shown) + split.missing_count} properties "
                    f"({len(split.shown)} with a value)",
                    "bold u",
                ),
                shown_table(split),
                state_change_text(conn, snap.time),
            )
        )
        missing = self.query_one("#detail-missing", Collapsible)
        missing.title = f"{split.missing_count} not reported {where_words(snap.source)}"
        missing.display = split.missing_count > 0
        self.query_one("#detail-missing-body", LineStatic).show(missing_text(split))
        self.query_one("#detail-more", LineStatic).show(
            RichGroup(
                Text("\nOwning process", "bold u"),
                process_table(conn, proc, snap.privilege.owners),
                Text("\nTCP internals (tcp_info)", "bold u"),
                tcp_table(info, snap.source, conn.state, ghost, conn.owner_status, procfs, window),
                *self._namespace(conn, snap, proc, kept),
            )
        )
        # A listener moves no bytes of its own: a rate line and a flat sparkline said nothing.
        self._draw_rate(info is not None and conn.state is not TcpState.LISTEN)

    def _clear(self) -> None:
        """Nothing below the summary: "no connection selected" sat above the last
        connection's whole property list."""
        for part in ("#detail-body", "#detail-missing-body", "#detail-more"):
            self.query_one(part, LineStatic).show(Text(""))
        self.query_one("#detail-missing", Collapsible).display = False
        self._history = []
        self._draw_rate(False)

    def mark_hidden(self) -> None:
        """The connection shown is live but the filter leaves it out (drawn by :meth:`show`
        just before): said over it. Why not the cursor's row: the cursor went to a row the
        filter lists, another connection, which the pane showed as if it were the same."""
        self._mark(None, hidden=True)

    def mark_gone(self, since: datetime, back: bool = False) -> None:
        """The connection shown has left the table (``since``: the sample it was first
        missing from): its last values stay, said to be gone. Why not the cursor's row: the
        cursor moves to the neighbour, which may be the same 4-tuple in another namespace, and
        the pane showed that one as if it were the same connection (``x`` then closing it).
        ``back``: a new connection with its InstanceID is in the table now (said so)."""
        if (since, back) != (self.gone_since, self.back):
            self._mark(since, back=back)
        self._draw_rate(False)  # no rate of a connection that is no more

    def unmark(self) -> None:
        """Bound anew to its InstanceID (the new connection shown from the next draw on):
        its answer first."""
        self._mark(None)
        self.scroll_home(animate=False, immediate=True)

    def _mark(self, since: datetime | None, hidden: bool = False, back: bool = False) -> None:
        self.gone_since, self.hidden, self.back = since, hidden, back
        gone = self.query_one("#detail-gone", Static)
        said = (
            (back_text if back else gone_text)(since)
            if since is not None
            else HIDDEN_TEXT
            if hidden
            else None
        )
        gone.display = said is not None
        if said is not None:
            gone.update(Text(f"⚠ {said}", style="bold yellow"))

    def on_resize(self) -> None:
        """Fit the summary's one-line answers to the new width (the command line is cut)."""
        if self._last is not None and self.scrollable_content_region.width != self._width:
            conn, snap, proc, ghost, rate, history, kept = self._last
            since, hidden, back = self.gone_since, self.hidden, self.back
            self.show(conn, snap, proc, ghost, rate, history, kept)  # type: ignore[arg-type]
            if since is not None:
                self.mark_gone(since, back)
            elif hidden:
                self.mark_hidden()

    @staticmethod
    def _namespace_line(
        conn: TcpConnection, snap: Snapshot, own: str, kept: NamespaceInfo | None
    ) -> str | None:
        """The summary's namespace line, when it is news: rows from more than one namespace,
        or this one outside the sampler's own."""
        view = snap.namespaces
        if view is None or (view.with_sockets <= 1 and conn.netns is None):
            return None
        return namespace_line(conn.netns, view, own, kept)

    def _namespace(
        self,
        conn: TcpConnection,
        snap: Snapshot,
        proc: ProcessInfo | None,
        kept: NamespaceInfo | None,
    ) -> tuple[RenderableType, ...]:
        if snap.namespaces is None:
            return ()
        own = shell_of(self).own_namespace
        return (
            Text("\nNetwork namespace", "bold u"),
            namespace_table(conn, snap.namespaces, proc, own, kept),
        )

    def rates(self) -> list[float]:
        """Bytes per second (in + out) per sample seen while open, oldest first."""
        return list(self._history)

    def _draw_rate(self, shown: bool) -> None:
        label = self.query_one("#detail-rate", LineStatic)
        spark = self.query_one("#detail-sparkline", MergedSparkline)
        label.display = shown
        spark.display = shown and len(self._history) > 1
        if self._history:
            label.show(
                Text(f"in + out while open: {fmt.short_rate(self._history[-1])}/s now", "dim")
            )
        else:
            label.show(Text("in + out while open: collecting samples…", "dim"))
        spark.show(self._history)

    def action_toggle_missing(self) -> None:
        """Open or fold the not-reported group."""
        missing = self.query_one("#detail-missing", Collapsible)
        missing.collapsed = not missing.collapsed
        if not missing.collapsed:
            self.call_after_refresh(self.scroll_to_widget, missing, animate=False, top=True)
