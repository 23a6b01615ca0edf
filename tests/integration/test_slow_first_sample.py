"""A first sample slower than the hang timeout is waited for while it makes progress; a source
that stops making progress is still reported as hung (real netlink dumps, slowed per reply)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from core.connections.snapshot import ErrorKind
from core.connections.sources.info_digest import KeptReply
from core.connections.sources.netlink import NetlinkSource
from core.sampling.sampler import Sampler
from tests.integration.conftest import IS_LINUX
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")

TIMEOUT_S = 0.5
REPLY_S = 0.2
"""Each kernel reply is held this long: under the timeout, so the dump keeps moving."""


class SlowDump(NetlinkSource):
    """The real source, its dump slowed down after every reply (as a loaded host's 250k
    first sample is); ``stall`` stops it after the first reply until released."""

    def __init__(self, stall: threading.Event | None = None) -> None:
        super().__init__(tcp_info=False)
        self.stall = stall

    def _dump(
        self, feed: Callable[[list[bytes]], None], chunks: list[KeptReply], states: int
    ) -> None:
        def slow(found: list[bytes]) -> None:
            feed(found)
            if self.stall is not None:
                self.stall.wait(30)
            time.sleep(REPLY_S)

        super()._dump(slow, chunks, states)


async def test_a_first_sample_that_keeps_moving_is_not_a_hang(bag: SocketBag) -> None:
    listener = bag.listener()
    for _ in range(1000):
        bag.pair(listener)
    source = SlowDump()
    sampler = Sampler(source, interval_s=1.0, timeout_s=TIMEOUT_S)
    try:
        started = time.monotonic()
        first = await sampler.sample_once()
        took = time.monotonic() - started
    finally:
        await sampler.aclose()
    replies = source.progress[0]
    assert replies >= 3 and took > TIMEOUT_S  # the setup is what it claims: slow, moving
    assert first.error is None
    assert len(first.connections) >= 2000
    assert sampler.samples_taken == 1  # one call, waited for, never a second one


async def test_a_source_that_stops_moving_is_reported_as_hung() -> None:
    release = threading.Event()
    sampler = Sampler(SlowDump(stall=release), interval_s=1.0, timeout_s=TIMEOUT_S)
    try:
        hung = await sampler.sample_once()
    finally:
        release.set()
        await sampler.aclose()
    assert hung.error is not None and hung.error.kind is ErrorKind.TIMEOUT
    assert not hung.connections


async def test_the_app_says_the_first_sample_is_being_read(bag: SocketBag) -> None:
    """In the app: while a slow first sample moves on, the header says it is being read and
    no hang is reported; then the table shows it."""
    from tui.app import TcpscopeApp
    from tui.connections.conn_table import ConnTable
    from tui.widgets.header import HeaderBar

    listener = bag.listener()
    for _ in range(1000):
        bag.pair(listener)
    source = SlowDump()
    sampler = Sampler(source, interval_s=1.0, timeout_s=TIMEOUT_S)
    app = TcpscopeApp(sampler, hostname="test")
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.screen.query_one(HeaderBar)
        await pilot.pause()
        assert "reading the first sample…" in str(header.render())
        while app.snapshot is None:
            await pilot.pause(0.05)
        assert app.snapshot.error is None  # the first thing shown is the sample, not a hang
        table = app.screen.query_one(ConnTable)
        while table.index.building:  # a large host's first order is made in slices
            await pilot.pause(0.05)
        assert table.row_count >= 2000
    assert source.progress[0] >= 3  # the setup is what it claims: many slow replies
