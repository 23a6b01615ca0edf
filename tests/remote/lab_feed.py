"""A remote feed to the SSH lab's server, as the lab tests open it."""

from __future__ import annotations

import pytest

from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.lab.ssh_lab import SshLab


def open_feed(
    lab: SshLab,
    monkeypatch: pytest.MonkeyPatch,
    *,
    interval_s: float = 0.5,
    ghost_ttl_s: float = 5.0,
    netns: str | None = None,
) -> RemoteFeed:
    """A connected RemoteFeed to the lab's server (no IPsec, tcp_info on demand)."""
    monkeypatch.setenv("TCPSCOPE_SSH", lab.ssh_command)
    feed = RemoteFeed(
        parse_target(lab.target),
        stream_config(interval_s=interval_s, ghost_ttl_s=ghost_ttl_s, ipsec=False,
                      provider="auto", vici=None, every_tcp_info=False, netns=netns),
    )  # fmt: skip
    feed.connect()
    return feed
