"""Where closing and terminating are offered: only for this host's sockets, shown as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.commands.feeds import actions_off
from core.connections.sources.psutil_source import PsutilSource
from core.demo import demo_feed
from core.recording.redact import RedactingFeed
from core.recording.replay import open_replay
from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import RemoteTarget
from core.sampling.feed import Feed
from core.sampling.sampler import Sampler
from tests.recording.util import demo_snapshots, write_recording


def _live() -> Feed:
    return Sampler(PsutilSource())


def _replay(tmp: Path) -> Feed:
    path = tmp / "r.tsr"
    write_recording(path, demo_snapshots(1, 2))
    return open_replay(path)


def _remote() -> Feed:
    config = stream_config(
        interval_s=1.0, ghost_ttl_s=5.0, ipsec=False, provider="auto", vici=None,
        every_tcp_info=False,
    )  # fmt: skip
    return RemoteFeed(RemoteTarget("203.0.113.7"), config)  # never connected


def test_live_feed_allows_acting() -> None:
    assert actions_off(_live(), "close") is None
    assert actions_off(_live(), "terminate") is None


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("demo", "not available in the demo"),
        ("replay", "not available in replay"),
        ("redacted", "not available under --redact"),
        ("redacted replay", "not available in replay"),
        ("remote", "not available with --remote"),
    ],
)
def test_other_feeds_say_why_not(tmp_path: Path, name: str, needle: str) -> None:
    feeds = {
        "demo": lambda: demo_feed(1),
        "replay": lambda: _replay(tmp_path),
        "redacted": lambda: RedactingFeed(_live()),
        "redacted replay": lambda: RedactingFeed(_replay(tmp_path)),
        "remote": _remote,
    }
    for kind in ("close", "terminate"):
        reason = actions_off(feeds[name](), kind)
        assert reason is not None and reason.startswith(needle)


def test_over_remote_only_closes_refusal_points_to_close() -> None:
    # K over --remote said "(use tcpscope --remote HOST close)": close ends no process.
    close = actions_off(_remote(), "close")
    assert close is not None and "tcpscope --remote HOST close" in close, close
    terminate = actions_off(_remote(), "terminate")
    assert terminate is not None and terminate.startswith("not available with --remote")
    assert "close" not in terminate and "on another host" in terminate, terminate
