"""The app over real namespaces: the Namespace column appears only when more than one
namespace has sockets, ``ns:``/``container:`` filter, ``g`` groups by container, the header
counts the namespaces read, and at 80x24 (no room for the column) the header and the detail
pane still say which namespace a row is in."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from core.commands.feeds import FeedOptions, make_feed
from core.connections import get_source
from core.connections.first_page import PageRequest
from core.netns import namespace_dumps
from core.sampling.sampler import Sampler
from tests.netns.lab import free_port, listener, needs_netns, netns, unique
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable
from tui.widgets.header import HeaderBar

pytestmark = needs_netns


@pytest.fixture
def two() -> Iterator[tuple[str, str, int]]:
    port = free_port()
    with (
        netns(unique("ta")) as a,
        netns(unique("tb")) as b,
        listener(a, port),
        listener(b, port),
    ):
        yield a, b, port


def app_for(netns: str) -> TcpscopeApp:
    options = FeedOptions(netns=netns, ipsec=False, interval_s=0.2, every_tcp_info=False)
    return TcpscopeApp(make_feed(options), hostname="testhost")


async def rows_when(pilot: Pilot[int], app: TcpscopeApp, count: int) -> ConnTable:
    table = app.screen.query_one(ConnTable)
    for _ in range(300):
        if app.snapshot is not None and table.row_count == count:
            return table
        await pilot.pause(0.02)
    raise AssertionError(f"never {count} rows (have {table.row_count})")


def line(table: ConnTable, y: int) -> str:
    return table.render_line(y).text


async def test_namespace_column_filters_and_grouping(two: tuple[str, str, int]) -> None:
    a, b, _port = two
    app = app_for(f"{a},{b}")
    async with app.run_test(size=(160, 30)) as pilot:
        table = await rows_when(pilot, app, 2)
        assert table.many_namespaces
        assert "Namespace" in line(table, 0)
        assert {line(table, 1).split()[-1], line(table, 2).split()[-1]} == {a, b}
        header = app.screen.query_one(HeaderBar)
        console = Console(file=io.StringIO(), width=200, color_system=None)
        console.print(header.content)
        assert "2 network namespaces" in console.file.getvalue()  # type: ignore[attr-defined]
        await pilot.press("slash", *f"ns:{a}", "enter")
        table = await rows_when(pilot, app, 1)
        assert line(table, 1).split()[-1] == a
        await pilot.press("slash", *["ctrl+u"], *"container:docker", "enter")
        await pilot.press("escape")
        table = await rows_when(pilot, app, 2)
        await pilot.press("g", "g")  # by process, then by container
        table = await rows_when(pilot, app, 2)
        assert table.grouped and table.group_by == "container"
        await pilot.press("home")
        names = {table.cursor_group.name if table.cursor_group else None}
        await pilot.press("down")
        names.add(table.cursor_group.name if table.cursor_group else None)
        assert names == {a, b}


async def test_one_namespace_has_no_namespace_column(two: tuple[str, str, int]) -> None:
    a, _b, _port = two
    app = app_for(a)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await rows_when(pilot, app, 1)
        assert not table.many_namespaces
        assert "Namespace" not in line(table, 0)


def header_text(app: TcpscopeApp) -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(app.screen.query_one(HeaderBar).content)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


async def test_at_80x24_header_and_detail_name_the_namespaces(two: tuple[str, str, int]) -> None:
    """The Namespace column does not fit 80 columns; the header's first words say how many
    namespaces the rows come from, and the detail pane's summary names the row's."""
    a, b, port = two
    app = app_for(f"{a},{b}")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await rows_when(pilot, app, 2)
        assert table.many_namespaces
        assert "Namespace" not in line(table, 0)  # no room: the layout drops it
        head = header_text(app)
        # Whole, or as "2 netns" when the line is longer (a busy host's stretch note): the
        # header's shortening (tests/tui/test_header_scope.py) keeps the count either way.
        assert re.search(r"  2 (network namespaces|netns)  netlink", head), head
        assert "this network namespace" not in head and "this netns" not in head
        await pilot.press("slash", *f"ns:{b}", "enter")
        await rows_when(pilot, app, 1)
        await pilot.press("escape", "enter")
        box = app.screen.query_one("#detail-summary", Static)
        for _ in range(100):
            summary = static_text(box, width=box.region.width)
            if "Netns" in summary:
                break
            await pilot.pause(0.02)
        assert box.region.bottom <= 23  # above the footer: no scrolling for the answer
        assert f"Netns    ip netns {b} (inode " in summary, summary
        assert f":{port}" in summary


async def test_one_other_namespace_is_not_called_this_one(two: tuple[str, str, int]) -> None:
    a, _b, _port = two
    app = app_for(a)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows_when(pilot, app, 1)
        head = header_text(app)
        assert re.search(r"  1 (network namespace|netns)  netlink", head), head
        assert "this network namespace" not in head and "this netns" not in head


@pytest.fixture
def lopsided() -> Iterator[tuple[str, str]]:
    """Namespace ``a`` with two processes of two listeners each, ``b`` with one process of
    three: b's process is the first process group but b is the second namespace group, so a
    cursor that kept its row position would land on the wrong namespace."""
    with (
        netns(unique("ga")) as a,
        netns(unique("gb")) as b,
        listener(a, 7101, 7102),
        listener(a, 7103, 7104),
        listener(b, 7201, 7202, 7203),
    ):
        yield a, b


async def test_g_cycle_keeps_the_cursors_connection(lopsided: tuple[str, str]) -> None:
    """README: with ``g`` the cursor "moves to its connection's group (and back when
    ungrouped)" — through process, namespace and no grouping, not by row position."""
    a, b = lopsided
    app = app_for(f"{a},{b}")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await rows_when(pilot, app, 7)
        assert app.snapshot is not None
        iid = next(i for i, c in app.snapshot.connections.items() if c.local_port == 7202)
        assert table.move_cursor_to(iid)
        await pilot.press("g")  # by process
        group = table.cursor_group
        assert table.group_by == "process" and group is not None
        assert iid in group.members and len(group.members) == 3
        await pilot.press("g")  # by namespace
        group = table.cursor_group
        assert table.group_by == "container" and group is not None
        assert group.name == b and iid in group.members
        await pilot.press("g")  # no groups: back on the connection
        assert not table.grouped and table.cursor_id == iid


class HeaderAtPage(Sampler):
    """The real sampler; notes the header when the app says the first page is drawn."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.app: TcpscopeApp | None = None
        self.seen: list[tuple[int, str]] = []

    def page_shown(self) -> None:
        assert self.app is not None and self.app.snapshot is not None
        self.seen.append((len(self.app.snapshot.connections), header_text(self.app)))
        super().page_shown()


async def test_first_page_of_other_namespaces_is_not_this_one(
    two: tuple[str, str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page comes before the namespaces are known: its header said "this network
    namespace" while its rows came from two others (the next sample said "2 network
    namespaces"). Now it says nothing of them until it knows."""
    a, b, _port = two
    monkeypatch.setattr("core.sampling.sampler.PAGE_HOLD_S", 60.0)  # until the page is drawn
    source = get_source(
        "netlink", tcp_info=False, namespaces=namespace_dumps(f"{a},{b}", tcp_info=False)
    )
    sampler = HeaderAtPage(source)
    app = TcpscopeApp(sampler, hostname="testhost", prefs_path=tmp_path / "prefs.json")
    sampler.app = app
    sampler.start_early(PageRequest(rows=20))
    async with app.run_test(size=(80, 24)) as pilot:
        await rows_when(pilot, app, 2)
        ((rows, head),) = sampler.seen
        assert rows == 2  # both namespaces' listeners on the first page
        assert "this network namespace" not in head and "this netns" not in head, head
        for _ in range(100):
            if app.snapshot is not None and app.snapshot.namespaces is not None:
                break
            await pilot.pause(0.02)
        assert re.search(r"  2 (network namespaces|netns)  ", header_text(app))
        await app.action_quit()
