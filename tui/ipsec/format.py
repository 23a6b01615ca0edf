"""Text for the IPsec screen's cells: counts, rates, kinds, grades and untrusted peer strings.

Why a module: the counter rows, the detail and the SA list must spell a value, a rate, a reset
and a "not reported" the same way, and humanize belongs in ``tui`` only (byte sizes and untrusted
text reuse :mod:`tui.format`; counts need ``intcomma``, which it lacks). Functions return plain
``str`` or ``rich.text.Text`` built from literal strings (never markup), so a peer identity such
as ``[bold]`` or an ESC byte is displayed as typed, escaped.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text

from core.ipsec import CounterRow, Grade, Kind, ProviderView, start_hint
from core.textsafe import is_digits
from tui import format as tfmt

MISSING: Final = "—"
"""Shown for a value that is not reported."""
RESET: Final = "⟲ reset"
"""Shown instead of a rate at the sample where a total went down or the daemon restarted."""
LOWER_BOUND: Final = "≥"
"""Before a total that is only a lower bound (events were missed: the detail says which)."""
PENDING: Final = "…"
"""Shown for a total's rate before a second sample exists."""

GRADE_CLASS: Final[dict[Grade, str]] = {
    Grade.EXACT: "grade-exact",
    Grade.CLOSE: "grade-close",
    Grade.APPROX: "grade-approx",
    Grade.NONE: "grade-none",
}


def count(value: int | None) -> str:
    """``1,234,567`` or the missing mark."""
    return MISSING if value is None else tfmt.intcomma(value)


def value_cell(row: CounterRow) -> str:
    """``3``, or ``≥3`` when the total is only a lower bound (the listener missed events)."""
    value = count(row.value)
    return f"{LOWER_BOUND}{value}" if row.lower_bound and row.value is not None else value


def counter_rate(value: float | None) -> str:
    """A per-second rate with grouping: ``1,234.5/s`` (negative rates never reach here)."""
    if value is None:
        return PENDING
    if value >= 100:
        return f"{tfmt.intcomma(round(value))}/s"
    return f"{value:.1f}/s"


def rate_cell(row: CounterRow, *, live: bool = True) -> str:
    """The rate column: rate for totals, level for gauges, reset/pending/not-reported marks.
    Not ``live`` (the link to the server is down): nothing is measured now, so no rate and no
    level "now"."""
    if row.value is None or not live:
        return MISSING
    if row.kind is Kind.GAUGE:
        return f"{tfmt.intcomma(row.value)} now"
    if row.reset or (row.rate is not None and row.rate < 0):
        return RESET
    return counter_rate(row.rate)


def short_reason(reason: str | None) -> str:
    """A row-sized reason: ``not reported: no honest source (X)`` → ``not reported: X``.

    The full sentence stays in the detail; the row keeps the part that differs between rows.
    """
    if not reason:
        return ""
    prefix = "not reported: no honest source ("
    if reason.startswith(prefix) and reason.endswith(")"):
        return "not reported: " + reason[len(prefix) : -1]
    return reason


def literal(text: str | None, default: str = MISSING) -> Text:
    """Untrusted text as a literal Text with control characters escaped (no markup parsing)."""
    return Text(tfmt.safe(text, default), no_wrap=True)


def byte_count(value: int | None) -> str:
    """``4.0 KiB`` or the missing mark."""
    return MISSING if value is None else tfmt.size(value)


def short_rate_or_missing(value: float | None) -> str:
    """``0 B/s``, ``256 B/s``, ``4.0 KiB/s`` (at most 11 cells) or the missing mark.

    Why the unit and /s in every cell: bare ``0 B`` next to ``2.2 KiB`` under an ``In/s``
    title read as sizes, and a cell cut by its column (``256``, ``2.2 K``) said nothing at all.
    """
    return MISSING if value is None else f"{tfmt.short_rate(value)}/s"


def per_second(value: float | None) -> str:
    """A bare per-second figure (``12.0``) or the missing mark."""
    return MISSING if value is None else f"{value:,.1f}"


def ike_version(version: str | None) -> str:
    """``IKEv2`` whether the source says ``2`` (charon's VICI) or ``IKEv2`` (the demo)."""
    if not version:
        return ""
    text = version.strip()
    if is_digits(text):
        return f"IKEv{text}"
    if text.lower().startswith("ikev"):
        return "IKEv" + text[4:]
    return text


def sa_state(state: str, version: str | None = None, established_s: int | None = None) -> str:
    """``ESTABLISHED IKEv2 · up 3 min``: the same words for a live daemon and the demo."""
    parts = [state.strip().upper()]
    shown = ike_version(version)
    if shown:
        parts.append(shown)
    text = " ".join(p for p in parts if p)
    if established_s is not None:
        text += f" · up {tfmt.duration(established_s)}"
    return text


def absent_banner(view: ProviderView) -> str:
    """One banner instead of 21 rows that each say the daemon is not running."""
    why = tfmt.safe(view.error or "not available on this host")
    return "\n".join([f"✗ {view.name}: {why}", *(f"  {line}" for line in start_hint(view))])
