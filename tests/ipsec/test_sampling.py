"""Sampler arithmetic: rates, resets, gauges, history gaps, never raising.

Real resets are tested against charon in test_strongswan_lab.py. Here a scripted provider
stands in for faults that cannot be produced for real on demand: a uint64 wrap-around and a
provider that raises (a bug). The clock is injected so Δt is exact.
"""

from __future__ import annotations

from core.ipsec.model import ProviderReading
from core.ipsec.providers.base import make_reading
from core.ipsec.sampling import IpsecSampler

U64 = 2**64 - 1


class Scripted:
    """Returns the next scripted (InvalidPackets, ConnectionListSize) pair per read."""

    name = "strongswan"

    def __init__(self, script: list[tuple[int | None, int | None]]) -> None:
        self.script = list(script)
        self.closed = False

    def read(self) -> ProviderReading:
        invalid, conns = self.script.pop(0)
        return make_reading(
            self.name, "scripted", {"InvalidPackets": invalid, "ConnectionListSize": conns}
        )

    def close(self) -> None:
        self.closed = True


class Broken:
    name = "kernel"

    def read(self) -> ProviderReading:
        raise RuntimeError("provider bug")

    def close(self) -> None:
        raise RuntimeError("close bug")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_rates_resets_gauges_and_gaps() -> None:
    clock = Clock()
    script = [(10, 1), (16, 2), (16, 2), (U64 - 1, 2), (3, 3), (None, None), (5, 1), (9, 1)]
    sampler = IpsecSampler([Scripted(script)], interval_s=1.0, history_s=600, clock=clock)
    rows = []
    for _ in range(len(script)):
        view = sampler.sample()
        rows.append(
            (view.row("strongswan", "InvalidPackets"), view.row("strongswan", "ConnectionListSize"))
        )
        clock.t += 2.0
    inv = [r[0] for r in rows]
    assert inv[0].rate is None and not inv[0].reset  # first sample: no rate
    assert inv[1].rate == 3.0  # (16-10)/2 s
    assert inv[2].rate == 0.0
    assert inv[3].rate is not None and inv[3].rate > 0
    assert inv[4].reset and inv[4].rate is None  # wrap: a reset, not negative
    assert inv[5].value is None and inv[5].rate is None and inv[5].reason
    assert inv[6].rate is None and not inv[6].reset  # after a gap: no rate yet
    assert inv[7].rate == 2.0
    assert all(r.rate is None or r.rate >= 0 for r in inv)
    assert inv[7].peak_rate == max(r.rate for r in inv if r.rate is not None)
    assert inv[7].history == (None, 3.0, 0.0, inv[3].rate, None, None, None, 2.0)
    conns = [r[1] for r in rows]
    assert [c.rate for c in conns] == [None] * len(script)  # gauges have no rate
    assert [c.display for c in conns] == [1.0, 2.0, 2.0, 2.0, 3.0, None, 1.0, 1.0]
    assert conns[7].history == (1.0, 2.0, 2.0, 2.0, 3.0, None, 1.0, 1.0)


def test_history_is_a_bounded_ring() -> None:
    clock = Clock()
    script: list[tuple[int | None, int | None]] = [(i, 1) for i in range(30)]
    sampler = IpsecSampler([Scripted(script)], interval_s=1.0, history_s=10, clock=clock)
    for _ in range(30):
        view = sampler.sample()
        clock.t += 1.0
    assert len(view.row("strongswan", "InvalidPackets").history) == 10
    assert IpsecSampler([], interval_s=1.0, history_s=600).history.capacity >= 600


def test_a_raising_provider_becomes_an_error_in_the_view() -> None:
    sampler = IpsecSampler([Broken(), Scripted([(1, 1)])])
    view = sampler.sample()
    broken = view.provider("kernel")
    assert broken.error == "RuntimeError: provider bug"
    assert not broken.stats.active
    assert all(r.value is None for r in broken.rows)
    assert view.active_providers == ("strongswan",)
    sampler.close()  # a raising close() is swallowed too


class Kernelish:
    """A second provider reporting ConnectionListSize only (to exercise best_rows)."""

    name = "kernel"

    def read(self) -> ProviderReading:
        return make_reading(self.name, "k", {"ConnectionListSize": 7, "SendFailures": 1})

    def close(self) -> None:
        pass


def test_best_rows_picks_the_best_reported_grade() -> None:
    view = IpsecSampler([Kernelish(), Scripted([(5, None)])]).sample()
    best = {r.name: r for r in view.best_rows()}
    assert len(best) == 21
    assert best["InvalidPackets"].provider == "strongswan"  # exact, only source
    assert best["ConnectionListSize"].provider == "kernel"  # strongswan has no value
    assert best["ConnectionListSize"].value == 7
    assert best["SendFailures"].provider == "kernel"
    soft = best["SoftAssociations"]
    assert soft.value is None and soft.reason is not None
