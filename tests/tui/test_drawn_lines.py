"""The table keeps a few screens of drawn lines, however many rows it has and however long
it runs: each second gives every row on screen a new line (its age moves), and each kept
line holds about 3 KB (memory per connection is measured above the idle app's).

Real app, real Sampler, scripted rows: 400 rows, a page down and up between ticks for 30
ticks; the table never keeps more lines than four screens of its height.
"""

from __future__ import annotations

from core.connections.model import ProcessInfo, TcpState
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import make_app, step, table
from tui.connections.conn_table import DRAWN_SCREENS

PROCS = {1000: ProcessInfo(1000, "p", "u", None, None, None)}
ROWS = [
    ScriptedConn("10.0.0.1", 2000 + j, "10.0.0.2", 443, TcpState.ESTABLISHED, pid=1000)
    for j in range(400)
]


async def test_drawn_lines_kept_are_a_few_screens() -> None:
    feed = SteppedFeed([ScriptedFrame(ROWS, PROCS)], name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        most = 0
        for _ in range(30):
            await step(pilot, app, feed)
            for key in ("pagedown", "pagedown", "pageup"):
                await pilot.press(key)
                await pilot.pause()
            most = max(most, len(t._cache))
        assert t.row_count == 400
        assert DRAWN_SCREENS * t.size.height < 200  # the bound below is the screens'
        assert 2 * t.size.height <= most <= DRAWN_SCREENS * t.size.height
