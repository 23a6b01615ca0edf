"""A large group's busy connection is found, wherever it sorts, on real loopback traffic.

One child process holds 300 idle loopback pairs (600 ends, more than the table follows) and one
busy pair bound to ports above the ephemeral range, so that both busy ends sort last in the
table (State, then local port). The real app on the netlink source (tcp_info only for what
the table follows), filtered to the child, grouped with ``g``. Before the fix the group was
summed over its first members in table order, the same ones every sample: the busy pair was
never measured and the row said ``≥0 B/s (rate of 400 of 602)`` for the whole run while the
process moved megabytes a second.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from core.connections import NO_BYTE_RATE
from tests.integration.sockets import SocketBag
from tests.tui.test_actions import live_app, until
from tests.tui.test_app import table
from tests.tui.test_group_rates_live import group_lines, rated
from tui.app import TcpscopeApp
from tui.connections.group_rows import FOLLOW_AT_MOST

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")

IDLE = 300
BUSY_LAST = (
    "import os,socket,sys,threading,time\n"
    "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(512)\n"
    "idle=[]\n"
    "for _ in range({n}):\n"
    "    c=socket.create_connection(s.getsockname()); a,_=s.accept(); idle.append((c,a))\n"
    "def high():\n"  # above ip_local_port_range (32768-60999): after every ephemeral port
    "    for port in range(64000, 65500):\n"
    "        t=socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "        try: t.bind(('127.0.0.1', port)); return t\n"
    "        except OSError: t.close()\n"
    "    raise SystemExit('no free high port')\n"
    "b=high(); b.listen(1); c=high(); c.connect(b.getsockname()); a,_=b.accept()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n"
    "threading.Thread(target=lambda: [a.recv(1<<20) for _ in iter(int, 1)], daemon=True).start()\n"
    "while True:\n"
    "    c.sendall(b'x'*65536); time.sleep(0.02)\n"
)
"""A child with ``n`` idle pairs and one pair moving ~3 MB/s on ports that sort last."""

SAMPLES_TO_FIND = 8
"""Samples after ``g`` within which the busy pair must be in the group's rate."""


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def seq(app: TcpscopeApp) -> int:
    return app.snapshot.seq if app.snapshot is not None else -1


@linux_only
async def test_a_busy_connection_last_in_table_order_shows_in_its_group_rate(
    bag: SocketBag,
) -> None:
    assert 2 * IDLE > FOLLOW_AT_MOST  # the group has more members than the table follows
    child, _ = bag._spawn(BUSY_LAST.format(n=IDLE))
    app = live_app()
    app.initial_filter = f"pid:{child.pid}"
    async with app.run_test(size=(120, 40)) as pilot:
        t = table(app)
        await until(pilot, lambda: t.row_count == 2 * IDLE + 2 + 2)  # + both listeners
        await pilot.press("g")
        await until(pilot, lambda: t.grouped and t.row_count == 1)
        group = t._groups[f"group:{child.pid}"]
        moving = [i for i in group.members if t._record(i).state not in NO_BYTE_RATE]
        busy = [i for i in moving if t._record(i).local_port >= 64000]
        assert len(busy) == 2 and set(moving[-2:]) == set(busy)  # last in table order
        since = seq(app)
        lines: list[str] = []

        def found() -> bool:
            lines.append(group_lines(app, (child.pid,))[child.pid])
            return rated(lines[-1]) is not None

        await until(pilot, lambda: found() or seq(app) - since > SAMPLES_TO_FIND)
        assert rated(lines[-1]) is not None, lines[-1]
        # Until then, never a lower bound of nothing passed off as a rate ("≥0 B/s" was read
        # as idle): the part measured is said as such ("…/s — … (0 B/s in 200 of 602)").
        assert not any("≥0 B/s" in line for line in lines), [x for x in lines if "≥0" in x]
        assert all(rated(x) or "…/s" in x for x in lines), lines
        # Found, it stays measured (a connection seen moving bytes keeps being followed).
        later = seq(app) + 4
        await until(pilot, lambda: seq(app) >= later)
        line = group_lines(app, (child.pid,))[child.pid]
        rate = rated(line)
        assert rate is not None and rate[1] > 1024 * 1024, line
