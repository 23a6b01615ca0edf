"""A link that goes dead without a word (an nft rule dropping every packet the server gets,
tests/lab/ssh_lab.py's ``stall``), through a real sshd: while the agent is being sent, and
while samples stream."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import RemoteError
from core.remote import session
from core.remote.commands import remote_snapshot
from core.remote.feed import DISCONNECTED, RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.lab.ssh_lab import NFT, TC, SshLab, have_ssh_lab
from tests.remote.lab_feed import open_feed

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
    pytest.mark.skipif(not os.access(NFT, os.X_OK), reason=f"nftables' nft not found ({NFT})"),
]
STALL_S = 4.0
"""The stall limit in these tests (30 s in use), so each takes seconds."""


@pytest.fixture
def stalls(lab: SshLab, monkeypatch: pytest.MonkeyPatch) -> Iterator[SshLab]:
    """The lab, with the link restored (fast, not stalled) after the test."""
    monkeypatch.setattr(session, "STALL_S", STALL_S, raising=False)
    monkeypatch.setenv("TCPSCOPE_SSH", lab.ssh_command)
    try:
        yield lab
    finally:
        lab.stall(False)
        lab.limit_upload(None)


def wait_for(ok: Callable[[], bool], timeout_s: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


def stall_mid_upload(lab: SshLab) -> float:
    """Once the server's loader reads the agent over a slow link (~20 s for all of it), the
    link goes dead; when it did (time.monotonic())."""
    wait_for(lambda: bool(lab.agent_pids()), what="the loader")
    time.sleep(5.0)  # some of the agent got through
    lab.stall(True)
    return time.monotonic()


@pytest.mark.skipif(not os.access(TC, os.X_OK), reason=f"iproute2's tc not found ({TC})")
def test_a_one_shot_whose_upload_stalls_fails_promptly_and_promises_no_next_attempt(
    stalls: SshLab,
) -> None:
    """Not 10 minutes of waiting, then a word about "the next attempt" a one-shot never
    makes: one line, once nothing got through for the stall limit."""
    stalls.limit_upload(150)
    said: list[str] = []

    def one_shot() -> None:
        try:
            remote_snapshot(parse_target(stalls.target), tcp_info=False, netns="current")
        except RemoteError as exc:
            said.append(str(exc))

    runner = threading.Thread(target=one_shot, daemon=True)
    runner.start()
    stalled = stall_mid_upload(stalls)
    runner.join(STALL_S + 15.0)
    assert not runner.is_alive(), "still waiting on a dead link"
    took = time.monotonic() - stalled
    # counted from the last bytes that got through: up to ~2 s (one 32 kB ssh packet on this
    # link) before the stall
    assert STALL_S - 3.0 < took < STALL_S + 5.0, took
    (message,) = said
    assert len(message.splitlines()) == 1
    assert "next attempt" not in message, message
    assert f"nothing got through for {STALL_S:g} s" in message, message
    assert re.search(r"\([1-9]\d* kB of \d+ kB had arrived\)", message), message


@pytest.mark.skipif(not os.access(TC, os.X_OK), reason=f"iproute2's tc not found ({TC})")
def test_a_reconnection_whose_upload_stalls_fails_that_attempt_and_the_next_one_comes(
    stalls: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = open_feed(stalls, monkeypatch, interval_s=0.3, netns="current")
    said: list[str] = []

    def note() -> bool:
        """Keeps the banner's message if new; False (to go on waiting)."""
        latest = feed.latest
        message = latest.error.message if latest and latest.error else None
        if message is not None and (not said or said[-1] != message):
            said.append(message)
        return False

    try:
        wait_for(lambda: feed.latest is not None, what="a first sample")
        stalls.limit_upload(150)
        stalls.kill_sshd()
        wait_for(lambda: feed.link_status is not None, what="the drop")
        stalls.start_sshd()
        wait_for(lambda: "sending the agent" in (feed.link_status or ""), 30, "sending")
        stall_mid_upload(stalls)
        wait_for(lambda: note() or any(" failed: " in m for m in said), 30, "the stall")
        stalls.stall(False)
        stalls.limit_upload(None)
        wait_for(lambda: note() or feed.reconnects == 1, 90, "the reconnection")
    finally:
        asyncio.run(feed.aclose())
    failed = [m for m in said if " failed: " in m]
    assert failed[0].startswith(f"{DISCONNECTED}: attempt 1 failed: "), said
    assert f"nothing got through for {STALL_S:g} s" in failed[0], said


@pytest.mark.parametrize("recording", [False, True], ids=["live", "recorded"])
def test_no_data_since_is_when_the_data_stopped_not_when_that_was_found(
    stalls: SshLab, monkeypatch: pytest.MonkeyPatch, recording: bool
) -> None:
    """The banner reads "no data for 3 s — since T": T is the last data's time, at least 3 s
    before the drop was found (live, and in a recording's outage sample)."""
    monkeypatch.setattr(session, "IDLE_TIMEOUT_S", 3.0)
    config = stream_config(
        interval_s=0.3, ghost_ttl_s=30.0, ipsec=False, provider="auto", vici=None,
        every_tcp_info=False, netns="current",
    )  # fmt: skip
    feed = RemoteFeed(parse_target(stalls.target), config, recording=recording)
    feed.connect()
    try:
        wait_for(lambda: feed.latest is not None and feed.latest.seq > 3, what="samples")
        stalled = datetime.now(UTC)
        stalls.stall(True)
        wait_for(lambda: feed.link_status is not None, 20, "the drop")
        found = datetime.now(UTC)
        snap = feed.latest
    finally:
        asyncio.run(feed.aclose())
    assert snap is not None and snap.error is not None
    assert "no data for 3 s" in snap.error.message
    # The server's samples still reach us for a moment after the stall (only what it
    # receives is dropped); the last of them came 3 s before the drop was found at the latest.
    since = snap.error.since
    assert stalled - timedelta(seconds=1) <= since <= found - timedelta(seconds=3), (
        stalled,
        found,
        snap.error,
    )
