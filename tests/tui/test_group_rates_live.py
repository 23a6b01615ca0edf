"""Every process group on screen shows its bytes/s, on real sockets carrying traffic.

Two child processes each hold loopback connections to their own listener and keep bytes moving
on all of them: a big one (250 connections, both ends: 500 that carry bytes, more than the
table follows) and a small one (20 connections, 40 ends). The real app on the netlink source
(tcp_info only for what the table follows), filtered to the two PIDs, grouped with ``g``.
Before the fix the first group took the whole budget of followed connections and showed the
sum of 400 of its 500 as if whole; the second group showed no rate at all.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from core.connections.sources.scripted import ScriptedFrame
from tests.integration.sockets import SocketBag
from tests.tui.scripted import PROCS, SteppedFeed, linux_frames
from tests.tui.test_actions import live_app, until
from tests.tui.test_app import make_app, step, table
from tui.app import TcpscopeApp
from tui.connections.group_rows import FOLLOW_AT_MOST, RATE_PENDING_SAMPLES

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")

TRAFFIC = (
    "import os,socket,sys,threading,time\n"
    "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(512)\n"
    "pairs=[]\n"
    "for _ in range({n}):\n"
    "    c=socket.create_connection(s.getsockname()); a,_=s.accept(); pairs.append((c,a))\n"
    "print(s.getsockname()[1], flush=True)\n"
    "threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n"
    "while True:\n"
    "    for c,a in pairs:\n"
    "        c.sendall(b'x'*200); a.sendall(b'y'*100); a.recv(4096); c.recv(4096)\n"
    "    time.sleep(0.05)\n"
)
"""A child with ``n`` connected pairs moving bytes both ways every 50 ms; prints its port."""

BIG, SMALL = 250, 20
RATE = re.compile(r"(≥?)(\d+(?:\.\d)?) (B|KiB|MiB|GiB)/s(?: — .*?  \(rate of (\d+) of (\d+)\))?")
"""A group row's rate and, after its counts per State, of how many connections it is."""


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def group_lines(app: TcpscopeApp, pids: tuple[int, ...]) -> dict[int, str]:
    """The drawn line of each of these PIDs' group rows (those on screen)."""
    t = table(app)
    lines: dict[int, str] = {}
    for pid in pids:
        position = t.position_of(f"group:{pid}")
        if position is not None and position < t.size.height - 1:
            lines[pid] = t.render_line(position + 1).text
    return lines


def rated(line: str) -> tuple[bool, float, int, int] | None:
    """(partial, bytes/s, measured, of) of a group line's rate; None while it shows none, or
    0 B/s (the traffic never stops)."""
    found = RATE.search(line)
    if found is None:
        return None
    partial, value, unit, n, of = found.groups()
    scale = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[unit]
    per_s = float(value) * scale
    return (partial == "≥", per_s, int(n or -1), int(of or -1)) if per_s > 0 else None


def whole(line: str) -> bool:
    """The line shows a rate summed over every member that moves bytes."""
    rate = rated(line)
    return rate is not None and not rate[0]


@linux_only
async def test_every_group_row_on_screen_shows_its_rate(bag: SocketBag) -> None:
    assert 2 * BIG > FOLLOW_AT_MOST  # the big group alone has more than the table follows
    big, _ = bag._spawn(TRAFFIC.format(n=BIG))
    small, _ = bag._spawn(TRAFFIC.format(n=SMALL))
    pids = (big.pid, small.pid)
    app = live_app()
    app.initial_filter = f"pid:{big.pid},{small.pid}"
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        await until(pilot, lambda: t.row_count == 2 * BIG + 1 + 2 * SMALL + 1)
        await pilot.press("g")
        await until(pilot, lambda: t.grouped and t.row_count == 2)
        # Both rows show a rate once measured (the members seen as rows before `g` come
        # first: "…/s", then the part measured so far, said as a part).
        await until(pilot, lambda: all(map(rated, group_lines(app, pids).values())))
        # The small group is followed whole: its exact sum, no qualifier.
        await until(pilot, lambda: whole(group_lines(app, pids)[small.pid]))
        lines = group_lines(app, pids)
        assert set(lines) == set(pids)
        # The big one: a lower bound, saying how many of its connections it sums (the
        # listener moves no bytes of its own and is not one of them).
        big_rate = rated(lines[big.pid])
        assert big_rate is not None, lines[big.pid]
        partial, _, n, of = big_rate
        assert partial, lines[big.pid]
        assert of == 2 * BIG and 0 < n < of, lines[big.pid]
        assert f"{2 * BIG + 1}" in lines[big.pid]  # the member count stays as it was


def no_tcp_info(index: int) -> ScriptedFrame:
    """linux_frames as a source without tcp_info gives them (psutil)."""
    frame = linux_frames(index)
    return ScriptedFrame([replace(c, tcp_info=None) for c in frame.conns], PROCS)


async def test_a_group_whose_rate_never_comes_stops_saying_it_is_coming() -> None:
    feed = SteppedFeed(no_tcp_info, name="psutil")
    app = make_app(feed)
    async with app.run_test(size=(120, 40)) as pilot:
        await step(pilot, app, feed)
        t = table(app)
        await pilot.press("g")
        row = t.position_of("group:303")
        assert row is not None
        assert "postgres (303) 2  …/s — " in t.render_line(row + 1).text  # awaited
        for _ in range(RATE_PENDING_SAMPLES + 1):
            await step(pilot, app, feed)
        # Nothing measured after samples enough: nothing claimed (and no "0 B/s").
        assert "postgres (303) 2 — " in t.render_line(row + 1).text
