"""The state-count bar is one line at 80 and at 60 columns, however busy the host.

A busy host's seven count groups (84 cells) took two lines at 80 columns, and under a filter
the last shortening added "│ N of M shown" to counts it kept, so the line grew and wrapped
mid-phrase (" of 3142 shown" alone on the next line): a table row lost on every busy server.
Under a filter "N of M shown" is in the line at every width (it came and went with the number
of States that had sockets: tests/netns/test_state_bar_filter.py).
"""

from __future__ import annotations

import re
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import Static

from core.connections.model import TcpState
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from tests.tui.scripted import PROCS, SteppedFeed
from tests.tui.test_app import make_app, static_text, step
from tui import format as fmt
from tui.connections.state_bar import COMPACT_STEPS, state_line

BUSY = {
    TcpState.ESTABLISHED: 3055,
    TcpState.LISTEN: 64,
    TcpState.TIME_WAIT: 14,
    TcpState.CLOSE_WAIT: 2,
    TcpState.SYN_SENT: 4,
    TcpState.SYN_RECEIVED: 1,
    TcpState.FIN_WAIT2: 8,
}
NOTE = "all rows: Offload InHost, Applied —"


def fitted(all_counts: dict[TcpState, int], shown: dict[TcpState, int], width: int) -> str:
    line = partial(state_line, all_counts, shown, shown is not all_counts, NOTE)
    return fmt.fitted(line, COMPACT_STEPS, width).plain


def busy_frame() -> ScriptedFrame:
    """One connection per count of :data:`BUSY`; port 443 marks the ones a filter keeps."""
    rows, port = [], 1024
    kept = {TcpState.ESTABLISHED: 10, TcpState.LISTEN: 4, TcpState.TIME_WAIT: 3}
    kept |= {TcpState.CLOSE_WAIT: 1, TcpState.SYN_SENT: 2}
    for state, count in BUSY.items():
        for i in range(count):
            port += 1
            remote = 443 if i < kept.get(state, 0) else 80
            rows.append(ScriptedConn("10.0.0.1", port, "10.0.0.2", remote, state, offload_state=0))
    return ScriptedFrame(rows, PROCS)


async def test_a_busy_hosts_counts_take_one_line_at_80_columns_filtered_and_with_detail() -> None:
    feed = SteppedFeed([busy_frame()], name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        bar = app.screen.query_one("#state-bar", Static)
        text = static_text(bar).strip()
        assert text == "Estab 3055 Listen 64 TimeWait 14 CloseWait 2 SynSent 4 SynRecv 1 others 8"
        assert bar.size.height == 1 and bar.region.y == 2
        assert app.screen.query_one("#table").region.y == 3  # no table row lost
        await pilot.press("slash", *"rport:443", "enter")
        await pilot.pause()
        text = static_text(bar).strip()
        assert text == "Established 10 Listen 4 TimeWait 3 CloseWait 1 SynSent 2 │ 20 of 3148 shown"
        assert bar.size.height == 1 and app.screen.query_one("#table").region.y == 3
        await pilot.press("enter")  # the detail pane takes over the screen below the bar
        await pilot.pause()
        assert app.screen.query_one("#detail").region.y == 3
        assert static_text(bar).strip() == text
        await pilot.resize_terminal(60, 16)
        await pilot.pause()
        text = static_text(bar).strip()
        assert text == "Estab 10 Listen 4 TimeWait 3 others 3 │ 20 of 3148 shown"
        assert bar.size.height == 1


COUNTS = st.dictionaries(
    st.sampled_from(list(TcpState)), st.integers(0, 9_999_999), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(COUNTS, st.data())
def test_any_counts_fit_60_and_80_columns_whole_phrases(
    all_counts: dict[TcpState, int], data: st.DataObject
) -> None:
    shown = {s: data.draw(st.integers(0, n)) for s, n in all_counts.items()}
    total, kept = sum(all_counts.values()), sum(shown.values())
    for width in (60, 80):
        line = fitted(all_counts, all_counts, width)
        assert len(line) <= width, line
        assert line.startswith(("Established ", "Estab ")), line
        line = fitted(all_counts, shown, width)
        assert len(line) <= width, line
        # under a filter "N of M shown" at every width, whole (not one count of many States)
        assert re.search(rf"(^|│ ){kept} of {total} shown($| )", line), line


def test_the_note_stays_while_the_counts_leave_room_at_80_columns() -> None:
    """Four groups at 80 columns: the folded columns' note still fits after them."""
    few = {TcpState.ESTABLISHED: 2404, TcpState.LISTEN: 4, TcpState.TIME_WAIT: 3641}
    few |= {TcpState.CLOSE_WAIT: 12}
    line = fitted(few, few, 80)
    counts = "Established 2404 Listen 4 TimeWait 3641 CloseWait 12"
    assert line == f"{counts} │ Offload InHost, Applied —"


async def test_applied_setting_is_in_the_detail_summary_at_80x24_where_reported() -> None:
    """At 80 columns the table has no room for AppliedSetting (and the state bar none for the
    note of folded columns on a busy host): the detail summary says it, above the fold, next
    to OffloadState. Linux never reports it; there the not-reported list says why, no row."""
    from tests.tui.scripted import linux_frames
    from tests.tui.test_app import by_port, listed, table

    for feed, expected in ((SteppedFeed(), "Datacenter"), (SteppedFeed(linux_frames), None)):
        app = make_app(feed)
        async with app.run_test(size=(80, 24)) as pilot:
            await step(pilot, app, feed)
            row = by_port(app, 22, 0) if expected else listed(app)[0]
            assert table(app).move_cursor_to(row.instance_id)
            await pilot.press("enter")
            await pilot.pause()
            box = app.screen.query_one("#detail-summary", Static)
            lines = [ln.rstrip() for ln in static_text(box, width=box.size.width).splitlines()]
            assert any(line.startswith("Offload  InHost") for line in lines), lines
            applied = [line for line in lines if line.startswith("Applied ")]
            if expected is None:
                assert not applied, lines
            else:
                meaning = "the Windows TCP settings template applied"
                assert applied == [f"Applied  {expected} — {meaning}"]
                assert box.region.bottom <= 23  # above the footer: no scrolling to find it
