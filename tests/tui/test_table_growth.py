"""A table whose row count changes every tick keeps its scrollbar and End key right.

The scrollable height follows the row count without a relayout of the screen while the
scrollbar stays shown (a relayout per tick repainted the whole screen at 50k rows). Real app,
real Sampler, scripted rows: the count grows and shrinks across ticks; each time the
scrollbar's window and the table's virtual height match the rows, and End reaches the last.
"""

from __future__ import annotations

from core.connections.model import ProcessInfo, TcpState
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import make_app, step, table

PROCS = {1000: ProcessInfo(1000, "p", "u", None, None, None)}
COUNTS = (300, 420, 180, 20, 250)
"""Rows per tick: more, fewer, fewer than the screen holds, more again."""


def frame(index: int) -> ScriptedFrame:
    n = COUNTS[min(index, len(COUNTS) - 1)]
    rows = [
        ScriptedConn("10.0.0.1", 2000 + j, "10.0.0.2", 443, TcpState.ESTABLISHED, pid=1000)
        for j in range(n)
    ]
    return ScriptedFrame(rows, PROCS)


async def test_scrollbar_and_end_follow_the_row_count() -> None:
    feed = SteppedFeed(frame, name="netlink")
    app = make_app(feed, ghost_ttl_s=0.0)  # closed rows leave at once: counts are exact
    async with app.run_test(size=(120, 40)) as pilot:
        for n in COUNTS:
            await step(pilot, app, feed)
            t = table(app)
            assert t.row_count == n
            assert t.virtual_size.height == n + 1
            assert t.show_vertical_scrollbar == (n + 1 > t.container_size.height)
            if t.show_vertical_scrollbar:
                assert t.vertical_scrollbar.window_virtual_size == n + 1
            await pilot.press("end")
            await pilot.pause()
            assert t.cursor_row == n - 1
            last = t.render_line(t.size.height - 1 if n >= t.size.height else n).text
            assert f":{2000 + n - 1} " in last  # the last row is drawn at the bottom
            await pilot.press("home")
            await pilot.pause()
