"""The detail pane's property list: reported values first, the not-reported ones folded.

Why: on Linux 15 of the 32 MSFT_NetTCPConnection properties are null, mostly for one shared
reason ("Linux reports no CIM status for a socket"). Listing each with its reason buries the
values that exist. Here the reported, derived, default and observed properties come first in
the class's order; the rest are grouped by reason, each reason shown once with the names it
covers, for a collapsible "N not reported" section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.table import Table
from rich.text import Text

from core.connections import (
    ENUMS,
    PROPERTIES,
    PropertySpec,
    Provenance,
    TcpConnection,
    cell_rule,
    property_value,
)
from tui import format as fmt


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
        # isoformat keeps the microseconds a bound was measured with (none: whole seconds).
        return Text(f"{raw.isoformat()} ({fmt.age_words(now - raw)} ago)")
    if isinstance(raw, tuple):
        return Text(", ".join(fmt.safe(str(v)) for v in raw))
    return Text(fmt.safe(str(raw)))


@dataclass(frozen=True, slots=True)
class PropertySplit:
    """Properties with a value (or a stated rule), and null ones grouped by shared reason."""

    shown: tuple[tuple[str, Text, str], ...]
    """(name, value, how it was obtained) in the class's order."""
    missing: tuple[tuple[str, tuple[str, ...]], ...]
    """(reason, names) — each reason once, in the order its first property appears."""

    @property
    def missing_count(self) -> int:
        """How many properties are not reported."""
        return sum(len(names) for _, names in self.missing)


def where_words(source: str) -> str:
    """``on Linux`` / ``by the demo host`` / ``by psutil``: who does not report them."""
    if source == "netlink":
        return "on Linux"
    if source == "demo":
        return "by the demo host"
    return f"by {source}"


def split_properties(
    conn: TcpConnection,
    source: str,
    started_at: datetime,
    now: datetime,
    hidepid: str | None = None,
) -> PropertySplit:
    """Every property of ``conn``, shown or grouped as not reported (``hidepid``: see
    :func:`core.connections.cell_rule`)."""
    shown: list[tuple[str, Text, str]] = []
    missing: dict[str, list[str]] = {}
    for spec in PROPERTIES:
        rule = cell_rule(conn, spec.wmi_name, source, started_at, hidepid=hidepid)
        raw = property_value(conn, spec)
        if rule.provenance is Provenance.NOT_REPORTED and raw is None:
            reason = rule.text.removeprefix("not reported: ")
            missing.setdefault(reason, []).append(spec.wmi_name)
            continue
        shown.append((spec.wmi_name, value_text(spec, raw, now), f"{rule.provenance}: {rule.text}"))
    return PropertySplit(
        tuple(shown), tuple((reason, tuple(names)) for reason, names in missing.items())
    )


def shown_table(split: PropertySplit) -> Table:
    """Name, value and (dim, below) how the value was obtained."""
    table = Table.grid(padding=(0, 1))
    table.add_column("property", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    for name, cell, how in split.shown:
        cell = cell.copy()
        cell.append(f"\n{how}", style="dim")
        table.add_row(Text(name), cell)
    return table


def missing_text(split: PropertySplit) -> Text:
    """Each shared reason once, followed by the properties it covers."""
    text = Text()
    for i, (reason, names) in enumerate(split.missing):
        if i:
            text.append("\n")
        text.append(", ".join(names), style="bold")
        text.append(f"\n  {reason}", style="dim")
    return text
