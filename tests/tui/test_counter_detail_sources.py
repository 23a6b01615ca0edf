"""At 80x24 the counter detail's "Sources" table shows every provider's source expression whole.

Why: Rich wraps a cell only at spaces and cut a longer word with ``…``: libreswan's
NegotiationFailures read ``total.{ikev1.ipsec,ikev2.child}.finished.{auth-fa…`` with no key
showing the rest, and its ``Σ`` stood alone on a line, away from the term it sums.
"""

from __future__ import annotations

import re

from textual.widgets import Static

from core.ipsec import COUNTERS, PROVIDERS, source_for
from tests.tui.test_ipsec_screen import make, open_ipsec
from tui.ipsec.detail_screen import CounterDetailScreen


def _sources_lines(detail: CounterDetailScreen) -> list[str]:
    """Every line the detail's Sources table draws (on screen or scrolled to), right-trimmed."""
    sources = detail.query_one(".detail-sources", Static)
    return [sources.render_line(y).text.rstrip() for y in range(sources.size.height)]


def _column(lines: list[str]) -> list[str]:
    """The "Source and reason" column of the table's lines (from its header's x on)."""
    header = next(i for i, line in enumerate(lines) if "Source and reason" in line)
    x = lines[header].index("Source and reason")
    return [line[x:] for line in lines[header + 1 :]]


async def test_at_80x24_every_source_expression_is_shown_whole() -> None:
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ipsec(pilot, app, feed, 2)
        seen = set()
        for _ in COUNTERS:  # the first provider's rows, one by one
            await pilot.press("enter")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, CounterDetailScreen)
            counter = detail.counter
            seen.add(counter)
            column = _column(_sources_lines(detail))
            drawn = "".join(column)
            assert "…" not in drawn, (counter, column)
            for provider in PROVIDERS:
                expression = source_for(counter, provider, detail._versions.get(provider))
                # Broken over lines, at a space (dropped there) or inside a long word.
                whole = re.sub(r"\s+", "", expression.expression)
                assert whole in re.sub(r"\s+", "", drawn), (counter, provider, column)
            # A sum's sign stays on the line of the term it sums.
            assert not any(line.rstrip().endswith("Σ") for line in column), (counter, column)
            await pilot.press("escape", "down")
        assert seen == set(COUNTERS)
