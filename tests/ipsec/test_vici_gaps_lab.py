"""Totals counted from VICI events across a charon restart (strongSwan 5.9.8 lab).

Why: a restarted charon brings its connections up within its first second. The event listener
must be registered again by then, or those ups are never counted; and since events missed while
it was away cannot be recovered, every total counted from events must say it is a lower bound
once the listener has lost charon at all (the screen, ``--json`` and the exporter).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from core.commands.ipsec import instance_json
from core.ipsec.model import IpsecView
from core.ipsec.providers._vici_events import FAST_FOR_S, RETRY_S, ViciEventCounter
from core.ipsec.providers.strongswan import StrongswanProvider
from core.ipsec.sampling import IpsecSampler
from core.metrics.families import ipsec_families
from tests.ipsec.test_strongswan_lab import val, wait_for
from tests.lab.ipsec_lab import IpsecLab
from tests.lab.own_lab import own_lab
from tui.ipsec.counter_detail import summary_text

pytestmark = [pytest.mark.lab, pytest.mark.root]

EVENT_COUNTED = ("OakleyMainMode", "OakleyQuickMode", "KeyAdditions", "KeyUpdates", "TotalGetSPI")


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    """A lab of its own (this module restarts a charon)."""
    yield from own_lab("vg")


def lower_bound_series(view: IpsecView) -> dict[str, float]:
    """``tcpscope_ipsec_lower_bound{provider="strongswan"}`` by counter."""
    families = {f.name: f for f in ipsec_families(view)}
    family = families["tcpscope_ipsec_lower_bound"]
    return {
        s.labels["counter"]: s.value for s in family.samples if s.labels["provider"] == "strongswan"
    }


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_initiation_right_after_a_restart_is_counted_and_totals_say_lower_bound(
    lab: IpsecLab, sig: signal.Signals
) -> None:
    sampler = IpsecSampler([StrongswanProvider(lab.a.vici)], interval_s=0.2)
    try:
        before = sampler.sample()
        base = {c: val(before, c) for c in EVENT_COUNTED}
        assert all(isinstance(v, int) for v in base.values())
        gaps0 = before.provider("strongswan").native["events.listener_gaps"]
        if gaps0 == 0:  # a listener that never lost charon counted every event
            assert all(before.row("strongswan", c).lower_bound is None for c in EVENT_COUNTED)
            assert set(lower_bound_series(before).values()) == {0}
        lab.stop_daemon(lab.a, sig)
        lab.start_daemon(lab.a)
        lab.load(lab.a)
        lab.initiate("lab")  # at once: charon's own start_action would be as quick
        main = base["OakleyMainMode"]
        assert main is not None
        after = wait_for(sampler.sample, lambda v: val(v, "OakleyMainMode") == main + 1, 6.0)
        for counter in EVENT_COUNTED:
            assert val(after, counter) == base[counter] + 1, counter  # type: ignore[operator]
        pv = after.provider("strongswan")
        assert pv.native["events.listener_gaps"] == gaps0 + 1
        # Nothing was missed this time, but nothing can prove it: a lower bound, said so.
        for counter in EVENT_COUNTED:
            row = after.row("strongswan", counter)
            assert row.lower_bound is not None and row.lower_bound.startswith("lower bound")
            assert f"lost charon {gaps0 + 1} time" in row.lower_bound
            detail = summary_text(row).plain
            assert "Counted since monitor start" in detail and row.lower_bound in detail
            assert instance_json(pv)["provenance"][counter]["lower_bound"] == row.lower_bound  # type: ignore[index]
        assert after.row("strongswan", "InvalidPackets").lower_bound is None  # a daemon total
        series = lower_bound_series(after)
        assert {series[c] for c in EVENT_COUNTED} == {1}
        assert "InvalidPackets" not in series
    finally:
        sampler.close()


def test_retrying_fast_after_a_loss_costs_little_cpu(lab: IpsecLab) -> None:
    """Fast tries last :data:`FAST_FOR_S` after a loss, then the slow pace; both cheap."""
    events = ViciEventCounter(lab.a.vici, alerts=False)
    events.start()
    try:
        assert events.wait_connected(5.0)
        lab.kill_daemon(lab.a)  # the socket file stays: each try is a refused connect
        lost = time.monotonic()
        cpu0 = time.process_time()
        time.sleep(2.0)
        fast = time.process_time() - cpu0
        time.sleep(max(0.0, lost + FAST_FOR_S + 0.2 - time.monotonic()))
        cpu1 = time.process_time()
        time.sleep(2.0)
        slow = time.process_time() - cpu1
        assert not events.connected and events.gaps == 1
        # Measured about 0.9 % of one core while fast, 0.05 % after (2026, this lab).
        assert fast < 0.1, f"{fast:.3f} s CPU in 2 s of fast retries"
        assert slow < 0.02, f"{slow:.3f} s CPU in 2 s of slow retries"
        lab.start_daemon(lab.a)
        lab.load(lab.a)
        assert events.wait_connected(2 * RETRY_S + 1.0)  # back to the slow pace by now
    finally:
        events.stop()
