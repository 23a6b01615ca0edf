"""The replay diff (``a``, ``b``, ``d``) follows the connections screen's filter and names it:
a troubleshooter filtered down to one service wants that service's churn, not the host's.
Checked on a real recording of real loopback churn on two ports."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from textual.widgets import Static

from core.commands.feeds import FeedOptions
from core.commands.record import header_factory
from core.connections.model import TcpConnection
from core.recording.reader import Recording
from core.recording.replay import open_replay
from core.recording.writer import RecordingWriter
from core.sampling.sampler import Sampler
from tests.pilot_wait import until
from tests.replay.test_replay_tui import ready, shown
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.replay.controls import DiffScreen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink source")

SAMPLES = 7
MARK_A, MARK_B = 1, 5


class Churn:
    """A loopback listener whose one connection is replaced at every sample (closed by RST,
    no TIME_WAIT): between two marks some connections came and others went."""

    def __init__(self, stack: ExitStack) -> None:
        self.listener = stack.enter_context(socket.socket())
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port: int = self.listener.getsockname()[1]
        self.pair: tuple[socket.socket, socket.socket] | None = None

    def turn(self) -> None:
        if self.pair is not None:
            for s in self.pair:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        client = socket.create_connection(("127.0.0.1", self.port))
        self.pair = (client, self.listener.accept()[0])

    def close(self) -> None:
        for s in self.pair or ():
            s.close()


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, int]]:
    """(recording, watched port, other port): both ports churned while recording."""
    import asyncio

    from core.connections.sources import get_source

    path = tmp_path_factory.mktemp("churn") / "churn.tsr"

    async def record(watched: Churn, other: Churn) -> None:
        sampler = Sampler(get_source("netlink"), interval_s=0.2)
        options = FeedOptions(source="netlink", interval_s=0.2, ipsec=False)
        with path.open("wb") as out:
            writer = RecordingWriter(out, header_factory(options))
            seen = 0
            async for snap in sampler.stream():
                writer.write(snap)
                seen += 1
                if seen == SAMPLES:
                    break
                watched.turn()
                other.turn()
            writer.close()
        await sampler.aclose()

    with ExitStack() as stack:
        watched, other = Churn(stack), Churn(stack)
        try:
            asyncio.run(record(watched, other))
        finally:
            watched.close()
            other.close()
        yield path, watched.port, other.port


def on(port: int, conns: tuple[TcpConnection, ...]) -> list[TcpConnection]:
    return [c for c in conns if port in (c.local_port, c.remote_port)]


async def diff_screen(path: Path, filter_text: str) -> tuple[DiffScreen, str]:
    feed = open_replay(path)
    feed.pause()
    app = TcpscopeApp(feed, hostname="churn-host", filter_text=filter_text)
    async with app.run_test(size=(160, 60)) as pilot:
        await ready(pilot, app)
        feed.seek_index(MARK_A)
        await until(pilot, lambda: shown(app) == Recording(path).snapshot(MARK_A).seq)
        await pilot.press("a")
        feed.seek_index(MARK_B)
        await until(pilot, lambda: shown(app) == Recording(path).snapshot(MARK_B).seq)
        await pilot.press("b", "d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        body = static_text(screen.query_one("#diff-body", Static), width=156)
        title = static_text(screen.query_one("#diff-title", Static), width=156)
        return screen, title + "\n" + body


async def test_diff_follows_the_filter_and_says_so(churn: tuple[Path, int, int]) -> None:
    path, watched, _other = churn
    screen, text = await diff_screen(path, f"port:{watched}")
    diff = screen.diff
    listed = (*diff.added, *diff.removed, *(c.after for c in diff.state_changed))
    assert on(watched, diff.added) and on(watched, diff.removed)  # the watched port's churn
    assert all(watched in (c.local_port, c.remote_port) for c in listed), listed
    assert f"Connections matching the filter port:{watched}" in text
    assert f"filter port:{watched}" in text.splitlines()[0]  # the title says it too
    assert f"{len(diff.added)} added, {len(diff.removed)} removed" in text


async def test_diff_without_filter_covers_all_and_says_so(churn: tuple[Path, int, int]) -> None:
    path, watched, other = churn
    screen, text = await diff_screen(path, "")
    diff = screen.diff
    assert on(watched, diff.added) and on(other, diff.added) and on(other, diff.removed)
    assert "All connections (no filter)" in text
