"""The close and kill dialogs at the minimum terminal size, 60x16, on real sockets.

What a reviewer met in tmux at 60x16: the dialog grew to the screen's height and its last
lines were clipped, buttons and all; the modal hides the footer, so ``y``/``n`` were shown
nowhere. A listener's ``x`` ended at "…are reset.", ``K`` at "…SIGKILL is offered.".
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

import core.connections.process_end as process_end
from tests.integration.sockets import SocketBag
from tests.tui.test_actions import confirm, live_app, select, until
from tests.tui.test_ipsec_screen import drawn_lines
from tui.app import TcpscopeApp
from tui.connections.actions import ConfirmScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")
SIZE = (60, 16)
"""The README's minimum: "From 60x16 up the table works"."""
QUEUED = 3


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    with SocketBag() as sockets:
        yield sockets


def queue_child(bag: SocketBag) -> tuple[subprocess.Popen[str], int]:
    """The reviewer's process: a listener that never accepts, 3 of its own clients connected
    (waiting in its accept queue), SIGTERM ignored (so ``K`` goes on to offer SIGKILL)."""
    return bag._spawn(
        "import signal,socket,sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(8)\n"
        f"c=[socket.create_connection(s.getsockname()) for _ in range({QUEUED})]\n"
        "print(s.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )


async def sampled(pilot: Pilot[int], app: TcpscopeApp, port: int) -> None:
    """Until the listener, its clients and the connections queued for it are all rows."""

    def rows() -> int:
        snap = app.snapshot
        conns = () if snap is None else snap.connections.values()
        return sum(1 for c in conns if port in (c.local_port, c.remote_port))

    await until(pilot, lambda: rows() == 1 + 2 * QUEUED)


async def assert_question_readable(
    pilot: Pilot[int], app: TcpscopeApp, title: str, yes: str, first: tuple[str, ...]
) -> None:
    """The dialog's title, its first lines of body (what is done, what it affects) and both
    buttons' labels are drawn on the screen."""
    await confirm(pilot, app)
    await pilot.pause()
    drawn = "\n".join(drawn_lines(app))
    assert title in drawn, drawn
    for line in first:
        assert line in drawn, drawn
    assert f"{yes} (y)" in drawn and "Cancel (n)" in drawn, drawn


async def test_a_listener_close_dialog_shows_its_buttons_at_60x16(bag: SocketBag) -> None:
    _, port = queue_child(bag)
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await sampled(pilot, app, port)
        await select(pilot, app, port, 0)
        await pilot.press("x")
        affects = f"{1 + QUEUED} connections: the listener and {QUEUED} waiting"
        await assert_question_readable(
            pilot, app, "Close this listener?", "Close", (f"127.0.0.1:{port}", affects)
        )
        assert "↓ more" in "\n".join(drawn_lines(app))  # the rest is said to be there
        await pilot.press("pagedown", "pagedown")  # and is reached, the buttons still shown
        await until(pilot, lambda: "reset." in "\n".join(drawn_lines(app)))
        await assert_question_readable(pilot, app, "Close this listener?", "Close", ())
        assert "↑ more above" in "\n".join(drawn_lines(app))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))


async def test_an_established_close_dialog_shows_its_buttons_at_60x16(bag: SocketBag) -> None:
    """The reviewer's third: an Established row's ``x`` showed only the buttons' top edge."""
    child, port = queue_child(bag)
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await sampled(pilot, app, port)
        assert app.snapshot is not None
        (client, *_) = sorted(
            c.local_port
            for c in app.snapshot.connections.values()
            if c.remote_port == port and c.owning_process == child.pid
        )
        await select(pilot, app, client, port)
        await pilot.press("x")
        await assert_question_readable(
            pilot, app, "Close this connection?", "Close", (f"127.0.0.1:{client}", "Affects")
        )


async def test_terminate_and_kill_dialogs_show_their_buttons_at_60x16(
    bag: SocketBag, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_end, "TERM_GRACE_S", 0.3)
    child, port = queue_child(bag)
    app = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await sampled(pilot, app, port)
        await select(pilot, app, port, 0)
        await pilot.press("K")
        await assert_question_readable(
            pilot, app, f"Terminate PID {child.pid}", "Terminate", ("Holds",)
        )
        term = app.screen
        await pilot.press("y")
        await until(pilot, lambda: app.screen is not term and isinstance(app.screen, ConfirmScreen))
        await assert_question_readable(
            pilot, app, f"Kill PID {child.pid}", "Kill", ("still running",)
        )
        await pilot.press("y")
        await until(pilot, lambda: child.poll() is not None)
    assert child.wait(timeout=5) == -signal.SIGKILL
