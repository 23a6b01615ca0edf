"""A ``record --remote`` outage replays as the live app showed it: the IPsec values of the
outage sample are the last ones received, not live (dimmed, no rates, no provider active, a
banner saying why), on the counters, the native view and a counter's detail; the samples
around it are live.

The outage is the one the remote feed itself records when its link drops (the drop is
constructed: the sample is what :meth:`RemoteFeed._dropped` publishes); the file is written
by the project's recording writer and replayed in the real app.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.geometry import Region
from textual.widgets import Label, Static

from core.connections.snapshot import Snapshot
from core.recording.replay import open_replay
from core.remote.feed import DISCONNECTED, RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.pilot_wait import until
from tests.recording.util import demo_snapshots, write_recording
from tui.app import TcpscopeApp
from tui.ipsec.counter_detail import CounterDetail
from tui.ipsec.ipsec_table import CounterRowView
from tui.ipsec.sa_list import NativeTable
from tui.ipsec.screen import IpsecScreen


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield


@pytest.fixture
def with_outage(tmp_path: Path) -> Path:
    """Three samples received, the link lost (the outage sample), then two more."""
    snaps = demo_snapshots(2, 5)
    feed = RemoteFeed(
        parse_target("nobody@server.invalid"),
        stream_config(interval_s=1.0, ghost_ttl_s=5.0, ipsec=True, provider="auto",
                      vici=None, every_tcp_info=False, netns=None),
        recording=True,
    )  # fmt: skip
    written: list[Snapshot] = []
    for snap in snaps[:3]:
        feed._deliver(snap)  # as the reader thread hands over the agent's samples
        assert feed._last is not None
        written.append(feed._last)
    feed._dropped("connection reset by peer", data_at=time.monotonic())
    outage = feed._last
    assert outage is not None and outage.stale and outage.ipsec is not None
    path = tmp_path / "outage.tsr"
    write_recording(path, [*written, outage, *snaps[3:]])
    return path


def ipsec(app: TcpscopeApp) -> IpsecScreen:
    return next(s for s in app.screen_stack if isinstance(s, IpsecScreen))


def providers(app: TcpscopeApp) -> str:
    return str(ipsec(app).query_one("#ipsec-providers", Static).render())


def banner(app: TcpscopeApp) -> str:
    found = ipsec(app).query("#banner").results(Static)
    return " ".join(str(w.render()) for w in found if w.display)


def header(app: TcpscopeApp) -> str:
    console = Console(file=io.StringIO(), width=300, record=True, color_system=None)
    console.print(app.screen.query_one("#header", Static).content)
    return console.export_text()


def cells(app: TcpscopeApp, counter: str) -> tuple[str, str, bool]:
    """The counter's value and rate cells, and whether its row is marked stale."""
    row = ipsec(app).query_one(f"#row-demo-{counter}", CounterRowView)
    value, rate = (str(row.query_one(f".cell-{c}", Label).render()) for c in ("value", "rate"))
    return value, rate, row.has_class("-stale")


def native_dimmed(app: TcpscopeApp) -> list[bool]:
    """Per native counter row: whether its value and rate cells (those with text) are dimmed."""
    table = ipsec(app).query_one(NativeTable)
    out = []
    for key in table.rows:
        texts = [
            c if isinstance(c, Text) else Text(str(c))
            for c in (table.get_cell(key, "value"), table.get_cell(key, "rate"))
        ]
        shown = [t for t in texts if t.plain]
        if shown:
            out.append(all(any("dim" in str(s.style) for s in t.spans) for t in shown))
    return out


async def test_the_outage_sample_shows_its_ipsec_values_as_not_live(with_outage: Path) -> None:
    feed = open_replay(with_outage)
    feed.pause()
    app = TcpscopeApp(feed, hostname="web1")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        await pilot.press("2")
        feed.seek_index(2)  # the last sample received before the drop: live
        await until(pilot, lambda: feed.index == 2 and "● demo" in providers(app))
        assert banner(app) == "" and not cells(app, "SendFailures")[2]
        assert DISCONNECTED not in header(app)

        feed.seek_index(3)  # the outage sample
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.stale)
        await pilot.pause()
        assert "◌ demo" in providers(app) and "●" not in providers(app), providers(app)
        said = banner(app)
        assert "not live: " in said and DISCONNECTED in said, said
        assert "connection reset by peer" in said
        assert DISCONNECTED in header(app)
        for counter in ("ActiveAcquire", "SendFailures"):
            value, rate, stale = cells(app, counter)
            assert value != "—" and rate == "—" and stale, (counter, value, rate)

        await pilot.press("enter")  # the counter detail says so too
        await until(pilot, lambda: bool(app.screen.query(CounterDetail)))
        summary = app.screen.query_one(CounterDetail).query_one(".detail-summary", Static)
        detail = str(summary.render())
        assert "Not live: " in detail and DISCONNECTED in detail, detail
        await pilot.press("escape")
        await until(pilot, lambda: not app.screen.query(CounterDetail))

        await pilot.press("n")  # the native counters: the last values, dimmed
        await pilot.pause()
        dimmed = native_dimmed(app)
        assert dimmed and all(dimmed), dimmed

        feed.seek_index(4)  # the first sample after the reconnection: live again
        await until(pilot, lambda: "● demo" in providers(app))
        assert banner(app) == "" and not any(native_dimmed(app))
        assert DISCONNECTED not in header(app)


async def test_the_ipsec_screen_first_opened_on_the_outage_sample_is_not_live(
    with_outage: Path,
) -> None:
    """Opened for the first time on the outage sample, the screen said "not live" in its
    banner while the table under it showed rates and undimmed values: the section built for
    the first view was filled once mounted with that view as live, over the stale showing."""
    feed = open_replay(with_outage)
    feed.pause()
    app = TcpscopeApp(feed, hostname="web1")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        feed.seek_index(3)  # the outage sample, before the IPsec screen was ever shown
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.stale)
        await pilot.press("2")
        await until(pilot, lambda: bool(ipsec(app).query(CounterRowView)))
        for _ in range(5):
            await pilot.pause()
        assert "not live: " in banner(app)
        for counter in ("ActiveAcquire", "SendFailures"):
            value, rate, stale = cells(app, counter)
            assert value != "—" and rate == "—" and stale, (counter, value, rate)


async def test_the_connections_screen_says_why_the_recorded_link_was_down(
    with_outage: Path,
) -> None:
    """At 80 columns the header has room for the state and since only: the cause of the
    recorded outage is on one line of its own below it, and gone on the next sample."""
    feed = open_replay(with_outage)
    feed.pause()
    app = TcpscopeApp(feed, hostname="web1")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        cause = app.screen.query_one("#banner", Static)
        feed.seek_index(3)  # the outage sample
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.stale)
        await pilot.pause()
        assert cause.display and cause.size.height == 1
        said = "".join(s.text for s in cause.render_lines(Region(0, 0, 80, 1))[0])
        assert said.rstrip() == "  cause: nobody@server.invalid: connection reset by peer", said
        feed.seek_index(4)
        await until(pilot, lambda: not cause.display)


@pytest.fixture
def late_ipsec(tmp_path: Path) -> Path:
    """Two samples without an IPsec view (the sampler's first came later), then two with."""
    snaps = demo_snapshots(2, 4)
    path = tmp_path / "late.tsr"
    write_recording(path, [dataclasses.replace(s, ipsec=None) for s in snaps[:2]] + snaps[2:])
    return path


async def test_a_seek_back_before_the_first_ipsec_view_shows_no_later_values(
    late_ipsec: Path,
) -> None:
    """The sampler's first IPsec view can come samples after its first connections: a seek
    back to those samples kept showing the later view; now the screen says none is known."""
    feed = open_replay(late_ipsec)
    feed.pause()
    app = TcpscopeApp(feed, hostname="web1")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        await pilot.press("2")
        feed.seek_index(3)
        await until(pilot, lambda: "● demo" in providers(app))
        feed.seek_index(1)
        await until(pilot, lambda: feed.index == 1 and app.ipsec_view is None)
        await pilot.pause()
        assert "No IPsec values were recorded up to this sample" in providers(app)
        assert not ipsec(app).query_one("#ipsec-switcher").display
        feed.seek_index(2)  # the first view: shown again, the cursor on its first row
        await until(pilot, lambda: "● demo" in providers(app))
        for _ in range(3):
            await pilot.pause()
        assert ipsec(app).query_one("#ipsec-switcher").display
        assert isinstance(ipsec(app).focused, CounterRowView)
