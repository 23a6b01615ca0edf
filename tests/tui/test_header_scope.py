"""What the header says a sample covers: "this network namespace" only when that is all it
read, here; the count of namespaces otherwise, for a remote feed and a replay too."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console
from textual.app import App, ComposeResult
from textual.reactive import reactive

from core.connections.namespaces import NamespaceInfo, NamespaceView, ReadBy
from core.connections.snapshot import ConnectionDiff, SampleStats, Snapshot
from tui.shell import HeaderState
from tui.widgets.header import LIVE_SCOPE, HeaderBar, scope_words

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
HOST = NamespaceInfo(4026531840, True, ReadBy.SOCK_DIAG)
WEB = NamespaceInfo(4026532001, False, ReadBy.SOCK_DIAG, name="web")
GONE = NamespaceInfo(4026532002, False, ReadBy.UNREADABLE, name="locked")


def test_live_scope_words() -> None:
    assert scope_words(None, here=True) == (LIVE_SCOPE, "")
    assert scope_words(NamespaceView((HOST,)), here=True) == (LIVE_SCOPE, "")
    assert scope_words(NamespaceView((HOST, WEB)), here=True) == ("2 network namespaces", "")
    assert scope_words(NamespaceView((HOST, WEB, GONE)), here=True) == (
        "2 network namespaces",
        " (1 unreadable)",
    )
    # One namespace, but not the one tcpscope runs in (--netns web): not "this" one.
    assert scope_words(NamespaceView((WEB,), "web"), here=True) == ("1 network namespace", "")


class _Host(App[None]):
    header: reactive[HeaderState | None] = reactive(None, init=False, repaint=False)

    def compose(self) -> ComposeResult:
        yield HeaderBar()


def _snapshot(view: NamespaceView | None) -> Snapshot:
    return Snapshot(
        seq=1,
        time=T0,
        started_at=T0,
        source="netlink",
        interval_s=1.0,
        connections={},
        diff=ConnectionDiff(),
        tcp_info={},
        processes={},
        stats=SampleStats(1.0, 0, 0),
        namespaces=view,
    )


async def _header(view: NamespaceView | None, *, live: bool) -> str:
    app = _Host()
    async with app.run_test(size=(80, 3)) as pilot:
        app.header = HeaderState(
            "box", "netlink via ssh", 1.0, False, _snapshot(view), lambda: T0, live=live
        )
        await pilot.pause()
        console = Console(file=io.StringIO(), width=200, color_system=None)
        console.print(app.query_one(HeaderBar).content)
        return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


async def test_header_scope_here_there_and_in_replays() -> None:
    assert "  this network namespace  source" in await _header(None, live=True)
    assert "  2 network namespaces  source" in await _header(NamespaceView((HOST, WEB)), live=True)
    # A remote host's (or a recording's) own namespace alone: nothing said ("this" means here).
    there = await _header(NamespaceView((HOST,)), live=False)
    assert "namespace" not in there
    assert "  2 network namespaces (1 unreadable)  source" in await _header(
        NamespaceView((HOST, WEB, GONE)), live=False
    )
