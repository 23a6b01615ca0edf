"""The netlink source waits between a dump's replies while the UI holds a claim, and the
live Sampler wires its claim into the source (real sockets, the real kernel dump)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from core.connections.sources.base import SourceSample
from core.sampling.give_way import GiveWay
from core.sampling.sampler import Sampler
from tests.integration.conftest import IS_LINUX
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="netlink is Linux only")


def test_a_claim_holds_a_sample_between_replies_until_released() -> None:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=False, resolve_owners=False)
    gate = GiveWay()
    steps: list[bool] = []
    reached = threading.Event()

    def between() -> None:
        steps.append(gate.claimed)
        reached.set()
        gate()

    source.between_steps = between
    got: list[SourceSample] = []
    try:
        with SocketBag() as bag:
            listener = bag.listener()
            port = listener.getsockname()[1]
            gate.claim(3600.0)
            sampling = threading.Thread(
                target=lambda: got.append(source.sample(datetime.now(UTC), first=True)),
                daemon=True,
            )
            sampling.start()
            assert reached.wait(60.0)  # its first reply is read
            sampling.join(0.2)
            assert sampling.is_alive() and steps == [True]  # and there it waits
            gate.release()
            sampling.join(60.0)
            assert not sampling.is_alive() and got
            assert any(c.local_port == port for c in got[0].connections.values())
    finally:
        source.close()


async def test_the_sampler_hands_the_ui_claim_to_its_source() -> None:
    from core.connections.sources.netlink import NetlinkSource

    source = NetlinkSource(tcp_info=False, resolve_owners=False)
    sampler = Sampler(source)
    try:
        assert isinstance(source.between_steps, GiveWay)
        sampler.ui_busy()
        assert source.between_steps.claimed
        sampler.ui_done()
        assert not source.between_steps.claimed
    finally:
        await sampler.aclose()
