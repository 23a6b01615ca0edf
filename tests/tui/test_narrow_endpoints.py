"""At 60 columns a sort by Process narrows the endpoint columns: both keep whole IPv4 addresses.

Real loopback sockets between 127.1.3.3 and 127.1.3.4, the real app on the netlink source at
60x16, sorted by Process. Before the fix the whole cut was taken from Local (``127.…3.3:32772``
beside a Remote column of 21 cells titled ``Remote address:port``), and the grouped view's
member rows (then indented) lost the middle of their local address as well.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator

import pytest

from tests.integration.sockets import SocketBag
from tests.tui.test_actions import live_app, until
from tests.tui.test_app import sort_by, table
from tui.app import TcpscopeApp

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")

SERVER, CLIENT = "127.1.3.3", "127.1.3.4"
ENDPOINT = re.compile(r"\b127\.1\.3\.[34]:\d+\b")


@pytest.fixture
def ends(bag: SocketBag) -> Iterator[list[str]]:
    """Two connections from CLIENT to a listener on SERVER: each row's two endpoints."""
    listener = bag.keep(socket.socket())
    listener.bind((SERVER, 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    texts = [f"{SERVER}:{port}"]
    for _ in range(2):
        client = bag.keep(socket.socket())
        client.bind((CLIENT, 0))
        client.connect((SERVER, port))
        bag.keep(listener.accept()[0])
        texts.append(f"{CLIENT}:{client.getsockname()[1]}")
    yield texts


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def whole_ends(rows: list[str]) -> set[str]:
    """The endpoints the rows show, each row two of them whole (nothing cut)."""
    found: set[str] = set()
    for row in rows:
        ends = ENDPOINT.findall(row)
        assert len(ends) == 2 and "…" not in row, row
        found.update(ends)
    return found


def drawn(app: TcpscopeApp) -> list[str]:
    t = table(app)
    return [t.render_line(y).text for y in range(min(t.row_count + 1, t.size.height))]


@linux_only
async def test_both_endpoints_show_whole_ipv4_addresses_at_60_columns(ends: list[str]) -> None:
    app = live_app()
    app.initial_filter = f"pid:{os.getpid()} state:e"
    async with app.run_test(size=(60, 16)) as pilot:
        t = table(app)
        await until(pilot, lambda: t.row_count == 4)
        await sort_by(pilot, app, "process")
        await pilot.pause()
        widths = {c.key: w for c, w in t.layout_columns}
        assert "process" in widths and widths["local"] < 21, widths  # narrowed
        lines = drawn(app)
        header, rows = lines[0], lines[1:]
        assert "Local " in header and "Remote " in header and "address" not in header, header
        assert whole_ends(rows) == set(ends), lines
        # Grouped, expanded: the members' rows, marked under their group's ▾, still whole.
        await pilot.press("g")
        await until(pilot, lambda: t.grouped and t.row_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: t.row_count == 5)
        await pilot.pause()
        rows = drawn(app)[2:]
        assert len(rows) == 4 and all(" Established 127.1.3." in row for row in rows), rows
        assert whole_ends(rows) == set(ends), rows
