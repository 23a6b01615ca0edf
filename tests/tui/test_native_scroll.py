"""The IPsec native page at 80x24 on a keyboard alone: columns, ends, banners, counter detail.

Why: an outside review at 80x24 found the page scrolled one column per → (about 120 presses to
the Algorithms column), a stopped daemon's message cut at its start while scrolled right, End
scrolled past the content to an empty page, and a not-reported counter's detail saying its
reason three times over an empty history. Asserted on what is drawn, through the real sampler.
"""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from tests.tui.ipsec_fixtures import VICI_MISSING
from tests.tui.test_ipsec_screen import (
    _last_native_key,
    advance,
    drawn_lines,
    make,
    open_ipsec,
    real_kernel_app,
    view,
)
from tui.app import TcpscopeApp
from tui.ipsec.counter_detail import CounterDetail
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.sa_list import SA_COLUMNS
from tui.key_scroll import KeyScroll
from tui.widgets.rate_sparkline import RateSparkline


def page_lines(app: TcpscopeApp) -> list[str]:
    """The drawn lines of the native page (below the filter line, above the footer)."""
    page = app.screen.query_one("#ipsec-native", KeyScroll)
    lines = drawn_lines(app)
    return lines[page.region.y : page.region.bottom]


async def test_at_80x24_right_jumps_to_the_next_column_and_home_back_to_the_first() -> None:
    """Each → brings the next SA column's title to the left edge (a few keys reach
    Algorithms, the last), ← the one before, Home the first."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.press("n")
        page = screen.query_one("#ipsec-native", KeyScroll)
        titles = [title for _, title, _ in SA_COLUMNS]
        await pilot.press("right")
        header = page_lines(app)[1]
        assert header.lstrip().startswith(titles[1]), header
        await pilot.press("left")
        assert page.scroll_x == 0
        presses = 0
        while not any(titles[-1] in line for line in page_lines(app)):
            assert presses < len(titles) - 1, "Algorithms not reached a column per →"
            await pilot.press("right")
            presses += 1
        await pilot.press("home")
        assert (page.scroll_x, page.scroll_y) == (0, 0)
        assert page_lines(app)[1].lstrip().startswith(titles[0])


async def test_at_80x24_a_stopped_daemon_is_said_from_its_start_while_scrolled_right() -> None:
    """Scrolled to the last columns when charon stops (read 3): its banner is read from its
    first word, above the page, not cut at its start by the sideways scroll."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 3)
        await pilot.press("n", "end")
        page = screen.query_one("#ipsec-native", KeyScroll)
        assert page.scroll_x > 80
        await advance(pilot, app, feed)  # read 3: charon gone
        await pilot.pause()
        lines = drawn_lines(app)
        start = f"✗ strongswan: {VICI_MISSING}"[:40]
        assert any(line.lstrip().startswith(start) for line in lines), "\n".join(lines)


async def test_at_80x24_end_shows_the_last_columns_never_an_empty_page() -> None:
    """All rows fit: End shows the last columns (Algorithms). A page taller than the screen
    (the real kernel's native counters), scrolled right: End shows its last row, whole."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.press("n", "end")
        assert any("Algorithms" in line for line in page_lines(app))
    app, feed = real_kernel_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 2)
            await pilot.press("n", *("right",) * 6)
            page = screen.query_one("#ipsec-native", KeyScroll)
            assert page.scroll_x > 40 and page.max_scroll_y > 0
            await pilot.press("end")
            last = _last_native_key(screen)
            drawn = page_lines(app)
            assert any(line.lstrip().startswith("kernel") and last in line for line in drawn)
    finally:
        feed.sampler.close()


async def test_a_not_reported_counters_detail_says_why_once_and_draws_no_empty_history() -> None:
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ipsec(pilot, app, feed, 3)
        await pilot.press("slash", *"invalidpackets", "enter", "down", "enter")
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        core_row = view(app).row("kernel", "InvalidPackets")
        assert core_row.value is None and core_row.reason
        pane = detail.query_one(CounterDetail)
        console = Console(width=76, record=True, file=io.StringIO())
        for static in pane.query(Static):
            if static.display:
                console.print(static.content)
        text = " ".join(console.export_text().split())  # (the table wraps its cells)
        why = "no honest source (the kernel does not parse IKE)"
        assert text.count(why) == 1, text
        assert not pane.query_one(RateSparkline).display
        assert not pane.query_one(".detail-trend-caption", Static).display
