"""The detail pane's byte rates over ``--remote``, from the real agent's frames.

A connection watched from the detail pane has no tcp_info until the agent fetches it; the
fetch is published between samples with the last sample's seq and time. Its bytes were read
later than that time, so the first rate divided the bytes of part of an interval by a whole
one: a steady 100 kB/s flow showed a first rate of half of it or less (a drop that never
happened, low in every sparkline). The fetch now carries its own read time.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.connections.rates import RateTracker
from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.remote.test_agent_local import BARE_PYTHON, LOCAL_SSH, netns, pytestmark

__all__ = ["netns", "pytestmark"]

PORT = 7300
RATE_B_PER_S = 100_000
_FLOW = f"""
import socket, threading, time
srv = socket.socket(); srv.bind(('127.0.0.1', {PORT})); srv.listen()
def sink():
    c, _ = srv.accept()
    while c.recv(65536): pass
threading.Thread(target=sink, daemon=True).start()
s = socket.create_connection(('127.0.0.1', {PORT}))
print('ready', flush=True)
start, sent = time.monotonic(), 0
while True:  # on a schedule: a late wake-up catches up, the rate per second stays steady
    due = int((time.monotonic() - start) * {RATE_B_PER_S}) - sent
    if due > 0:
        s.sendall(b'x' * due); sent += due
    time.sleep(0.05)
"""


@pytest.fixture
def steady_flow(netns: str) -> Iterator[str]:
    """A loopback connection in ``netns`` moving 100 kB/s, steadily; yields the netns."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns, BARE_PYTHON, "-c", _FLOW],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield netns
    proc.kill()
    proc.wait()


async def _rates_watched_late(feed: RemoteFeed, samples: int) -> list[float]:
    """The history a detail pane keeps, the row watched 0.5 s into a 1 s interval."""
    tracker = RateTracker()
    watched: str | None = None
    loop = asyncio.get_running_loop()
    async for snap in feed.stream():
        if watched is None:
            found = [i for i, c in snap.connections.items() if c.remote_port == PORT]
            age_s = (datetime.now(UTC) - snap.time).total_seconds()  # one host: one clock
            if found and age_s < 0.4:
                watched = found[0]
                loop.call_later(0.5 - age_s, feed.watch_tcp_info, [watched])
            continue
        tracker.keep_history(watched)  # as the screen does on each sample
        tracker.update(snap, [watched])
        if len(tracker.history(watched)) >= samples:
            return tracker.history(watched)
    raise AssertionError("the stream ended")


async def test_the_first_rate_of_a_watched_row_is_not_a_false_drop(
    steady_flow: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TCPSCOPE_SSH", f"{LOCAL_SSH} --netns {steady_flow}")
    feed = RemoteFeed(
        parse_target("localhost", python=BARE_PYTHON),
        stream_config(interval_s=1.0, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False, netns=None),
    )  # fmt: skip
    feed.connect()
    try:
        history = await asyncio.wait_for(_rates_watched_late(feed, 4), 30)
    finally:
        await feed.aclose()
    typical = statistics.median(history)
    assert 0.7 * RATE_B_PER_S < typical < 1.3 * RATE_B_PER_S, history
    # Every sample moved ~100 kB: none may read as a fraction of it (the first did: ~50%).
    assert min(history) > 0.7 * typical, [round(r) for r in history]
