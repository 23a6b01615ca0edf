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
VALUE_CELLS: Final = 11
"""Width of a counter row's value cell (``.cell-value`` in ipsec.tcss): ``999,999,999`` whole."""
RATE_CELLS: Final = 10
"""Width of a counter row's rate cell (``.cell-rate`` in ipsec.tcss): ``99,999 now`` whole."""
UNITS: Final = ("k", "M", "G", "T", "P", "E")
"""SI prefixes of :func:`compact`, 10**3 each; a uint64 counter ends at 18.4 E."""

GRADE_CLASS: Final[dict[Grade, str]] = {
    Grade.EXACT: "grade-exact",
    Grade.CLOSE: "grade-close",
    Grade.APPROX: "grade-approx",
    Grade.NONE: "grade-none",
}


def count(value: int | None) -> str:
    """``1,234,567`` or the missing mark."""
    return MISSING if value is None else tfmt.intcomma(value)


def compact(value: int) -> str:
    """``1.23 T``: three significant digits and an SI prefix, cut down, never rounded up.

    Why down: the row shows a count (or a lower bound, after ``≥``) that has been reached;
    ``1.00 T`` for 999,999,999,999 would claim one more event than happened. The detail
    gives the exact figure.
    """
    if value < 1000:
        return str(value)
    power = min((len(str(value)) - 1) // 3, len(UNITS))
    scale = 1000**power
    decimals = max(0, 3 - len(str(value // scale)))
    whole, part = divmod(value * 10**decimals // scale, 10**decimals)
    figure = f"{whole}.{part:0{decimals}d}" if decimals else str(whole)
    return f"{figure} {UNITS[power - 1]}"


def fitted_count(value: int, width: int | None = None) -> str:
    """``1,234,567`` when it has at most ``width`` characters (None: any), else compact.

    Why not cut: a label cuts at its end, so 1,234,567,890,123 in 11 cells read
    ``1,234,567,8``, about a thousandth of the count, with nothing to say so.
    """
    whole = tfmt.intcomma(value)
    return whole if width is None or len(whole) <= width else compact(value)


def value_cell(row: CounterRow, width: int | None = None) -> str:
    """``3``, or ``≥3`` when the total is only a lower bound (the listener missed events);
    within ``width`` characters (``1.23 T``) when given (a row), exact when not (the detail)."""
    if row.value is None:
        return MISSING
    if not row.lower_bound:
        return fitted_count(row.value, width)
    room = None if width is None else width - len(LOWER_BOUND)
    return f"{LOWER_BOUND}{fitted_count(row.value, room)}"


def counter_rate(value: float | None, width: int | None = None) -> str:
    """A per-second rate with grouping: ``1,234.5/s`` (negative rates never reach here);
    ``1.23 G/s`` when it would not fit ``width`` characters (None: any)."""
    if value is None:
        return PENDING
    if value >= 100:
        room = None if width is None else width - len("/s")
        return f"{fitted_count(round(value), room)}/s"
    return f"{value:.1f}/s"


def rate_cell(row: CounterRow, *, live: bool = True, width: int | None = None) -> str:
    """The rate column: rate for totals, level for gauges, reset/pending/not-reported marks.
    Not ``live`` (the link to the server is down): nothing is measured now, so no rate and no
    level "now". Within ``width`` characters when given: a wide level is compact and keeps
    its ``now`` (a label wrapped ``211,968 now`` at the space and showed a bare ``211,968``)."""
    if row.value is None or not live:
        return MISSING
    if row.kind is Kind.GAUGE:
        room = None if width is None else width - len(" now")
        return f"{fitted_count(row.value, room)} now"
    if row.reset or (row.rate is not None and row.rate < 0):
        return RESET
    return counter_rate(row.rate, width)


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


def absent_banner(view: ProviderView, tcpscope: str = "tcpscope") -> str:
    """One banner instead of 21 rows that each say the daemon is not running; ``tcpscope``:
    how to run tcpscope for the host shown (see :func:`core.ipsec.start_hint`)."""
    why = tfmt.safe(view.error or "not available on this host")
    hint = start_hint(view, tcpscope)
    return "\n".join([f"✗ {tfmt.safe(view.name)}: {why}", *(f"  {line}" for line in hint)])
