"""The IPsec native view's tables: each provider's own counters, and its IKE/CHILD SAs.

Why: the 21 Windows-shaped counters are an interpretation; the native counters (every
``xfrm_stat`` key, strongSwan's half-open SAs and per-exchange counts, …) and the SA list are
what the sources actually say. Peer identities, hosts and algorithm names are peer-controlled
text: every such cell is a literal ``Text`` with control characters escaped, never markup.
While a remote link is down (``live=False``) both keep the last values received, dimmed, with
no rate (nothing is measured now), as the 21 counters do.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text
from textual.widgets import DataTable

from core.ipsec import ChildSa, IkeSa, ProviderView
from tui import format as tfmt
from tui.ipsec import format as fmt
from tui.widgets.table_sync import Cell, Row, sync_table

NOT_LIVE_STYLE: Final = "dim"
NATIVE_COLUMNS: Final = ("provider", "counter", "value", "rate")
SA_COLUMNS: Final = (
    ("sa", "SA", None),
    ("state", "State", None),
    ("in_rate", "In/s", None),
    ("out_rate", "Out/s", None),
    ("remote", "Remote", None),
    ("in", "Bytes in", None),
    ("out", "Bytes out", None),
    ("packets", "Packets in/out", None),
    ("packet_rate", "Packets/s in/out", None),
    ("local", "Local", None),
    ("algorithms", "Algorithms", None),
)
"""Key, title and fixed width (None: fit) of each SA column; traffic first, long text last.
At 80 columns the SA, its State and both rates (``47.4 KiB/s``) fit; the page scrolls sideways
a column per ←/→ to the remote end and the rest (peers and traffic selectors are cut to
:data:`ENDS_CELLS`)."""
ENDS_CELLS: Final = 30
"""Cells of a Remote or Local cell at most (a peer's identity can be any length)."""
SA_KEYS: Final = tuple(key for key, _, _ in SA_COLUMNS)


class PageTable(DataTable[Cell], can_focus=False):
    """A DataTable drawn whole inside a scrolling page: the page scrolls, the table does not.

    Why no max-height: DataTable's own CSS caps it at 100% of its container, so inside the
    native page a table longer than the screen was cut at the screen's height, and the page,
    no taller than that, had nothing left to scroll: no key reached the rows below the cut.
    ``initial`` in a widget's DEFAULT_CSS means Textual's default (none); in the app's .tcss it
    would mean DataTable's 100% again.
    """

    DEFAULT_CSS = """
    PageTable {
        max-height: initial;
    }
    """


class NativeTable(PageTable):
    """Native counters of every provider: name, value, rate of running totals, missing groups."""

    def on_mount(self) -> None:
        """Declare the columns."""
        self.cursor_type = "none"
        self.zebra_stripes = True
        for key, title in zip(
            NATIVE_COLUMNS, ("Provider", "Native counter", "Value", "Rate"), strict=True
        ):
            self.add_column(title, key=key)

    def show(self, providers: tuple[ProviderView, ...], *, live: bool = True) -> None:
        """Show the native counters of ``providers`` (sorted by name within a provider);
        not ``live``: the last ones received (dimmed, no rate)."""
        sync_table(self, not_live(native_rows(providers, live=live), live), NATIVE_COLUMNS)


def not_live(rows: list[Row], live: bool) -> list[Row]:
    """``rows`` dimmed when not ``live`` (the last values received while the link is down)."""
    if live:
        return rows
    return [(key, tuple(_dim(cell) for cell in cells)) for key, cells in rows]


def _dim(cell: Cell) -> Text:
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    text.stylize(NOT_LIVE_STYLE)
    return text


def native_rows(providers: tuple[ProviderView, ...], *, live: bool = True) -> list[Row]:
    """One row per native counter, then one per group the provider could not read; not
    ``live``: no rate of the running totals (—). A provider that failed outright is said in
    the banner above the page (``native_page.failure_banner``), not in a cell here."""
    rows: list[Row] = []
    for view in providers:
        for key in sorted(view.native):
            rate = view.native_rates.get(key)
            is_total = key in view.native_rates
            shown = fmt.counter_rate(rate) if live else fmt.MISSING
            rows.append(
                (
                    f"{view.name}/{key}",
                    (
                        fmt.literal(view.name),
                        fmt.literal(key),
                        fmt.count(view.native[key]),
                        shown if is_total else "",
                    ),
                )
            )
        for group, reason in sorted(view.native_reasons.items()):
            rows.append(
                (
                    f"{view.name}/!{group}",
                    (
                        fmt.literal(view.name),
                        fmt.literal(group),
                        fmt.MISSING,
                        Text(tfmt.safe(reason), style="italic"),
                    ),
                )
            )
    return rows


class SaList(PageTable):
    """IKE SAs with their CHILD SAs indented below them: state, peers, algorithms, traffic."""

    def on_mount(self) -> None:
        """Declare the columns."""
        self.cursor_type = "none"
        for key, title, width in SA_COLUMNS:
            self.add_column(title, key=key, width=width)

    def show(self, providers: tuple[ProviderView, ...], *, live: bool = True) -> None:
        """Show every provider's SAs; not ``live``: as last received (dimmed, no rates)."""
        sync_table(self, not_live(sa_rows(providers, live=live), live), SA_KEYS)


def _peer(host: str | None, ident: str | None) -> Text:
    """``id @ host`` as literal text (both peer-controlled)."""
    text = fmt.literal(ident, "")
    if host:
        if text.plain:
            text.append(" @ ")
        text.append(tfmt.safe(host))
    return text


def _cut(text: Text) -> Text:
    """``text`` in at most :data:`ENDS_CELLS` cells, an ellipsis marking a cut."""
    text.truncate(ENDS_CELLS, overflow="ellipsis")
    return text


def _ordered(cells: dict[str, Cell]) -> tuple[Cell, ...]:
    return tuple(cells.get(key, "") for key in SA_KEYS)


def _ike_row(provider: str, sa: IkeSa) -> Row:
    label = fmt.literal(f"{sa.name} #{sa.uniqueid}")
    label.stylize("bold")
    cells: dict[str, Cell] = {
        "sa": label,
        "state": fmt.literal(fmt.sa_state(sa.state, sa.version, sa.established_s)),
        "remote": _cut(_peer(sa.remote_host, sa.remote_id)),
        "local": _cut(_peer(sa.local_host, sa.local_id)),
        "algorithms": fmt.literal(sa.algorithms),
    }
    return f"{provider}/ike/{sa.uniqueid}", _ordered(cells)


def _child_row(provider: str, ike: IkeSa, child: ChildSa, *, live: bool = True) -> Row:
    label = Text("  └ ")
    label.append(tfmt.safe(f"{child.name} #{child.uniqueid}"))
    cells: dict[str, Cell] = {
        "sa": label,
        "state": fmt.literal(
            " ".join(p for p in (fmt.sa_state(child.state), child.mode, child.protocol) if p)
        ),
        "remote": _cut(fmt.literal(" ".join(child.remote_ts))),
        "local": _cut(fmt.literal(" ".join(child.local_ts))),
        "algorithms": fmt.literal(child.algorithms),
        "in": fmt.byte_count(child.bytes_in),
        "out": fmt.byte_count(child.bytes_out),
        "in_rate": fmt.short_rate_or_missing(child.bytes_in_rate),
        "out_rate": fmt.short_rate_or_missing(child.bytes_out_rate),
        "packets": f"{fmt.count(child.packets_in)}/{fmt.count(child.packets_out)}",
        "packet_rate": (
            f"{fmt.per_second(child.packets_in_rate)}/{fmt.per_second(child.packets_out_rate)}"
        ),
    }
    if not live:  # nothing is measured now
        cells.update(dict.fromkeys(("in_rate", "out_rate", "packet_rate"), fmt.MISSING))
    return f"{provider}/child/{ike.uniqueid}/{child.uniqueid}", _ordered(cells)


def sa_rows(providers: tuple[ProviderView, ...], *, live: bool = True) -> list[Row]:
    """IKE SA rows, each followed by its CHILD SA rows, provider by provider (not ``live``:
    no rates)."""
    rows: list[Row] = []
    for view in providers:
        for sa in view.sas:
            rows.append(_ike_row(view.name, sa))
            rows.extend(_child_row(view.name, sa, c, live=live) for c in sa.children)
    return rows
