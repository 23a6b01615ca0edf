"""Screenshot tests on frozen scripted data at 80x24 and 120x40 (pytest-textual-snapshot).

The feed is stepped by hand through the real Sampler with a StepClock, the host name is fixed
and every age is measured from the snapshot's own time, so the pictures do not move.
Update baselines with ``--snapshot-update`` only after reading the diff report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.scripted import HOST, SteppedFeed, linux_frames
from tui.app import TcpscopeApp
from tui.connections.screen import ConnectionsScreen

SIZES = [(80, 24), (120, 40)]


def make(
    steps: int = 2, *, linux: bool = False, steps_after_open: int = 0
) -> tuple[TcpscopeApp, Callable[[Pilot[int]], Any]]:
    feed = SteppedFeed(linux_frames, name="netlink") if linux else SteppedFeed()
    app = TcpscopeApp(feed, hostname=HOST)

    async def one_step(pilot: Pilot[int]) -> None:
        snap = await feed.step()
        for _ in range(100):
            if app.snapshot is not None and app.snapshot.seq >= snap.seq:
                break
            await pilot.pause()

    async def run_before(pilot: Pilot[int]) -> None:
        for _ in range(steps):
            await one_step(pilot)
        if steps_after_open:
            await pilot.press("down", "enter")  # the first Established row
            for _ in range(steps_after_open):
                await one_step(pilot)
        await pilot.pause()

    return app, run_before


class TestConnectionsScreen:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_table(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make()
        assert snap_compare(app, terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_detail_pane(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make()

        async def open_detail(pilot: Pilot[int]) -> None:
            await before(pilot)
            await pilot.press("down", "down", "down", "down", "down", "enter")
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=open_detail)

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_filter_active(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make()

        async def filtered(pilot: Pilot[int]) -> None:
            await before(pilot)
            screen = app.screen
            assert isinstance(screen, ConnectionsScreen)
            screen._apply_filter("state:est !port:22")
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=filtered)


class TestHelpScreen:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_help(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make(1)

        async def helped(pilot: Pilot[int]) -> None:
            await before(pilot)
            await pilot.press("question_mark")
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=helped)


class TestTroubleshooting:
    """The journey's screens: folded columns, groups with rates, the detail summary."""

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_linux_like_table(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make(3, linux=True)
        assert snap_compare(app, terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_group_view(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make(3)

        async def grouped(pilot: Pilot[int]) -> None:
            await before(pilot)
            await pilot.press("g")
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=grouped)

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_detail_summary(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make(3, linux=True, steps_after_open=2)
        assert snap_compare(app, terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_filter_completion(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make(1)

        async def typing(pilot: Pilot[int]) -> None:
            await before(pilot)
            await pilot.press("slash", "p", "tab")
            app.screen.query_one("#filter-input", Input).cursor_blink = False  # a still picture
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=typing)
