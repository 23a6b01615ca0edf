"""The detail pane: every MSFT_NetTCPConnection property of one connection, decoded.

Why it exists: the table shows a handful of columns; the pane answers "what does this value
mean and where does it come from". Each of the seed's 32 properties (in MOF order) shows its
value, each enum as value + the seed's name + the seed's meaning (via
:mod:`core.connections.seed_tables`), and
the rule from :func:`core.connections.property_rules.cell_rule` (the reason when not reported).
Then the owning
process, the kernel's tcp_info and a sparkline of the connection's byte rate, built from the
successive snapshots seen while the pane is open (the pane keeps only that short history).

Untrusted text (process name, user, command line, exe, addresses) goes through
:func:`tui.format.safe` and into ``Text`` objects, never markup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import Final

from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Sparkline, Static

from core.connections.model import ProcessInfo, TcpConnection, TcpInfo
from core.connections.property_rules import PROPERTIES, PropertySpec, Provenance, cell_rule, value
from core.connections.seed_tables import ENUMS
from core.connections.snapshot import Snapshot
from tui import format as fmt
from tui.connections.namespace_detail import namespace_table

HISTORY: Final = 60
"""Byte-rate samples kept while the pane is open."""


def _enum_text(wmi_enum: str, raw: object) -> Text:
    table = ENUMS[wmi_enum]
    items: Sequence[object] = raw if isinstance(raw, tuple) else (raw,)
    text = Text()
    for i, item in enumerate(items):
        if i:
            text.append("\n")
        decoded = table.decode(item if isinstance(item, int | str) else str(item))
        text.append(f"{decoded.value} ", style="bold")
        text.append(decoded.name, style="bold")
        if decoded.meaning:
            text.append(f" — {decoded.meaning}")
    return text


def value_text(spec: PropertySpec, raw: object, now: datetime) -> Text:
    """A property's value: decoded enum, time with its age, or plain text (made safe)."""
    if raw is None:
        return Text("null", style="italic")
    if spec.enum is not None:
        return _enum_text(spec.enum, raw)
    if isinstance(raw, datetime):
        return Text(f"{raw.isoformat(timespec='seconds')} ({fmt.age_words(now - raw)} ago)")
    if isinstance(raw, tuple):
        return Text(", ".join(fmt.safe(str(v)) for v in raw))
    return Text(fmt.safe(str(raw)))


def properties_table(
    conn: TcpConnection, source: str, started_at: datetime, now: datetime
) -> Table:
    """All 32 properties: name, value, and how it was obtained."""
    table = Table.grid(padding=(0, 1))
    table.add_column("property", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    for spec in PROPERTIES:
        rule = cell_rule(conn, spec.wmi_name, source, started_at)
        cell = value_text(spec, value(conn, spec), now)
        cell.append("\n")
        label = (
            "not reported: "
            if rule.provenance is Provenance.NOT_REPORTED
            else (f"{rule.provenance.value}: ")
        )
        reason = rule.text.removeprefix("not reported: ")
        cell.append(f"  {label}{reason}", style="dim")
        table.add_row(Text(spec.wmi_name), cell)
    return table


def process_table(conn: TcpConnection, proc: ProcessInfo | None) -> Table:
    """The owning process: name, PID, user, command line, executable (all made safe)."""
    table = Table.grid(padding=(0, 1))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    if proc is None:
        why = "no owning process known" if conn.owning_process is None else "process record gone"
        table.add_row(Text("process"), Text(f"{why} ({conn.owner_status.value})"))
        return table
    denied = set(proc.denied)

    def show(name: str, text: str | None) -> Text:
        if text is None:
            return Text("access denied" if name in denied else "not reported", style="italic")
        return Text(fmt.safe(text))

    cmdline = None if proc.cmdline is None else " ".join(proc.cmdline)
    table.add_row(Text("name"), show("name", proc.name))
    table.add_row(Text("pid"), Text(str(proc.pid)))
    table.add_row(Text("user"), show("username", proc.username))
    table.add_row(Text("cmdline"), show("cmdline", cmdline))
    table.add_row(Text("exe"), show("exe", proc.exe))
    return table


def tcp_table(info: TcpInfo | None) -> Table | Text:
    """rtt, cwnd, retransmits, bytes acked/received from the kernel's tcp_info."""
    if info is None:
        return Text(
            "not reported: the kernel gives no tcp_info for this socket "
            "(TIME_WAIT, request or listening sockets, or a source without it)",
            style="italic",
        )
    table = Table.grid(padding=(0, 1))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    rows = (
        ("rtt", f"{info.rtt_us / 1000:.3f} ms (var {info.rttvar_us / 1000:.3f} ms)"),
        ("cwnd", f"{info.snd_cwnd} segments (mss {info.snd_mss} B)"),
        ("retransmits", f"{info.retransmits} now, {info.total_retrans} total"),
        ("bytes acked", fmt.size(info.bytes_acked)),
        ("bytes received", fmt.size(info.bytes_received)),
        ("unacked / lost", f"{info.unacked} / {info.lost} segments"),
    )
    for name, text in rows:
        table.add_row(Text(name), Text(text))
    return table


def _total_bytes(info: TcpInfo | None) -> int | None:
    if info is None or (info.bytes_acked is None and info.bytes_received is None):
        return None
    return (info.bytes_acked or 0) + (info.bytes_received or 0)


class DetailPane(VerticalScroll, can_focus=True):
    """Shows one connection; :meth:`show` redraws it on every snapshot while open."""

    def __init__(self, *, id: str | None = None) -> None:
        """An empty pane."""
        super().__init__(id=id)
        self.row_id: str | None = None
        self._history: deque[tuple[datetime, int]] = deque(maxlen=HISTORY + 1)
        self._last_seq = -1

    def compose(self) -> ComposeResult:
        """Title, the properties, the process and TCP sections, the sparkline."""
        yield Static(id="detail-body")
        yield Static("byte rate (acked + received) while this pane is open", id="detail-rate")
        yield Sparkline([], id="detail-sparkline")

    def show(
        self, conn: TcpConnection | None, snap: Snapshot, proc: ProcessInfo | None, ghost: bool
    ) -> None:
        """Draw ``conn`` as of ``snap`` (the pane's history restarts on another connection)."""
        body = self.query_one("#detail-body", Static)
        if conn is None:
            body.update(Text("no connection selected"))
            return
        if conn.instance_id != self.row_id:
            self.row_id = conn.instance_id
            self._history.clear()
            self._last_seq = -1
        info = snap.tcp_info.get(conn.instance_id)
        self._record(snap, info)
        title = Text()
        title.append(fmt.state_name(conn.state), style="bold")
        title.append(
            f"  {fmt.endpoint(conn.local_address, conn.local_port)} → "
            f"{fmt.endpoint(conn.remote_address, conn.remote_port)}"
        )
        if ghost:
            title.append("  (closed: last known state)", style="italic")
        title.append("\nEsc closes · Enter toggles", style="dim")
        body.update(
            RichGroup(
                title,
                Text("\nMSFT_NetTCPConnection properties (32, in the seed's order)", "bold u"),
                properties_table(conn, snap.source, snap.started_at, snap.time),
                Text("\nOwning process", "bold u"),
                process_table(conn, proc),
                Text("\nTCP internals (tcp_info)", "bold u"),
                tcp_table(info),
                *self._namespace(conn, snap, proc),
            )
        )
        self._draw_rate()

    @staticmethod
    def _namespace(
        conn: TcpConnection, snap: Snapshot, proc: ProcessInfo | None
    ) -> tuple[RenderableType, ...]:
        if snap.namespaces is None:
            return ()
        return (Text("\nNetwork namespace", "bold u"), namespace_table(conn, snap.namespaces, proc))

    def _record(self, snap: Snapshot, info: TcpInfo | None) -> None:
        total = _total_bytes(info)
        if total is None or snap.seq == self._last_seq:
            return
        self._last_seq = snap.seq
        self._history.append((snap.time, total))

    def rates(self) -> list[float]:
        """Bytes per second between successive samples seen while open."""
        points = list(self._history)
        rates: list[float] = []
        for (t0, b0), (t1, b1) in pairwise(points):
            seconds = (t1 - t0).total_seconds()
            rates.append(max(0, b1 - b0) / seconds if seconds > 0 else 0.0)
        return rates

    def _draw_rate(self) -> None:
        rates = self.rates()
        label = self.query_one("#detail-rate", Static)
        if rates:
            label.update(f"byte rate (acked + received): {fmt.rate(rates[-1])} now")
        else:
            label.update("byte rate (acked + received): collecting samples…")
        self.query_one("#detail-sparkline", Sparkline).data = rates
