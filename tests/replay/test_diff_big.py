"""A diff between marks over a burst of 20,000 new connections opens at once and stays usable.

A reviewer replayed a recording in which ~21k connections appeared between two marks: the UI
froze for 2.5 minutes laying the diff out (a 21,128-line text, again at every redraw), and
`q` still went unanswered afterwards. The diff now lists the first connections of each kind
and says exactly how many more there are. Checked on a real recording: the real Sampler over
scripted frames (20,000 connections opened, 36 gone, 2 changing State) with the demo IPsec
provider behind the real IPsec sampler, written by the real RecordingWriter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from core.connections import TcpState
from core.connections.model import OwnerStatus, ProcessInfo
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.demo.feed import DEMO_START
from core.demo.ipsec import DemoIpsecProvider
from core.ipsec.sampling import IpsecSampler
from core.recording.replay import open_replay
from core.recording.writer import RecordingWriter
from core.sampling.sampler import Sampler
from tests.pilot_wait import until
from tests.recording.util import header_for
from tests.replay.test_replay_tui import ready, shown
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.replay.controls import DiffScreen

ADDED, REMOVED, CHANGED, KEPT = 20_000, 36, 2, 4
PROCS = {
    pid: ProcessInfo(pid, f"svc{pid}", "svc", (f"/usr/bin/svc{pid}",), None, 1.7e9)
    for pid in range(100, 120)
}
MOST_LINES = 400
"""The diff's laid-out lines at most: a few screens, however many connections changed."""


def conn(n: int, state: TcpState = TcpState.ESTABLISHED) -> ScriptedConn:
    """Connection ``n``: a client of a web server on 443, its own port and peer."""
    return ScriptedConn(
        f"198.51.100.{1 + n % 250}",
        443,
        f"203.0.113.{1 + (n // 250) % 250}",
        10_000 + n % 50_000,
        state,
        pid=100 + n % 20,
        owner_status=OwnerStatus.FOUND,
        inode=1_000_000 + n,
    )


def frame(index: int) -> ScriptedFrame:
    """Sample 1: the kept and the soon-gone connections; sample 2: the kept ones (two now
    CloseWait) and the 20,000 new ones."""
    kept = [
        conn(n, TcpState.CLOSE_WAIT if index and n < CHANGED else TcpState.ESTABLISHED)
        for n in range(KEPT)
    ]
    if index == 0:
        return ScriptedFrame([*kept, *(conn(KEPT + n) for n in range(REMOVED))], PROCS)
    first = KEPT + REMOVED
    return ScriptedFrame([*kept, *(conn(first + n) for n in range(ADDED))], PROCS)


async def record(path: Path) -> None:
    ipsec = IpsecSampler([DemoIpsecProvider(1)], interval_s=1.0, history_s=600.0)
    sampler = Sampler(ScriptedSource(frame, name="scripted"), clock=StepClock(DEMO_START, 1.0))
    with path.open("wb") as out:
        writer = RecordingWriter(out, header_for)
        for _ in range(2):
            snap = await sampler.sample_once()
            writer.write(dataclasses.replace(snap, ipsec=ipsec.sample()))
        writer.close()
    await sampler.aclose()
    ipsec.close()


@pytest.fixture(scope="module")
def burst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("burst") / "burst.tsr"
    asyncio.run(record(path))
    yield path


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def listed(lines: list[str], title: str) -> list[str]:
    """The lines under the heading ``title``, up to the blank line ending its section."""
    start = lines.index(title) + 1
    return lines[start : lines.index("", start)]


async def test_a_diff_of_20k_new_connections_lists_some_and_counts_the_rest_exactly(
    burst: Path,
) -> None:
    feed = open_replay(burst)
    feed.pause()
    app = TcpscopeApp(feed, hostname="burst-host")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("a")
        feed.seek_index(1)
        await until(pilot, lambda: shown(app) == 2)
        await pilot.press("b", "d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        diff = screen.diff
        assert (len(diff.added), len(diff.removed), len(diff.state_changed)) == (
            ADDED,
            REMOVED,
            CHANGED,
        )
        body = screen.query_one("#diff-body", Static)
        assert body.size.height <= MOST_LINES, body.size.height  # it was 20,000 and more
        lines = [line.rstrip() for line in static_text(body, width=78).splitlines()]
        moved = sum(1 for d in diff.counters if d.delta or d.reset)
        assert moved  # the demo's IPsec counters move from one sample to the next
        assert (
            f"All connections (no filter): {ADDED} added, {REMOVED} removed, "
            f"{CHANGED} state-changed; {moved} IPsec counters moved"
        ) in " ".join(lines)  # wrapped at 80 columns
        assert f"IPsec counters ({len(diff.counters)})" in lines
        added = listed(lines, f"Added ({ADDED})")
        *rows, more = added
        assert rows and all(re.match(r"  Established ", row) for row in rows), added
        assert more.startswith(f"  … and {ADDED - len(rows)} more added"), more
        # The short lists are whole, with no "more" line.
        assert len(listed(lines, f"Removed ({REMOVED})")) == REMOVED
        assert len(listed(lines, f"State changed ({CHANGED})")) == CHANGED
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen), timeout_s=5)
