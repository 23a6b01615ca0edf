"""Fixtures for source integration tests: real sources, a socket bag, a sampling helper."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.connections.sources.base import ConnectionSource, SourceSample
from tests.integration.sockets import SocketBag

IS_LINUX = sys.platform.startswith("linux")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def _skip_root_tests(request: pytest.FixtureRequest) -> None:
    """Tests marked ``root`` need root (changing uid, other users' sockets)."""
    if request.node.get_closest_marker("root") is not None and not IS_ROOT:
        pytest.skip("needs root")


class Sampling:
    """A source plus the first-sample flag, as the sampler drives it."""

    def __init__(self, source: ConnectionSource) -> None:
        self.source = source
        self.count = 0
        self.last_time = datetime.now(UTC)

    def __call__(self) -> SourceSample:
        """Take the next sample (the first one is marked ``first``)."""
        self.last_time = datetime.now(UTC)
        self.count += 1
        return self.source.sample(self.last_time, first=self.count == 1)


@pytest.fixture
def bag() -> Iterator[SocketBag]:
    """Sockets and children closed after the test."""
    with SocketBag() as sockets:
        yield sockets


@pytest.fixture
def netlink() -> Iterator[Sampling]:
    """A fresh netlink source (Linux only)."""
    if not IS_LINUX:
        pytest.skip("netlink is Linux-only")
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource()
    yield Sampling(source)
    source.close()


@pytest.fixture
def netlink_per_family() -> Iterator[Sampling]:
    """A netlink source with one v2 dump per family (the fallback of kernels that refuse the
    compat request), on demand tcp_info (as the live app runs it)."""
    if not IS_LINUX:
        pytest.skip("netlink is Linux-only")
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(dump="per-family", tcp_info=False)
    yield Sampling(source)
    source.close()


@pytest.fixture
def psutil_source() -> Iterator[Sampling]:
    """A fresh psutil source."""
    from core.connections.sources.psutil_source import PsutilSource

    source = PsutilSource()
    yield Sampling(source)
    source.close()
