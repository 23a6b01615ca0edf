"""A replay's group rates are whole: a recording carries every connection's tcp_info.

``tcpscope record`` (a real process) records a child moving bytes on 250 loopback pairs (500
ends, more than the live table follows); the replay, filtered to the child and grouped with
``g``. Before the fix the replay applied the live cap of followed connections and showed
``≥… (rate of 400 of 500)`` (or ``≥0 B/s``) where the recording held every reading.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.recording.replay import open_replay
from tests.integration.sockets import SocketBag
from tests.tui.test_app import table
from tests.tui.test_group_rates_live import TRAFFIC, group_lines, rated
from tui.app import TcpscopeApp
from tui.connections.group_rows import FOLLOW_AT_MOST

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink source")

ROOT = Path(__file__).resolve().parents[2]
PAIRS = 250
SAMPLES = 6


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


async def until(pilot: Pilot[int], ok: Callable[[], object]) -> None:
    for _ in range(500):
        if ok():
            return
        await pilot.pause(0.01)
    assert ok()


async def test_a_replayed_group_rate_sums_every_member(bag: SocketBag, tmp_path: Path) -> None:
    assert 2 * PAIRS > FOLLOW_AT_MOST
    child, _ = bag._spawn(TRAFFIC.format(n=PAIRS))
    out = tmp_path / "load.tsr"
    record = ["record", str(out), "--interval", "0.3", "--samples", str(SAMPLES), "--no-ipsec"]
    done = subprocess.run(
        [sys.executable, "-m", "tui", *record],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    feed = open_replay(out)
    feed.pause()
    app = TcpscopeApp(feed, hostname="replayed")
    app.initial_filter = f"pid:{child.pid}"
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        await until(pilot, lambda: app.snapshot is not None and t.row_count == 2 * PAIRS + 1)
        await pilot.press("g")
        await until(pilot, lambda: t.grouped and t.row_count == 1)
        lines = []

        def shown(index: int) -> bool:
            return feed.index == index and t.snapshot is app.snapshot

        for index in range(1, SAMPLES):
            feed.seek_index(index)
            await until(pilot, partial(shown, index))
            await pilot.pause(0.05)
            lines.append(group_lines(app, (child.pid,))[child.pid])
        # From the second sample after `g` on: every member summed, no lower bound.
        for line in lines[1:]:
            rate = rated(line)
            assert rate is not None and not rate[0], line
            assert "≥" not in line and " of " not in line, line
