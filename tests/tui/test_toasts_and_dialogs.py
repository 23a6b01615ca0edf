"""Toasts against the close/kill dialogs and Esc, in the real app at 80x24 on real sockets.

What a reviewer met in tmux: the toast of a refused ``x`` (6-8 lines, 8 s) was drawn over the
next ``x``'s dialog, its ``Close (y)`` / ``Cancel (n)`` buttons hidden; and ``Esc`` pressed to
get rid of a toast cleared the filter without a word, so the next ``x`` was aimed at a row the
filter had kept out of sight.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Iterator

import pytest
from textual.geometry import Region
from textual.pilot import Pilot

import core.connections.process_end as process_end
from tests.integration.sockets import SocketBag
from tests.tui.test_actions import confirm, live_app, row, select, toasts, until
from tests.tui.test_ipsec_screen import drawn_lines, open_ipsec
from tests.tui.test_ipsec_screen import make as make_ipsec
from tui.app import TcpscopeApp
from tui.connections.actions import ConfirmScreen
from tui.connections.conn_table import ConnTable
from tui.ipsec.ipsec_table import CounterTable
from tui.widgets.filter_bar import FilterBar

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def shown_toasts(app: TcpscopeApp) -> list[Region]:
    """Where the toasts are drawn on the screen on top now."""
    return [toast.region for toast in app.screen.query("#textual-toastrack Toast")]


def assert_buttons_readable(app: TcpscopeApp, yes: str) -> None:
    """Both buttons of the dialog drawn and no toast over them or the dialog's text."""
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    drawn = "\n".join(drawn_lines(app))
    assert f"{yes} (y)" in drawn and "Cancel (n)" in drawn, drawn
    dialog = [screen.query_one(f"#{part}").region for part in ("confirm-body", "yes", "no")]
    covered = [(d, t) for d in dialog for t in shown_toasts(app) if d.overlaps(t)]
    assert not covered, drawn


async def filtered_to(pilot: Pilot[int], app: TcpscopeApp, query: str) -> None:
    """Type ``/query`` Enter, as a user does."""
    await pilot.press("slash", *query, "enter")
    await until(pilot, lambda: app.screen.query_one(ConnTable).index.query.text == query)


async def test_a_refused_x_toast_never_covers_the_next_close_dialog(bag: SocketBag) -> None:
    """The reviewer's steps: a socket only bound and a listener, filtered to the two, End, x
    (refused: a toast), Up, x: the dialog opened under the toast, its buttons hidden."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        listener = bag.listener()
        ports = bound.getsockname()[1], listener.getsockname()[1]
        app = live_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: all(row(app, p, 0) for p in ports))
            await filtered_to(pilot, app, f"lport:{ports[0]},{ports[1]}")
            table = app.screen.query_one(ConnTable)
            await select(pilot, app, ports[0], 0)  # the bound one, wherever the sort put it
            await pilot.press("x")
            await until(pilot, lambda: shown_toasts(app))
            assert any(t.startswith("not closed: a socket only bound") for t in toasts(app))
            listening = row(app, ports[1], 0)
            assert listening is not None
            await until(pilot, lambda: table.move_cursor_to(listening.instance_id))
            await pilot.press("x")
            assert "Close this listener?" in await confirm(pilot, app)
            await pilot.pause()
            assert_buttons_readable(app, "Close")
            drawn = "\n".join(drawn_lines(app))
            assert "end its process instead" not in drawn, drawn  # nor its tail, below
            await pilot.press("n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await pilot.pause()
            assert not shown_toasts(app)  # its news was read: it does not come back either


async def test_a_kill_toast_never_covers_the_next_terminate_dialog(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K, y, y on a process that ignores SIGTERM leaves "… exited after SIGKILL"; K on another
    process (six listeners: its dialog lists five) opened its dialog under that toast."""
    monkeypatch.setattr(process_end, "TERM_GRACE_S", 0.3)
    stubborn, port = bag.child_listener(ignore_term=True)
    other, other_port = bag._spawn(
        "import socket,sys\n"
        "s=[socket.socket() for _ in range(6)]\n"
        "[(x.bind(('127.0.0.1',0)),x.listen()) for x in s]\n"
        "print(s[0].getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await select(pilot, app, port, 0)
        await pilot.press("K")
        first = await confirm(pilot, app)
        assert f"PID {stubborn.pid}" in first
        term = app.screen
        await pilot.press("y")
        await until(pilot, lambda: app.screen is not term and isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: any("exited after SIGKILL" in t for t in toasts(app)))
        await until(pilot, lambda: shown_toasts(app))
        await select(pilot, app, other_port, 0)
        await pilot.press("K")
        assert f"Terminate PID {other.pid}" in await confirm(pilot, app)
        await pilot.pause()
        assert_buttons_readable(app, "Terminate")
        assert "after SIGKILL" not in "".join(drawn_lines(app))
        app.notify("news while asked", timeout=60)  # hidden under the question, not lost
        await pilot.pause()
        await pilot.pause()
        assert_buttons_readable(app, "Terminate")
        assert "news while asked" not in "".join(drawn_lines(app))
        await pilot.press("n")
        await until(pilot, lambda: "news while asked" in "".join(drawn_lines(app)))
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    assert other.poll() is None


async def test_a_toast_under_the_terminate_dialog_survives_the_kill_question(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K, a toast comes while the question is up (hidden under it), y, the process ignores
    SIGTERM: the Kill question that follows dropped that toast unseen, as it drops the toasts
    shown before a first question. It shows once the last question is answered."""
    monkeypatch.setattr(process_end, "TERM_GRACE_S", 0.3)
    stubborn, port = bag.child_listener(ignore_term=True)
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await select(pilot, app, port, 0)
        await pilot.press("K")
        assert f"Terminate PID {stubborn.pid}" in await confirm(pilot, app)
        term = app.screen
        app.notify("news while asked", timeout=60)
        await pilot.pause()
        assert "news while asked" not in "".join(drawn_lines(app))  # never over a question
        await pilot.press("y")
        await until(pilot, lambda: app.screen is not term and isinstance(app.screen, ConfirmScreen))
        assert f"Kill PID {stubborn.pid}" in await confirm(pilot, app)
        await pilot.pause()
        assert_buttons_readable(app, "Kill")
        assert "news while asked" not in "".join(drawn_lines(app))
        await pilot.press("n")
        await until(pilot, lambda: "news while asked" in "".join(drawn_lines(app)))
        assert any(t.endswith("left running") for t in toasts(app)), toasts(app)
    assert stubborn.poll() is None


async def test_esc_on_a_toast_only_dismisses_it_then_a_second_esc_says_it_cleared(
    bag: SocketBag,
) -> None:
    """Esc while a toast shows takes the toast away and keeps the filter (it cleared the
    filter silently: the next x targeted a row the user had filtered out). Esc with no toast
    clears the filter and says which one it was."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        app = live_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: row(app, port, 0))
            query = f"lport:{port}"
            await filtered_to(pilot, app, query)
            table = app.screen.query_one(ConnTable)
            await select(pilot, app, port, 0)
            await pilot.press("x")
            await until(pilot, lambda: shown_toasts(app))
            await pilot.press("escape")
            await until(pilot, lambda: not shown_toasts(app))
            assert table.index.query.text == query
            assert query in "".join(drawn_lines(app))  # the filter line still shows it
            await pilot.press("escape")
            await until(pilot, lambda: table.index.query.empty)
            await until(pilot, lambda: shown_toasts(app))
            (said,) = toasts(app)
            assert said == f"was: {query}", toasts(app)
            drawn = "\n".join(drawn_lines(app))
            assert "Filter cleared" in drawn and f"was: {query}" in drawn, drawn
            assert "none (press / to filter)" in drawn, drawn


async def test_esc_in_the_filter_input_says_the_filter_it_cleared(bag: SocketBag) -> None:
    """Esc in the open filter input closes it and drops the active filter: said, as the
    other Esc that clears one."""
    listener = bag.listener()
    port = listener.getsockname()[1]
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: row(app, port, 0))
        await filtered_to(pilot, app, f"lport:{port}")
        await pilot.press("slash")
        bar = app.screen.query_one(FilterBar)
        await until(pilot, lambda: bar.editing)
        await pilot.press("escape")
        await until(pilot, lambda: not bar.editing and toasts(app))
        assert toasts(app) == [f"was: lport:{port}"]
        assert app.screen.query_one(ConnTable).index.query.empty
        assert isinstance(app.screen.focused, ConnTable)


async def test_esc_with_no_filter_and_no_toast_says_nothing(bag: SocketBag) -> None:
    listener = bag.listener()
    port = listener.getsockname()[1]
    app = live_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await select(pilot, app, port, 0)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert toasts(app) == []
        assert isinstance(app.screen.focused, ConnTable)


async def test_ipsec_esc_on_a_toast_only_dismisses_it_then_says_the_filter_it_cleared() -> None:
    """The IPsec screen as the connections screen: Esc with a toast showing takes the toast
    away and keeps the filter (it cleared the filter too, unseen); the next Esc clears it and
    says which it was; Esc in the open input likewise."""
    app, feed = make_ipsec()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        table = screen.query_one(CounterTable)
        everything = len(table.visible_rows())
        await pilot.press("slash", *"fail", "enter")
        assert table.filter_text == "fail" and len(table.visible_rows()) < everything
        app.notify("news", timeout=60)
        await until(pilot, lambda: shown_toasts(app))
        await pilot.press("escape")
        await until(pilot, lambda: not shown_toasts(app) or table.filter_text != "fail")
        assert table.filter_text == "fail" and len(table.visible_rows()) < everything
        assert not shown_toasts(app)
        await pilot.press("escape")
        await until(pilot, lambda: shown_toasts(app))
        assert table.filter_text == "" and len(table.visible_rows()) == everything
        assert toasts(app) == ["was: fail"], toasts(app)
        drawn = "\n".join(drawn_lines(app))
        assert "Filter cleared" in drawn and "was: fail" in drawn, drawn
        await pilot.press("escape")  # the toast only
        await until(pilot, lambda: not shown_toasts(app))
        await pilot.press("slash", *"key")
        bar = screen.query_one(FilterBar)
        await until(pilot, lambda: bar.editing and table.filter_text == "key")
        await pilot.press("escape")
        await until(pilot, lambda: not bar.editing and toasts(app))
        assert toasts(app) == ["was: key"] and table.filter_text == ""
        await pilot.press("escape")  # no filter, the toast goes: nothing more is said
        await until(pilot, lambda: not shown_toasts(app))
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert toasts(app) == []
