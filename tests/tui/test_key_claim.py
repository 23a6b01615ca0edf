"""KeyClaim: held from a key's arrival until the frame that answers it (and every key that
arrived meanwhile) is drawn and written; the collector is off while it holds."""

from __future__ import annotations

import asyncio
import gc

from tui.key_claim import WRITE_GRACE_S, KeyClaim


class Feed:
    """Records the claim calls the live Sampler would get."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def ui_busy(self) -> None:
        self.calls.append("busy")

    def ui_done(self) -> None:
        self.calls.append(f"done, collector {'on' if gc.isenabled() else 'off'}")


async def until_done(feed: Feed, calls: int = 2) -> None:
    while len(feed.calls) < calls:
        await asyncio.sleep(WRITE_GRACE_S)


async def test_the_collector_is_off_until_the_key_is_answered_and_written() -> None:
    assert gc.isenabled()
    feed = Feed()
    claim = KeyClaim(feed)
    claim.arrived()
    assert feed.calls == ["busy"] and not gc.isenabled()
    claim.drawn()  # a frame before the key was handled answers nothing
    claim.handled()
    claim.drawn()  # the key's frame: let go once it is written
    assert not gc.isenabled()
    await until_done(feed)
    assert feed.calls == ["busy", "done, collector on"] and gc.isenabled()


async def test_a_frame_answers_the_claim_only_once_every_key_in_it_is_handled() -> None:
    feed = Feed()
    claim = KeyClaim(feed)
    claim.arrived()
    claim.arrived()
    claim.handled()
    claim.drawn()  # the second key is still on its way
    await asyncio.sleep(10 * WRITE_GRACE_S)
    assert feed.calls == ["busy", "busy"] and not gc.isenabled()
    claim.handled()
    claim.drawn()
    await until_done(feed, 3)
    assert feed.calls[-1] == "done, collector on" and gc.isenabled()


async def test_a_key_that_draws_nothing_lets_go_by_itself() -> None:
    feed = Feed()
    claim = KeyClaim(feed)
    claim.arrived()
    claim.handled()
    await until_done(feed)
    assert feed.calls == ["busy", "done, collector on"] and gc.isenabled()


async def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    feed = Feed()
    claim = KeyClaim(feed)
    gc.disable()
    try:
        claim.arrived()
        claim.end()
        assert feed.calls == ["busy", "done, collector off"] and not gc.isenabled()
    finally:
        gc.enable()
