"""GiveWay: the sampling thread waits between two steps while the UI holds a claim."""

from __future__ import annotations

import threading

from core.sampling.give_way import GiveWay


def passes(gate: GiveWay, wait_s: float) -> bool:
    """Whether a thread calling ``gate`` gets through within ``wait_s`` (a liveness bound)."""
    through = threading.Thread(target=gate, daemon=True)
    through.start()
    through.join(wait_s)
    return not through.is_alive()


def test_an_unclaimed_gate_lets_the_sampler_through() -> None:
    gate = GiveWay()
    assert not gate.claimed and passes(gate, 30.0)


def test_a_claim_holds_the_sampler_until_it_is_released() -> None:
    gate = GiveWay()
    gate.claim(3600.0)
    waiting = threading.Thread(target=gate, daemon=True)
    waiting.start()
    waiting.join(0.2)
    assert gate.claimed and waiting.is_alive()  # held back by an unreleased claim
    gate.release()
    waiting.join(30.0)
    assert not waiting.is_alive() and not gate.claimed


def test_a_claim_lapses_by_itself() -> None:
    """A UI that never lets go cannot stop sampling: the claim ends on its own."""
    gate = GiveWay()
    gate.claim(0.05)
    assert passes(gate, 30.0) and not gate.claimed


def test_claims_renewed_without_end_still_let_each_step_through_in_time() -> None:
    """A held key renews its claim again and again: each step still goes on, after at most
    one claim's length, so a sample moves on (slowly) and is never taken for a hang."""
    gate = GiveWay()
    stop = threading.Event()

    def hold() -> None:
        while not stop.is_set():
            gate.claim(3600.0)
            stop.wait(0.01)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert passes(gate, 60.0)
    finally:
        stop.set()
        holder.join(30.0)
