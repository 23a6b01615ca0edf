"""Under a filter, the state-count line at 80 columns always says "N of M shown".

A reviewer at 80x24 on ~20k sockets saw the line end in ``│ 13 of 21461 shown`` one moment
and ``TimeWait 0/1397`` with no total the next: "N of M shown" came only with the fifth
shortening, so whenever the per-State ``kept/all`` counts happened to fit (fewer States, or
fewer digits) the answer a filtering user wants most was missing. Real sockets in a network
namespace the test creates (so the counts are exactly ours): a few hundred established,
two listeners, then some TIME_WAIT, filtered on one listener's port.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.netns.lab import needs_netns, netns, ready, unique
from tests.netns.test_tui import app_for
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp

pytestmark = needs_netns

PAIRS = 200
KEPT_PAIRS = 2
TIME_WAITS = 150
HOLDER = f"""
import json, socket, sys
def listener():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4096); return s
def pair(lsn):
    c = socket.create_connection(lsn.getsockname()); a, _ = lsn.accept(); return c, a
busy, kept = listener(), listener()
held = [pair(busy) for _ in range({PAIRS})] + [pair(kept) for _ in range({KEPT_PAIRS})]
print("ready", flush=True)
print(json.dumps(kept.getsockname()[1]), flush=True)
sys.stdin.readline()
for _ in range({TIME_WAITS}):  # the client closes first: its end waits in TIME_WAIT
    c, a = pair(busy); c.close(); assert a.recv(1) == b""; a.close()
print("done", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def sockets() -> Iterator[tuple[str, int, object]]:
    with netns(unique("sb")) as name:
        argv = ["ip", "netns", "exec", name, sys.executable, "-c", HOLDER]
        with ready(argv, stdin=-1) as proc:
            assert proc.stdout is not None
            port = json.loads(proc.stdout.readline())
            yield name, port, proc


async def bar_says(pilot: Pilot[int], app: TcpscopeApp, needle: str) -> str:
    """The state bar's line once it holds ``needle`` (it fails naming the last line seen)."""
    text = ""
    for _ in range(500):
        bar = app.screen.query_one("#state-bar", Static)
        text = static_text(bar).strip()
        if needle in text:
            return text
        await pilot.pause(0.02)
    raise AssertionError(f"the state bar never said {needle!r}: {text!r}")


async def test_a_filtered_count_line_always_says_how_many_of_all_are_shown(
    sockets: tuple[str, int, object],
) -> None:
    name, port, proc = sockets
    established = 2 * (PAIRS + KEPT_PAIRS)
    total = established + 2  # the two listeners
    kept = 1 + KEPT_PAIRS  # the kept listener and its accepted ends (local port = its port)
    app = app_for(name)
    async with app.run_test(size=(80, 24)) as pilot:
        await bar_says(pilot, app, f"Established {established}")
        await pilot.press("slash", *f"lport:{port}", "enter")
        await bar_says(pilot, app, f"│ {kept} of {total} shown")
        proc.stdin.write("tw\n")  # type: ignore[attr-defined]
        proc.stdin.flush()  # type: ignore[attr-defined]
        assert proc.stdout.readline().strip() == "done"  # type: ignore[attr-defined]
        line = await bar_says(pilot, app, f"│ {kept} of {total + TIME_WAITS} shown")
        assert "TimeWait 0/150" in line, line  # the count that hid the total, and the total
        bar = app.screen.query_one("#state-bar")
        assert bar.size.height == 1 and app.screen.query_one("#table").region.y == 3
        await pilot.resize_terminal(60, 16)
        await bar_says(pilot, app, f"{kept} of {total + TIME_WAITS} shown")
        assert bar.size.height == 1
