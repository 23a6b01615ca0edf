"""A value is reported or explained as not reported, never both and never neither.

Checked over every source, on the JSON users get (``connection_doc``): the live netlink and
psutil sources on real sockets in every kind of state, the demo host over many frames, and
scripted hosts that hypothesis fills with arbitrary rows (owners present or not, offload and
template values present or not, state changes, reused tuples).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.model import OwnerStatus, TcpState
from core.connections.property_rules import PROPERTIES
from core.connections.report import EXTRA_KEY, connection_doc
from core.connections.snapshot import Snapshot
from core.connections.sources.base import ConnectionSource
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource, StepClock
from core.demo import DemoFeed
from core.sampling.sampler import Sampler
from tests.integration.conftest import IS_LINUX
from tests.integration.sockets import SocketBag


def assert_reported_or_explained(snap: Snapshot) -> int:
    """Every cell of every connection: non-null xor listed under not_reported. Returns the
    number of cells checked."""
    cells = 0
    for conn in snap.connections.values():
        doc = connection_doc(conn, snap)
        extra = doc[EXTRA_KEY]
        assert isinstance(extra, dict)
        missing = extra["not_reported"]
        for spec in PROPERTIES:
            value = doc[spec.wmi_name]
            reason = missing.get(spec.wmi_name)
            assert (value is None) == (reason is not None), (
                snap.source,
                conn.instance_id,
                spec.wmi_name,
                value,
                reason,
            )
            cells += 1
    return cells


async def _samples(source: ConnectionSource, count: int) -> list[Snapshot]:
    sampler = Sampler(source, timeout_s=120)
    try:
        return [await sampler.sample_once() for _ in range(count)]
    finally:
        await sampler.aclose()


@pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux-only")
@pytest.mark.parametrize("name", ["netlink", "psutil"])
def test_live_sources(name: str, bag: SocketBag) -> None:
    lst = bag.listener()
    bag.pair(lst)
    bag.pair(bag.listener("::1"))
    bag.time_wait(lst)
    bag.keep(__import__("socket").socket()).bind(("127.0.0.1", 0))
    if name == "netlink":
        from core.connections.sources.netlink import NetlinkSource

        source: ConnectionSource = NetlinkSource()
    else:
        from core.connections.sources.psutil_source import PsutilSource

        source = PsutilSource()
    snaps = asyncio.run(_samples(source, 2))
    assert all(s.error is None for s in snaps)
    assert sum(assert_reported_or_explained(s) for s in snaps) >= 2 * 5 * len(PROPERTIES)


def test_the_demo_host() -> None:
    async def frames() -> list[Snapshot]:
        feed = DemoFeed(7)
        try:
            return [await feed.next_snapshot() for _ in range(40)]
        finally:
            await feed.aclose()

    assert sum(assert_reported_or_explained(s) for s in asyncio.run(frames())) > 0


START = datetime(2026, 3, 1, tzinfo=UTC)
ROWS = st.builds(
    ScriptedConn,
    local_address=st.sampled_from(["192.0.2.1", "2001:db8::1", "fe80::1%eth0"]),
    local_port=st.integers(1, 65535),
    remote_address=st.sampled_from(["198.51.100.7", "0.0.0.0", "2001:db8::9"]),
    remote_port=st.integers(0, 3),
    state=st.sampled_from(list(TcpState)),
    pid=st.one_of(st.none(), st.integers(1, 99999)),
    owner_status=st.one_of(st.none(), st.sampled_from(list(OwnerStatus))),
    inode=st.one_of(st.none(), st.integers(0, 10**6)),
    offload_state=st.one_of(st.none(), st.integers(0, 3)),
    applied_setting=st.one_of(st.none(), st.integers(0, 4)),
)


@settings(max_examples=25, deadline=None)
@given(
    frames=st.lists(st.lists(ROWS, max_size=6), min_size=1, max_size=4),
    name=st.sampled_from(["demo", "scripted", "netlink", "psutil"]),
)
def test_scripted_hosts(frames: list[list[ScriptedConn]], name: str) -> None:
    """Arbitrary rows under each source's rules: a row without a value must still say why."""
    source = ScriptedSource([ScriptedFrame(rows) for rows in frames], name=name)

    async def play() -> list[Snapshot]:
        sampler = Sampler(source, clock=StepClock(START))
        try:
            return [await sampler.sample_once() for _ in frames]
        finally:
            await sampler.aclose()

    for snap in asyncio.run(play()):
        assert_reported_or_explained(snap)
