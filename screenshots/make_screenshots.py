"""Regenerate the README's SVG screenshots from the deterministic demo host.

Why a script: screenshots must show what the current code draws, on data that exposes no real
host, and be the same on every run. Each shot runs the real app headless on demo snapshots
(seed 1) taken at a chosen scenario phase, with the app's clock fixed to the sample time, then
presses the keys a user would press and saves Textual's SVG export.

Usage: ``python screenshots/make_screenshots.py [--out screenshots] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from core.connections.snapshot import Snapshot  # noqa: E402
from core.demo import DemoFeed  # noqa: E402
from core.demo.scenario import HOST_NAME  # noqa: E402
from core.recording.format import FORMAT_VERSION, RecordingHeader  # noqa: E402
from core.recording.replay import open_replay  # noqa: E402
from core.recording.writer import RecordingWriter  # noqa: E402
from tui.app import TcpscopeApp  # noqa: E402
from tui.replay.controls import ReplayBar  # noqa: E402

SIZES = ((120, 40), (80, 24))
"""Every shot at 120x40 (``NAME.svg``) and at 80x24 (``NAME-80x24.svg``)."""
SEED = 1


class StillFeed:
    """A Feed that shows prepared snapshots (the last one held: nothing moves after it)."""

    def __init__(self, snap: Snapshot, before: Snapshot | None = None) -> None:
        self.snap = snap
        self.before = before
        self.go = asyncio.Event()
        """Set to let the last snapshot through (a shot may act between the two)."""
        self.paused = False
        self.interval_s = snap.interval_s
        self.source_name = "demo"
        self.live = False

    def set_interval(self, interval_s: float) -> None:
        self.interval_s = interval_s

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    async def stream(self) -> AsyncIterator[Snapshot]:
        if self.before is not None:
            yield self.before  # a sample earlier, so byte rates exist
            await self.go.wait()
        yield self.snap
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        return None


async def demo_at(sample: int) -> Snapshot:
    """The demo's snapshot number ``sample`` (1-based), IPsec history included."""
    feed = DemoFeed(SEED)
    snap = await feed.advance(sample)
    await feed.aclose()
    assert snap is not None
    return snap


async def settle(pilot: Pilot[int], ok: Callable[[], bool] = lambda: True) -> None:
    for _ in range(100):
        await pilot.pause()
        if ok():
            break
    for _ in range(5):
        await pilot.pause()


Steps = Callable[[Pilot[int], TcpscopeApp], Awaitable[None]]


@dataclass(frozen=True)
class Shot:
    name: str
    title: str
    sample: int
    steps: Steps | None = None
    between: bool = False
    """Run the steps between the two samples (the detail pane then sees both: rates)."""


async def keys(pilot: Pilot[int], *pressed: str) -> None:
    for key in pressed:
        await pilot.press(key)
        await settle(pilot)


async def connections(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await settle(pilot)


async def sorted_filtered(pilot: Pilot[int], app: TcpscopeApp) -> None:
    screen = app.connections_screen()
    assert screen is not None
    screen.table.set_sort("state", False)
    await keys(pilot, "slash", *"port:443 -state:timewait,closewait", "enter")


async def detail(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await keys(pilot, "slash", *"proc:pgmirror", "enter", "enter")


async def group(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await keys(pilot, "g")


async def ipsec(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await keys(pilot, "2")


async def ipsec_detail(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await keys(pilot, "2")
    app.screen.query_one("#ipsec-counters").focus()
    await keys(pilot, *["down"] * 8, "enter")


async def sa_list(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await keys(pilot, "2", "n")


async def help_screen(pilot: Pilot[int], app: TcpscopeApp) -> None:
    await keys(pilot, "question_mark")


SHOTS = (
    Shot("connections", "connections (SYN_RECEIVED spike)", 126, connections),
    Shot("connections-sorted-filtered", "sorted by State, filter", 150, sorted_filtered),
    Shot("detail", "detail pane", 95, detail, between=True),
    Shot("group-by-process", "grouped by process", 240, group, between=True),
    Shot("ipsec", "IPsec counters (after the auth-failure and invalid-packet bursts)", 236, ipsec),
    Shot("ipsec-detail", "IPsec counter detail", 236, ipsec_detail),
    Shot("ipsec-sa-list", "IPsec native counters and SAs", 212, sa_list),
    Shot("help", "help", 30, help_screen),
)


def shot_name(name: str, size: tuple[int, int]) -> str:
    """``connections.svg`` at the first size, ``connections-80x24.svg`` at the others."""
    return f"{name}.svg" if size == SIZES[0] else f"{name}-{size[0]}x{size[1]}.svg"


async def still_shot(shot: Shot, out: Path, size: tuple[int, int]) -> Path:
    before = await demo_at(shot.sample - 1)
    snap = await demo_at(shot.sample)
    app = TcpscopeApp(
        StillFeed(snap, before),
        hostname=HOST_NAME,
        clock=lambda: snap.time + timedelta(milliseconds=400),
        prefs_path=Path(tempfile.mkdtemp()) / "prefs.json",
    )
    feed = app.feed
    assert isinstance(feed, StillFeed)
    async with app.run_test(size=size) as pilot:
        if shot.between:
            await settle(pilot, lambda: app.snapshot is not None)
            if shot.steps is not None:
                await shot.steps(pilot, app)
            feed.go.set()
            await settle(pilot, lambda: app.snapshot is not None and app.snapshot.seq == snap.seq)
        else:
            feed.go.set()
            await settle(pilot, lambda: app.snapshot is not None and app.snapshot.seq == snap.seq)
            if shot.steps is not None:
                await shot.steps(pilot, app)
        path = out / shot_name(shot.name, size)
        app.save_screenshot(str(path.name), path=str(out))
    return path


async def replay_shots(out: Path, size: tuple[int, int]) -> list[Path]:
    """A recorded demo replayed: the timeline bar, then the diff between two marks."""
    feed = DemoFeed(SEED)
    tmp = Path(tempfile.mkdtemp()) / "demo.tsr"
    with tmp.open("wb") as f:
        writer = RecordingWriter(
            f,
            lambda s: RecordingHeader(
                FORMAT_VERSION,
                "demo",
                HOST_NAME,
                "demo",
                s.source,
                ("demo",),
                s.interval_s,
                5.0,
                s.started_at,
            ),
        )
        for _ in range(300):
            writer.write(await feed.next_snapshot())
        writer.close()
    await feed.aclose()
    replay = open_replay(tmp)
    replay.pause()
    app = TcpscopeApp(
        replay,
        hostname=HOST_NAME,
        prefs_path=Path(tempfile.mkdtemp()) / "prefs.json",
    )
    paths = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot, lambda: bool(app.screen.query(ReplayBar)))
        replay.seek_index(100)
        await settle(pilot, lambda: app.snapshot is not None and app.snapshot.seq == 101)
        await keys(pilot, "a")
        replay.seek_index(220)
        await settle(pilot, lambda: app.snapshot is not None and app.snapshot.seq == 221)
        await keys(pilot, "b")
        app.clear_notifications()
        await settle(pilot)
        app.save_screenshot(shot_name("replay", size), path=str(out))
        paths.append(out / shot_name("replay", size))
        await keys(pilot, "d")
        app.save_screenshot(shot_name("replay-diff", size), path=str(out))
        paths.append(out / shot_name("replay-diff", size))
    return paths


async def main_async(out: Path, only: set[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        for shot in SHOTS:
            if not only or shot.name in only:
                print(await still_shot(shot, out, size))
        if not only or only & {"replay", "replay-diff"}:
            for path in await replay_shots(out, size):
                print(path)


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.out, set(args.only)))


if __name__ == "__main__":
    main()
