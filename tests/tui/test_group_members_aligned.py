"""An expanded group's member rows keep every column under its title, at 60, 80 and 120 columns.

Real loopback sockets of this process on 127.1.5.5 (three listeners and a connection between
two of them), the real app on the netlink source, grouped (``g``) and the group expanded
(``Home Enter``). Before the fix a member's Local text began two cells right of its title
(``State▲      Local address:port`` over ``Listen        127.0.0.1:9101``: an indent inside
the Local cell); PID and Process lined up again further right.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tests.integration.sockets import SocketBag
from tests.tui.test_actions import live_app, until
from tests.tui.test_app import table
from tui.app import TcpscopeApp
from tui.connections.row_lines import MARKERS, MEMBER

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")

HOST = "127.1.5.5"


@pytest.fixture
def held() -> Iterator[int]:
    """Five sockets of this process on HOST: three listeners, a client and its accepted end."""
    with SocketBag() as bag:
        first = bag.listener(HOST)
        bag.listener(HOST)
        bag.listener(HOST)
        bag.pair(first)
        yield 5


def drawn(app: TcpscopeApp) -> list[str]:
    t = table(app)
    return [t.render_line(y).text for y in range(min(t.row_count + 1, t.size.height))]


def starts(app: TcpscopeApp) -> list[tuple[str, int, int, bool]]:
    """Each column laid out: its key, first cell, width and whether it is right-aligned."""
    found, at = [], 0
    for col, width in table(app).layout_columns:
        found.append((col.key, at, width, col.right))
        at += width + 1
    return found


def misplaced(line: str, columns: list[tuple[str, int, int, bool]]) -> list[str]:
    """The columns whose text in ``line`` does not begin (or, right-aligned, end) at the
    column's own edge: a cell's text flush with its edge, a blank gap before it."""
    wrong = []
    for key, at, width, right in columns:
        cell = line[at : at + width]
        if not cell.strip() or key == "marker":
            continue
        gap_before = at == 0 or line[at - 1] == " "
        flush = cell[-1] != " " if right else cell[0] != " "
        if not (gap_before and flush):
            wrong.append(f"{key}@{at}: {cell!r}")
    return wrong


@linux_only
@pytest.mark.parametrize("size", [(60, 16), (80, 24), (120, 24)], ids=lambda s: f"{s[0]}")
async def test_expanded_members_line_up_under_the_column_titles(
    held: int, size: tuple[int, int]
) -> None:
    app = live_app()
    app.initial_filter = f"pid:{os.getpid()} addr:{HOST}"
    async with app.run_test(size=size) as pilot:
        t = table(app)
        await until(pilot, lambda: t.row_count == held)
        await pilot.press("g")
        await until(pilot, lambda: t.grouped and t.row_count == 1)
        await pilot.press("home", "enter")
        await until(pilot, lambda: t.row_count == held + 1)
        await pilot.pause()
        columns = starts(app)
        header, group, *members = drawn(app)
        assert group.startswith("▾ "), group
        assert len(members) == held, members
        # The titles sit at their columns' edges, and so does every member's text.
        assert not misplaced(header, columns), header
        for row in members:
            assert not misplaced(row, columns), (header, row)
        # Membership is still seen: the marker cell under the group's ▾ is a guide (or the
        # row's own new/changed/closed marker).
        assert all(row[0] in {MEMBER, *MARKERS.values()} - {" "} for row in members), members
