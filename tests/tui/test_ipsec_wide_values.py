"""Counter values as wide as a uint64 on the IPsec screen's rows at 80 and 60 columns.

The reviewer's run: a charon whose ``invalid-spi`` was 1234567890123 showed the row
``InvalidCookiesReceived1,234,567,8     0.0/s``: the value cut to its first digit groups (it read
as about 1.2 billion) and run into the 22-character name; a gauge of 211,968 lost its ``now``.
Every value must be drawn whole or in a compact form with a unit that is never more than
the value (the detail gives it exactly), apart from its name, and a lower bound keeps its ``≥``.
"""

from __future__ import annotations

import re

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from core.ipsec.model import Kind
from core.ipsec.providers.base import UINT64_MAX
from tests.tui.ipsec_fixtures import IpsecFrame, ScriptedIpsecProvider, SteppedIpsecFeed
from tests.tui.test_ipsec_screen import HOST, drawn_lines, open_ipsec, view
from tui.app import TcpscopeApp
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.format import VALUE_CELLS, compact, fitted_count

TOTALS = {
    "InvalidCookiesReceived": 1_234_567_890_123,  # the reviewer's value
    "NegotiationFailures": UINT64_MAX,
    "KeyAdditions": 123_456_789,  # 11 characters: fits whole
    "OakleyMainMode": 123_456_789,  # a lower bound: ≥ makes it 12
    "OakleyQuickMode": 99_999_999,  # a lower bound that fits whole: ≥99,999,999
}
GAUGES = {
    "ActiveReceive": 211_968,  # lost its " now"
    "ActiveAcquire": UINT64_MAX,
    "ConnectionListSize": 99_999,  # "99,999 now" fits the rate cell whole
}
JUMP = "TotalGetSPI"
"""A total that jumps by 10**15 in one second: its rate is as wide as a value."""
LOWER = "lower bound: tcpscope's listener lost charon 1 time since it started"
UNITS = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
COMPACT = re.compile(r"(\d+(?:\.\d+)?) ([kMGTPE])")


def _frame(i: int) -> IpsecFrame:
    values: dict[str, int | None] = {**TOTALS, **GAUGES, JUMP: 0 if i == 0 else 10**15}
    bounds = dict.fromkeys(("OakleyMainMode", "OakleyQuickMode"), LOWER)
    return IpsecFrame(values=values, lower_bounds=bounds)


def _shows(text: str, value: int) -> bool:
    """True when ``text`` is ``value`` whole (``1,234``) or compact and never above it
    (``1.23 T``: at least 1.23 and less than 1.24 trillion)."""
    if text == f"{value:,}":
        return True
    match = COMPACT.fullmatch(text)
    if match is None:
        return False
    digits, unit = match.groups()
    step = 10 ** -len(digits.partition(".")[2])
    low, high = float(digits) * UNITS[unit], (float(digits) + step) * UNITS[unit]
    return low <= value < high and len(digits.replace(".", "")) >= 3


def _row_line(lines: list[str], name: str) -> str:
    # (The scrollbar's thumb may be drawn at its end on one page and not on the next.)
    found = {re.sub(r"[▁-█ ]+$", "", line) for line in lines if f" {name}" in line}
    assert len(found) == 1, (name, lines)
    return found.pop()


# A row: name, spaces, value (≥, digits, separators, a unit), spaces, rate (/s or now).
ROW = re.compile(
    r" (?P<name>[A-Za-z]+) +(?P<value>≥?[\d,.]+(?: [kMGTPE])?)"
    r" +(?P<rate>[\d,.]+(?: [kMGTPE])?(?:/s| now)) "
)


async def _all_lines(pilot: Pilot[int], app: TcpscopeApp) -> list[str]:
    """Every line drawn while the cursor pages from the first row to the last."""
    lines: list[str] = []
    await pilot.press("home")
    for _ in range(6):  # 21 rows: a few screenfuls even at 60x16
        await pilot.pause()
        lines += drawn_lines(app)
        await pilot.press("pagedown")
    return lines


@pytest.mark.parametrize("size", [(80, 24), (60, 16)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_wide_values_are_shown_whole_or_compact_apart_from_their_names(
    size: tuple[int, int],
) -> None:
    provider = ScriptedIpsecProvider("strongswan", _frame, version="5.9.8")
    feed = SteppedIpsecFeed([provider])
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=size) as pilot:
        await open_ipsec(pilot, app, feed, 2)
        lines = await _all_lines(pilot, app)
        for name, value in {**TOTALS, **GAUGES, JUMP: 10**15}.items():
            line = _row_line(lines, name)
            row = view(app).row("strongswan", name)
            assert row.value == value
            match = ROW.search(line)
            assert match is not None and match["name"] == name, line
            shown = match["value"]
            assert shown.startswith("≥") is (row.lower_bound is not None), line
            assert _shows(shown.removeprefix("≥"), value), line
            rate = match["rate"]
            if row.kind is Kind.GAUGE:
                assert rate.endswith(" now") and _shows(rate.removesuffix(" now"), value), line
            elif name == JUMP:
                assert rate.endswith("/s") and _shows(rate.removesuffix("/s"), 10**15), line
            else:
                assert rate == "0.0/s", line
        # The detail gives the exact value, whatever the row showed.
        for name in ("InvalidCookiesReceived", "OakleyMainMode"):
            await pilot.press("slash", *name.lower(), "enter", "enter")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, CounterDetailScreen)
            text = " ".join(str(s.render()) for s in detail.query(Static))
            mark = "≥" if name == "OakleyMainMode" else ""
            assert f"Value  {mark}{TOTALS[name]:,}" in text
            await pilot.press("escape", "escape")
            await pilot.pause()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1_234_567_890_123, "1.23 T"),
        (999_999_999_999, "999 G"),  # cut down: "1.00 T" would claim a count not reached
        (1_000_000_000, "1.00 G"),
        (12_345_678_901, "12.3 G"),
        (UINT64_MAX, "18.4 E"),
        (211_968, "211 k"),
        (999, "999"),
    ],
)
def test_compact_keeps_three_digits_and_never_rounds_up(value: int, shown: str) -> None:
    assert compact(value) == shown
    assert _shows(shown, value) or value < 1000


def test_a_figure_is_compact_only_when_it_does_not_fit() -> None:
    assert fitted_count(999_999_999, VALUE_CELLS) == "999,999,999"
    assert fitted_count(1_000_000_000, VALUE_CELLS) == "1.00 G"
    assert fitted_count(10**15) == "1,000,000,000,000,000"  # the detail: exact
