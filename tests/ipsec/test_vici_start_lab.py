"""Totals counted from VICI events when charon starts after tcpscope (strongSwan 5.9.8 lab).

Why: the event listener used to be created at the first sample that reached charon, so the
SAs a freshly started charon set up before that sample (within its first second; samples are
a second or more apart) were neither counted nor flagged. It now listens from the provider's
creation, and when it still registered after charon could have acted, the totals say they
are lower bounds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.ipsec.providers import _vici_events
from core.ipsec.providers._vici_events import FAST_FOR_S
from core.ipsec.providers.strongswan import StrongswanProvider
from core.ipsec.sampling import IpsecSampler
from tests.ipsec.test_strongswan_lab import val, wait_for
from tests.ipsec.test_vici_gaps_lab import EVENT_COUNTED, lower_bound_series
from tests.lab.ipsec_lab import IpsecLab
from tests.lab.own_lab import own_lab

pytestmark = [pytest.mark.lab, pytest.mark.root]


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    """A lab of its own (this module stops and starts charon a)."""
    yield from own_lab("vs")


@pytest.fixture
def charon_stopped(lab: IpsecLab) -> Iterator[IpsecLab]:
    """Side a's charon stopped (its socket removed); it runs again afterwards."""
    lab.stop_daemon(lab.a)
    yield lab
    if lab.a.pid is None:
        lab.start_daemon(lab.a)
        lab.load(lab.a)


def test_charon_started_after_tcpscope_is_counted_from_its_first_moment(
    charon_stopped: IpsecLab,
) -> None:
    lab = charon_stopped
    sampler = IpsecSampler([StrongswanProvider(lab.a.vici)], interval_s=1.0)
    try:
        absent = sampler.sample()
        assert "charon not running" in (absent.provider("strongswan").error or "")
        time.sleep(0.3)  # tcpscope runs a while before charon starts
        lab.start_daemon(lab.a)
        lab.load(lab.a)
        lab.initiate("lab")  # at once, well before the next sample
        after = wait_for(sampler.sample, lambda v: val(v, "OakleyMainMode") == 1, 6.0)
        for counter in EVENT_COUNTED:
            assert val(after, counter) == 1, counter
        pv = after.provider("strongswan")
        assert pv.native["events.listener_gaps"] == 0
        assert pv.native["events.late_registrations"] == 0
        # Registered before charon had anything to do: a complete count, no note.
        assert all(after.row("strongswan", c).lower_bound is None for c in EVENT_COUNTED)
        assert set(lower_bound_series(after).values()) == {0}
    finally:
        sampler.close()


def test_a_registration_after_charon_set_up_sas_says_lower_bound(
    charon_stopped: IpsecLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow pace (charon started long after tcpscope) stretched to make the miss certain."""
    lab = charon_stopped
    monkeypatch.setattr(_vici_events, "FAST_FOR_S", 0.0)
    monkeypatch.setattr(_vici_events, "RETRY_S", 3.0)
    sampler = IpsecSampler([StrongswanProvider(lab.a.vici)], interval_s=1.0)
    try:
        time.sleep(0.2)  # the listener's first try failed; its next is ~3 s after it
        lab.start_daemon(lab.a)
        lab.load(lab.a)
        lab.initiate("lab")
        view = wait_for(
            sampler.sample,
            lambda v: v.provider("strongswan").native.get("events.late_registrations") == 1,
            8.0,
        )
        assert val(view, "OakleyMainMode") == 0  # the IKE SA came up unheard …
        for counter in EVENT_COUNTED:  # … and every event total says it may be short
            note = view.row("strongswan", counter).lower_bound
            assert note is not None and note.startswith("lower bound"), counter
            assert "after charon's VICI socket appeared" in note
        pv = view.provider("strongswan")
        assert pv.native["events.late_registrations"] == 1
        assert pv.native["events.listener_gaps"] == 0
        series = lower_bound_series(view)
        assert {series[c] for c in EVENT_COUNTED} == {1}
        assert "InvalidPackets" not in series  # a daemon total, not counted from events
    finally:
        sampler.close()


def test_listening_for_an_absent_charon_costs_little_cpu(charon_stopped: IpsecLab) -> None:
    """Fast tries for :data:`FAST_FOR_S` after the provider starts, then the slow pace."""
    lab = charon_stopped
    provider = StrongswanProvider(lab.a.vici)
    started = time.monotonic()
    try:
        cpu0 = time.process_time()
        time.sleep(2.0)
        fast = time.process_time() - cpu0
        time.sleep(max(0.0, started + FAST_FOR_S + 0.2 - time.monotonic()))
        cpu1 = time.process_time()
        time.sleep(3.0)
        slow = time.process_time() - cpu1
        assert provider.events is not None and not provider.events.connected
        # Measured about 1 % of one core while fast, 0.05 % after (2026, this machine).
        assert fast < 0.1, f"{fast:.3f} s CPU in 2 s of fast tries"
        assert slow < 0.03, f"{slow:.3f} s CPU in 3 s of slow tries"
    finally:
        provider.close()
