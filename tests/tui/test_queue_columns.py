"""Recv-Q and Send-Q (as ``ss`` names them) appear on wide terminals only (Textual pilot).

The real app over the real Sampler on scripted data: a listener with 3 connections in its
accept queue and a backlog of 128, and a connection with 5000 unread bytes. At 160 columns
both columns show those numbers right-aligned; at 80 and 100 they are not laid out, and
nothing that was there before them is pushed out.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.connections.sources.scripted import ScriptedFrame
from tests.tui.scripted import PROCS, SteppedFeed, info, linux_frames
from tests.tui.test_app import by_port, line_text, make_app, step, table


def queued_frames(index: int) -> ScriptedFrame:
    """linux_frames with queue sizes: the listener's accept queue, a reader that lags."""
    frame = linux_frames(index)
    conns = []
    for conn in frame.conns:
        if conn.local_port == 5432:
            conn = dataclasses.replace(
                conn, tcp_info=dataclasses.replace(info(0, 0), recv_q=3, send_q=128)
            )
        elif conn.local_port == 22 and conn.tcp_info is not None:
            conn = dataclasses.replace(
                conn, tcp_info=dataclasses.replace(conn.tcp_info, recv_q=5000, send_q=0)
            )
        conns.append(conn)
    return ScriptedFrame(conns, PROCS)


async def test_queue_columns_at_160_columns() -> None:
    feed = SteppedFeed(queued_frames, name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(160, 40)) as pilot:
        await step(pilot, app, feed)
        header = table(app).render_line(0).text
        assert "Recv-Q" in header and "Send-Q" in header
        assert header.index("Recv-Q") < header.index("Send-Q")
        listener = line_text(app, by_port(app, 5432, 0).instance_id)
        assert "      3     128" in listener  # right-aligned in 6-7 cell columns
        ssh = line_text(app, by_port(app, 22, 40022).instance_id)
        assert "   5000       0" in ssh
        time_wait = line_text(app, by_port(app, 80, 51002).instance_id)
        assert "5000" not in time_wait  # no tcp_info: blank, not 0


@pytest.mark.parametrize("width", [80, 100])
async def test_no_queue_columns_at_80_and_100_columns(width: int) -> None:
    feed = SteppedFeed(queued_frames, name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(width, 24)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        header = t.render_line(0).text
        assert "Recv-Q" not in header and "Send-Q" not in header
        keys = [c.key for c, _ in t.layout_columns]
        assert {"state", "local", "remote", "pid", "process"} <= set(keys)
