"""Pilot tests of the replay controls in the real app on a recorded demo: timeline bar on every
screen, step, jump, speed, seek prompt, marks and the A/B diff screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from core.connections.snapshot import Snapshot
from core.demo import DemoFeed
from core.recording.replay import ReplayFeed, diff_between, open_replay
from tests.recording.util import demo_snapshots, write_recording
from tui.app import TcpscopeApp
from tui.replay.controls import DiffScreen, ReplayBar, SeekScreen

N = 240


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(1, N)


@pytest.fixture(scope="module")
def recording(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui") / "demo.tsr"
    write_recording(path, snaps, key_every=100)
    return path


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield


async def until(pilot: Pilot[int], ok: Callable[[], bool]) -> None:
    for _ in range(200):
        if ok():
            return
        await pilot.pause()
    assert ok()


def app_on(path: Path) -> tuple[TcpscopeApp, ReplayFeed]:
    feed = open_replay(path)
    feed.pause()  # tests drive time themselves
    return TcpscopeApp(feed, hostname="demo-web01"), feed


async def ready(pilot: Pilot[int], app: TcpscopeApp) -> None:
    """The first sample is shown and the replay controls are installed."""
    await until(pilot, lambda: shown(app) == 1 and bool(app.screen.query(ReplayBar)))


def shown(app: TcpscopeApp) -> int:
    return app.snapshot.seq if app.snapshot is not None else -1


async def test_bar_on_every_screen(recording: Path, snaps: list[Snapshot]) -> None:
    app, _ = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        text = str(app.screen.query_one(ReplayBar).render())
        assert "09:00:00" in text and "09:03:59" in text and f"(1/{N})" in text
        await pilot.press("2")
        await until(pilot, lambda: bool(app.screen.query(ReplayBar)))
        await pilot.press("1")
        await until(pilot, lambda: bool(app.screen.query(ReplayBar)))


async def test_step_jump_and_speed(recording: Path) -> None:
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("full_stop", "full_stop", "full_stop")
        await until(pilot, lambda: shown(app) == 4)
        assert feed.paused and app.paused
        await pilot.press("comma", "comma")
        await until(pilot, lambda: shown(app) == 2)
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: shown(app) == 62)
        await pilot.press("less_than_sign", "less_than_sign")
        await until(pilot, lambda: shown(app) == 1)  # clamped at the start
        assert "(1/" in str(app.screen.query_one(ReplayBar).render())
        speeds = []
        for _ in range(6):
            await pilot.press("right_square_bracket")
            speeds.append(feed.speed)
        assert speeds == [2, 4, 8, 16, 16, 16]
        await pilot.press(*["left_square_bracket"] * 8)
        assert feed.speed == 0.25
        assert "×0.25" in str(app.screen.query_one(ReplayBar).render())


async def test_space_plays_and_pauses(recording: Path) -> None:
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        feed.set_speed(16)
        await pilot.press("space")
        await until(pilot, lambda: shown(app) >= 5)
        assert not feed.paused
        await pilot.press("space")
        await until(pilot, lambda: feed.paused)
        held = feed.index
        await pilot.pause(0.3)
        assert feed.index == held


async def test_seek_prompt(recording: Path) -> None:
    app, _ = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"09:01:30", "enter")
        await until(pilot, lambda: shown(app) == 91)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"-45s", "enter")
        await until(pilot, lambda: shown(app) == 46)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"soon", "enter")
        await pilot.pause()
        assert shown(app) == 46  # a bad time moves nothing (and says so)
        assert any("cannot seek" in str(n.message) for n in app._notifications)


async def test_marks_and_diff_screen(recording: Path, snaps: list[Snapshot]) -> None:
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("d")  # no marks yet: a warning, no screen
        await pilot.pause()
        assert not isinstance(app.screen, DiffScreen)
        feed.seek_index(100)
        await until(pilot, lambda: shown(app) == 101)
        await pilot.press("a")
        feed.seek_index(210)
        await until(pilot, lambda: shown(app) == 211)
        await pilot.press("b", "d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        expected = diff_between(snaps[100], snaps[210])
        assert [c.instance_id for c in screen.diff.added] == [c.instance_id for c in expected.added]
        assert [c.instance_id for c in screen.diff.removed] == [
            c.instance_id for c in expected.removed
        ]
        body = str(screen.query_one("#diff-body", Static).render())
        assert f"Added ({len(expected.added)})" in body
        assert f"Removed ({len(expected.removed)})" in body
        assert f"State changed ({len(expected.state_changed)})" in body
        auth = next(d for d in expected.counters if d.counter == "AuthenticationFailures")
        assert auth.delta and f"{auth.delta:+d}" in body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen))
        bar = str(app.screen.query_one(ReplayBar).render())
        assert "A 09:01:40" in bar and "B 09:03:30" in bar


async def test_not_installed_for_a_live_feed() -> None:
    app = TcpscopeApp(DemoFeed(1), hostname="demo-web01")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.replay is None
        assert not app.screen.query(ReplayBar)
        await pilot.press("t", "a", "d")  # replay keys do nothing for a live feed
        assert not isinstance(app.screen, SeekScreen | DiffScreen)
        assert app.is_running
        await app.feed.aclose()
