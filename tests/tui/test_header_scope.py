"""What the header says a sample covers: "this network namespace" only when that is all it
read, here; the count of namespaces otherwise, for a remote feed and a replay too. And that at
80 columns it still says whether the rows are current: age, PAUSED, the privilege note."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.reactive import reactive

from core.connections.namespaces import NamespaceInfo, NamespaceView, ReadBy
from core.connections.snapshot import (
    ConnectionDiff,
    ErrorKind,
    Privilege,
    SampleStats,
    Snapshot,
    SourceError,
)
from tui.app import TcpscopeApp
from tui.shell import HeaderState
from tui.widgets.header import LIVE_SCOPE, HeaderBar, fitted_header, header_line, scope_words

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
HOST = NamespaceInfo(4026531840, True, ReadBy.SOCK_DIAG)
WEB = NamespaceInfo(4026532001, False, ReadBy.SOCK_DIAG, name="web")
GONE = NamespaceInfo(4026532002, False, ReadBy.UNREADABLE, name="locked")


def test_live_scope_words() -> None:
    assert scope_words(None, here=True) == (LIVE_SCOPE, "")
    # --netns all (or named ones) before the first view: rows may come from several already.
    assert scope_words(None, here=True, others=True) == ("", "")
    assert scope_words(NamespaceView((HOST, WEB)), here=True, others=True) == (
        "2 network namespaces",
        "",
    )
    assert scope_words(NamespaceView((HOST,)), here=True) == (LIVE_SCOPE, "")
    assert scope_words(NamespaceView((HOST, WEB)), here=True) == ("2 network namespaces", "")
    assert scope_words(NamespaceView((HOST, WEB, GONE)), here=True) == (
        "2 network namespaces",
        " (1 unreadable)",
    )
    # One namespace, but not the one tcpscope runs in (--netns web): not "this" one.
    assert scope_words(NamespaceView((WEB,), "web"), here=True) == ("1 network namespace", "")
    # --netns web, and web was deleted since (it said "0 network namespaces").
    assert scope_words(NamespaceView((), "web"), here=True) == ("--netns web: gone", "")


class _Host(App[None]):
    header: reactive[HeaderState | None] = reactive(None, init=False, repaint=False)

    def compose(self) -> ComposeResult:
        yield HeaderBar()


def _snapshot(view: NamespaceView | None, privilege: Privilege | None = None) -> Snapshot:
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
        privilege=privilege or Privilege(),
    )


async def _header(
    view: NamespaceView | None,
    *,
    live: bool,
    width: int = 200,
    paused: bool = False,
    privilege: Privilege | None = None,
    age_s: float = 0.0,
    source: str = "netlink via ssh",
    host: str = "box",
) -> tuple[str, HeaderBar]:
    """The header's drawn text in a ``width``-column terminal (one line, its whole width),
    and the widget."""
    app = _Host()
    async with app.run_test(size=(width, 3)) as pilot:
        app.header = HeaderState(
            host,
            source,
            1.0,
            paused,
            _snapshot(view, privilege),
            lambda: T0 + timedelta(seconds=age_s),
            live=live,
        )
        await pilot.pause()
        bar = app.query_one(HeaderBar)
        lines = bar.render_lines(Region(0, 0, bar.size.width, 1))
        return "".join(segment.text for segment in lines[0]), bar


async def _scope(view: NamespaceView | None, *, live: bool) -> str:
    return (await _header(view, live=live))[0]


async def test_header_scope_here_there_and_in_replays() -> None:
    assert "  this network namespace  source" in await _scope(None, live=True)
    assert "  2 network namespaces  source" in await _scope(NamespaceView((HOST, WEB)), live=True)
    # A remote host's (or a recording's) own namespace alone: nothing said ("this" means here).
    there = await _scope(NamespaceView((HOST,)), live=False)
    assert "namespace" not in there
    assert "  2 network namespaces (1 unreadable)  source" in await _scope(
        NamespaceView((HOST, WEB, GONE)), live=False
    )


async def test_at_80_columns_age_paused_and_privilege_stay_on_the_line() -> None:
    """The full wording is 100 cells here; it was cut at the edge, taking the age, PAUSED
    and "privileged cells hidden" with it. Shortened step by step, all of them stay."""
    limited = Privilege(("owners of other users' sockets",))
    view = NamespaceView((HOST, WEB, GONE))
    wide, _ = await _header(view, live=True, paused=True, privilege=limited)
    assert "source netlink via ssh" in wide and "last 09:00:00 (0s ago)  PAUSED" in wide
    text, _ = await _header(view, live=True, width=80, paused=True, privilege=limited)
    assert len(text) == 80 and "…" not in text  # drawn whole on its one line
    assert "2 netns (1 unreadable)" in text  # what the rows cover
    assert "09:00:00 (0s ago)" in text and "PAUSED" in text and "cells hidden" in text
    assert text.startswith("tcpscope  box")  # the app's name stays: scripts find it by it
    # Here, one namespace, nothing hidden: "source ", "last " and the interval go.
    text, _ = await _header(None, live=True, width=80, paused=True, source="netlink")
    assert text.startswith("tcpscope  box  this network namespace  netlink  09:00:00")
    assert text.rstrip().endswith("(0s ago)  PAUSED")


async def test_at_80_columns_a_long_host_label_keeps_the_privilege_note_whole() -> None:
    """Over --remote as an ordinary user with unreadable namespaces the line was cut to
    "… (0s ago)  cells": the note said nothing. The clock time goes before it."""
    limited = Privilege(("owners of other users' sockets",))
    view = NamespaceView(
        (HOST, WEB, GONE, *(NamespaceInfo(7 + i, False, ReadBy.SOCK_DIAG) for i in range(2)))
    )
    text, _ = await _header(view, live=False, width=80, privilege=limited, host="h3user@h3 (user)")
    assert "…" not in text and text.rstrip().endswith("(0s ago)  cells hidden"), text
    assert "4 netns (1 unreadable)" in text and "09:00:00" not in text


async def test_a_late_sample_stands_out() -> None:
    """Seven seconds without a sample at 1 s (a stalled SSH link, a hung source): the age is
    drawn in reverse video, not only a number that grows."""

    def age_style(bar: HeaderBar) -> str:
        content = bar.content
        assert isinstance(content, Text)
        start = content.plain.index("(")
        return " ".join(str(span.style) for span in content.spans if span.start == start)

    _, fresh = await _header(None, live=True, width=80)
    _, late = await _header(None, live=True, width=80, age_s=7)
    assert "(7s ago)" in late.content.plain  # type: ignore[union-attr]
    assert "reverse" not in age_style(fresh) and "reverse" in age_style(late)


def _busy_host_state(*, paused: bool = False, host: str = "vm") -> HeaderState:
    """What the reviewer met: 7 namespaces read as nobody, 6 nsfs files unmatched, the
    sampler stretched to 2.3 s on a loaded machine, privileged cells hidden."""
    stand_ins = tuple(
        NamespaceInfo(7 + i, False, ReadBy.SOCK_DIAG, stand_in=True) for i in range(6)
    )
    unmatched = tuple(
        NamespaceInfo(100 + i, False, ReadBy.UNREADABLE, unmatched=True) for i in range(6)
    )
    snap = replace(
        _snapshot(
            NamespaceView((HOST, *stand_ins, *unmatched)),
            Privilege(("owners of other users' sockets",)),
        ),
        stats=SampleStats(2100.0, 20000, 0, stretched_interval_s=2.3),
    )
    return HeaderState(host, "netlink", 1.0, paused, snap, lambda: T0, live=True)


@pytest.mark.parametrize("width", range(60, 81))
def test_a_busy_host_as_nobody_keeps_the_privilege_note_whole(width: int) -> None:
    """At 80 columns the line was cut to "… (stretched to 2.3s)  (0s ago)  cells": every
    shortening used, the note cut at the end. The unmatched count and the stretched note's
    wording give way first; the age and the whole note stay, from 60 columns up (the
    header's padding takes two of them)."""
    state = _busy_host_state()
    assert "7 network namespaces (6 unmatched)" in header_line(state).plain
    text = fitted_header(state, width - 2).plain
    assert len(text) <= width - 2, text
    assert text.startswith("tcpscope  vm  7 netns") and "stretched" in text, text
    assert text.endswith("(0s ago)  cells hidden"), text
    # Paused too: the tail (age, PAUSED, the note) stays whole, what comes before it is cut.
    text = fitted_header(_busy_host_state(paused=True), width - 2).plain
    assert len(text) <= width - 2 and text.endswith("(0s ago)  PAUSED  cells hidden"), text
    text = fitted_header(_busy_host_state(host="a-long-host-name.example.internal"), 58).plain
    assert len(text) <= 58 and text.endswith("(0s ago)  cells hidden"), text


class _AppStyled(App[None]):
    """The header as the app draws it: its id and the app's stylesheet (a padding of 1)."""

    CSS_PATH = TcpscopeApp.CSS_PATH
    header: reactive[HeaderState | None] = reactive(None, init=False, repaint=False)

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")


async def test_at_80_columns_a_busy_host_as_nobody_keeps_the_privilege_note() -> None:
    """The same state drawn by the widget, styled as in the app, at 80 columns."""
    app = _AppStyled()
    async with app.run_test(size=(80, 3)) as pilot:
        app.header = _busy_host_state()
        await pilot.pause()
        bar = app.query_one(HeaderBar)
        line = bar.render_lines(Region(0, 0, bar.size.width, 1))[0]
        text = "".join(segment.text for segment in line)
    assert text.rstrip().endswith("(0s ago)  cells hidden"), text
    assert "stretched" in text and "7 netns" in text, text


def _unreadable_state(*, shown: int, unreadable: int, paused: bool = False) -> HeaderState:
    """What the regression reviewer met: namespaces read as nobody under hidepid, some
    unreadable, the sampler stretched, privileged cells hidden."""
    readable = tuple(NamespaceInfo(7 + i, False, ReadBy.SOCK_DIAG) for i in range(shown - 1))
    locked = tuple(NamespaceInfo(100 + i, False, ReadBy.UNREADABLE) for i in range(unreadable))
    snap = replace(
        _snapshot(
            NamespaceView((HOST, *readable, *locked)),
            Privilege(("owners of other users' sockets",)),
        ),
        stats=SampleStats(2100.0, 20000, 0, stretched_interval_s=2.3),
    )
    return HeaderState("vm", "netlink", 1.0, paused, snap, lambda: T0, live=True)


def _words(state: HeaderState) -> set[str]:
    """Every word any shortening of the header says: a fitted line uses only these."""
    return {word for compact in range(20) for word in header_line(state, compact).plain.split()}


@pytest.mark.parametrize("width", range(56, 81))
@pytest.mark.parametrize(("shown", "unreadable"), [(7, 3), (1, 5)])
def test_a_header_too_long_gives_up_whole_words(width: int, shown: int, unreadable: int) -> None:
    """Every shortening used and still too long, the line was cut by cells: "7 netns
    (3 unreadab…", "(stre…". Whole parts go now, "stretched" (the rows come slower than
    asked) the last of them; the age and the privilege note stay whole."""
    state = _unreadable_state(shown=shown, unreadable=unreadable)
    text = fitted_header(state, width).plain
    assert len(text) <= width and "…" not in text, text
    assert set(text.split()) <= _words(state), text
    assert text.startswith("tcpscope  vm  ") and "(stretched" in text, text
    assert text.endswith("(0s ago)  cells hidden"), text
    paused = _unreadable_state(shown=shown, unreadable=unreadable, paused=True)
    text = fitted_header(paused, width).plain
    assert len(text) <= width and "…" not in text, text
    assert set(text.split()) <= _words(paused), text
    assert text.endswith("(0s ago)  PAUSED  cells hidden"), text
    if width >= 58:
        assert "(stretched" in text, text


LINK = "disconnected — reconnecting: attempt 3 failed: connection refused (ssh: connect…)"
LONG_HOST = "operator@db-primary-03.eu-west.example.com (root)"


@pytest.mark.parametrize("width", range(80, 121, 4))
def test_a_link_down_keeps_its_state_attempt_and_since_whole(width: int) -> None:
    """While the link is down its "since" stands for the age, and is kept as the age is:
    the long host label is cut first, then whole parts go; "reconnecting: …" said nothing.
    The privilege stays whole too: the attempt is said as "#3" before it would go."""
    base = _unreadable_state(shown=7, unreadable=3, paused=True)
    assert base.snapshot is not None
    snap = replace(base.snapshot, error=SourceError(ErrorKind.UNAVAILABLE, LINK, T0))
    state = replace(base, host=LONG_HOST, snapshot=snap, link=LINK, live=False)
    text = fitted_header(state, width).plain
    assert len(text) <= width and text.startswith("tcpscope  operato"), text
    attempt = "attempt 3" if width >= 88 else "#3"
    assert f" (root)  reconnecting{':' * (width >= 88)} {attempt} since 09:00:00  " in text
    assert text.endswith("  PAUSED  cells hidden"), text
    assert "failed" not in text and " … " not in text, text


@pytest.mark.parametrize("host", ["revremote@10.219.7.2", "revremote@lab"])
@pytest.mark.parametrize("privilege", ["root", "root via sudo", "user"])
@pytest.mark.parametrize("width", [78, 90, 100])
def test_a_remote_privilege_is_kept_whole_and_user_at_host_cut_first(
    host: str, privilege: str, width: int
) -> None:
    """``revremote@lab (root …`` could not tell "root" from "root via sudo", and
    ``revremote@10.…  reconnecting`` lost the privilege: user@host gives way, the privilege
    in its parentheses stays whole beside it (78: the header's cells at 80 columns)."""
    base = _unreadable_state(shown=7, unreadable=3)
    assert base.snapshot is not None
    seen = replace(base.snapshot, privilege=Privilege())  # as root on the server
    base = replace(base, snapshot=seen)
    snap = replace(seen, error=SourceError(ErrorKind.UNAVAILABLE, LINK, T0))
    label = f"{host} ({privilege})"
    for state in (
        replace(base, host=label, snapshot=snap, link=LINK, live=False),
        replace(base, host=label, live=False),
    ):
        text = fitted_header(state, width).plain
        assert len(text) <= width, text
        assert f" ({privilege})  " in text, text
        assert text.startswith(f"tcpscope  {host[:7]}"), text
