"""Screenshot tests on frozen scripted data at 80x24 and 160x48 (pytest-textual-snapshot).

The feed is stepped by hand through the real Sampler with a StepClock, the host name is fixed
and every age is measured from the snapshot's own time, so the pictures do not move.
Update baselines with ``--snapshot-update`` only after reading the diff report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.scripted import HOST, SteppedFeed
from tui.app import TcpscopeApp
from tui.connections.screen import ConnectionsScreen

SIZES = [(80, 24), (160, 48)]


def make(steps: int = 2) -> tuple[TcpscopeApp, Callable[[Pilot[int]], Any]]:
    feed = SteppedFeed()
    app = TcpscopeApp(feed, hostname=HOST)

    async def run_before(pilot: Pilot[int]) -> None:
        for _ in range(steps):
            snap = await feed.step()
            for _ in range(100):
                if app.snapshot is not None and app.snapshot.seq >= snap.seq:
                    break
                await pilot.pause()
        await pilot.pause()

    return app, run_before


class TestConnectionsScreen:
    @pytest.mark.parametrize("size", SIZES)
    def test_table(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make()
        assert snap_compare(app, terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES)
    def test_detail_pane(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make()

        async def open_detail(pilot: Pilot[int]) -> None:
            await before(pilot)
            await pilot.press("down", "down", "down", "down", "down", "enter")
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=open_detail)

    @pytest.mark.parametrize("size", SIZES)
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
    @pytest.mark.parametrize("size", SIZES)
    def test_help(self, snap_compare: Any, size: tuple[int, int]) -> None:
        app, before = make(1)

        async def helped(pilot: Pilot[int]) -> None:
            await before(pilot)
            await pilot.press("question_mark")
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=helped)
