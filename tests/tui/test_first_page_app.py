"""The app draws its first page before owners are known, then fills them in (Textual pilot).

The real app over the real Sampler and the real netlink source, with sockets this test
holds: the stream starts with a first page. At the moment the app reports that page drawn
(and the rest of the first sample may go on), the rows on screen show owners as being looked
up, never as "no owner"; the whole first sample then lists the same rows first, with this
process as the owner of its own sockets.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.connections.first_page import PageRequest
from core.connections.model import TcpState
from core.sampling.sampler import Sampler
from tests.integration.sockets import SocketBag
from tests.tui.test_app import settle, table
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink")

ROWS = 200
"""The first page's length: every listener of a test machine fits (ours sort among them)."""


class WatchedSampler(Sampler):
    """The real sampler; notes what the table shows when the app says the page is drawn."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.app: TcpscopeApp | None = None
        self.seen: list[tuple[list[str], int, list[tuple[str, str]], str]] = []

    def page_shown(self) -> None:
        assert self.app is not None
        t = self.app.screen.query_one(ConnTable)
        lines = [t.render_line(y).text for y in range(1, t.size.height)]
        owners = [(column(t, "pid", ln), column(t, "process", ln)) for ln in lines if ln.strip()]
        snap = self.app.snapshot
        ids = [c.instance_id for c in snap.page.rows] if snap and snap.page else []
        bar = str(self.app.screen.query_one("#state-bar").render())
        self.seen.append((ids, t.row_count, owners, bar))
        super().page_shown()


def column(t: ConnTable, key: str, line: str) -> str:
    left = 0
    for col, width in t.layout_columns:
        if col.key == key:
            return line[left : left + width].strip()
        left += width + 1
    raise AssertionError(f"no {key} column")


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    """Sockets closed after the test."""
    with SocketBag() as sockets:
        yield sockets


async def test_first_page_then_owners(
    bag: SocketBag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.connections.sources.netlink import NetlinkSource

    # The rest of the first sample waits for the page to be drawn, however loaded the host.
    monkeypatch.setattr("core.sampling.sampler.PAGE_HOLD_S", 60.0)
    listener = bag.listener()
    bag.pair(listener)
    port = listener.getsockname()[1]
    # One sample in the test's time: a second one on a busy host (other tests' sockets
    # coming and going) would make the table longer or shorter than the page's dump.
    sampler = WatchedSampler(NetlinkSource(tcp_info=False), interval_s=60.0)
    app = TcpscopeApp(sampler, hostname="test", prefs_path=tmp_path / "prefs.json")
    sampler.app = app
    sampler.start_early(PageRequest(rows=ROWS))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 1)
        t = table(app)
        ((page_ids, total, owners, bar),) = sampler.seen
        assert page_ids  # a first page, drawn before the first whole sample
        assert total == t.row_count  # the page's table is as long as the whole sample
        assert "owners: looking up" in bar
        assert len(owners) == min(total, t.size.height - 1)  # a full page, not a few rows
        assert set(owners) == {("…", "…")}  # being looked up, never "-" (no owner)
        # The whole sample lists the page's rows first, in the same order, owners filled in.
        assert app.snapshot is not None and app.snapshot.page is None
        first_ids = [t.row_id_at(i) for i in range(len(page_ids))]
        assert len(page_ids) == min(ROWS, total)
        assert first_ids == page_ids
        ours = next(i for i in first_ids if t._record(i).local_port == port)
        assert t._record(ours).state is TcpState.LISTEN
        line = t.render_line(first_ids.index(ours) + 1).text
        assert column(t, "pid", line) == str(os.getpid())
        assert "owners: looking up" not in str(app.screen.query_one("#state-bar").render())
        await app.action_quit()


async def test_a_page_is_not_shown_over_a_filter(
    bag: SocketBag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter set before the page arrives (typed, or --filter) is never shown unfiltered."""
    from core.connections.sources.netlink import NetlinkSource

    monkeypatch.setattr("core.sampling.sampler.PAGE_HOLD_S", 60.0)
    listener = bag.listener()
    port = listener.getsockname()[1]
    # One sample in the test's time: a second one on a busy host (other tests' sockets
    # coming and going) would make the table longer or shorter than the page's dump.
    sampler = WatchedSampler(NetlinkSource(tcp_info=False), interval_s=60.0)
    app = TcpscopeApp(
        sampler, hostname="test", prefs_path=tmp_path / "prefs.json", filter_text=f"lport:{port}"
    )
    sampler.app = app
    sampler.start_early(PageRequest(rows=ROWS))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app, 1)
        ((page_ids, total, owners, bar),) = sampler.seen
        assert page_ids and total == 0 and owners == []  # nothing drawn from the page
        assert "owners: looking up" not in bar
        t = table(app)
        assert t.row_count == 1
        assert column(t, "pid", t.render_line(1).text) == str(os.getpid())
        await app.action_quit()
