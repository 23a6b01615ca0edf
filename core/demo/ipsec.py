"""The demo host's IPsec provider: one IKE tunnel with rekeys, an auth-failure burst and junk.

Why a provider (not pre-built views): the demo runs it behind the real IPsec sampler, so the
IPsec screen's rates, peaks, history and reset handling are exercised exactly as on a live host.
The provider is deterministic: reading *k* depends only on the seed and *k*. It reports every
counter the way a Windows host with a full IKE service would (grade ``exact``, provenance
"synthetic demo host"), so every row of the screen has a value to show.

The scenario repeats every :data:`core.demo.scenario.PERIOD` readings: child SAs rekey every
:data:`CHILD_REKEY` readings and the IKE SA every :data:`IKE_REKEY`; a road-warrior peer fails
authentication in a burst; a stream of invalid packets follows; near the end of the cycle the
IKE service restarts, so its running totals go back to zero (a reset the screen must show).
"""

from __future__ import annotations

import random
from typing import Final

from core.demo.scenario import PERIOD
from core.ipsec.counters import COUNTERS
from core.ipsec.model import (
    ATTR_BY_WMI,
    COUNTER_NAMES,
    ChildSa,
    CounterReading,
    Grade,
    IkeSa,
    Kind,
    MMIPsecStats,
    ProviderReading,
)

PROVIDER_NAME: Final = "demo"
INSTANCE: Final = "demo:ikeext"
SOURCE_TEXT: Final = "synthetic demo host (scripted value)"
CHILD_REKEY: Final = 45
IKE_REKEY: Final = 120
AUTH_BURST: Final = range(200, 216)
INVALID_BURST: Final = range(220, 233)
RESTART_AT: Final = 280
"""Phase at which the demo's IKE service restarts (totals reset to zero)."""

_TOTALS: Final = tuple(n for n in COUNTER_NAMES if COUNTERS[n].kind is Kind.TOTAL)


class DemoIpsecProvider:
    """A scripted :class:`core.ipsec.providers.base.Provider` for the demo host."""

    name = PROVIDER_NAME

    def __init__(self, seed: int, *, interval_s: float = 1.0) -> None:
        """Start at reading 0; ``interval_s`` only scales the SA byte rates it reports."""
        self._seed = seed
        self._interval_s = interval_s
        self._index = 0
        self._totals: dict[str, int] = dict.fromkeys(_TOTALS, 0)
        self._bytes = [0, 0]
        self.closed = False

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self._seed, "ipsec", *parts)))

    def read(self) -> ProviderReading:
        """The next scripted reading."""
        k = self._index
        self._index += 1
        phase = k % PERIOD
        reset = phase == RESTART_AT
        if reset:
            self._totals = dict.fromkeys(_TOTALS, 0)
        self._advance(k, phase)
        gauges = self._gauges(k, phase)
        values: dict[str, int | None] = {**self._totals, **gauges}
        # No soft associations and no SPI failures on this host: real zeros, not "unknown".
        readings = {
            name: CounterReading(name, values[name], PROVIDER_NAME, SOURCE_TEXT, Grade.EXACT)
            for name in COUNTER_NAMES
        }
        stats = MMIPsecStats(INSTANCE, True, **{ATTR_BY_WMI[n]: v for n, v in values.items()})
        native = {
            "ike-rekey": self._totals["OakleyMainMode"],
            "child-rekey": self._totals["OakleyQuickMode"],
            "auth-failed": self._totals["AuthenticationFailures"],
            "invalid": self._totals["InvalidPackets"],
            "sas-installed": gauges["ConnectionListSize"],
        }
        return ProviderReading(
            provider=PROVIDER_NAME,
            stats=stats,
            readings=readings,
            native=native,
            native_totals=frozenset({"ike-rekey", "child-rekey", "auth-failed", "invalid"}),
            sas=self._sas(k, phase),
            reset=reset,
            version="demo 1.0",
        )

    def _bump(self, name: str, by: int) -> None:
        self._totals[name] += by

    def _advance(self, k: int, phase: int) -> None:
        rng = self._rng("step", k)
        if k % CHILD_REKEY == 0:
            for name in ("TotalGetSPI", "KeyAdditions", "KeyUpdates", "OakleyQuickMode"):
                self._bump(name, 1)
        if k % IKE_REKEY == 0:
            self._bump("OakleyMainMode", 1)
        if phase in AUTH_BURST:
            self._bump("AuthenticationFailures", rng.randint(2, 6))
            self._bump("NegotiationFailures", rng.randint(1, 2))
            self._bump("AcquireFailures", rng.randint(0, 1))
            self._bump("SendFailures", 1 if rng.random() < 0.2 else 0)
        if phase in INVALID_BURST:
            self._bump("InvalidPackets", rng.randint(5, 20))
            self._bump("InvalidCookiesReceived", rng.randint(0, 3))
            self._bump("ReceiveFailures", 1 if rng.random() < 0.3 else 0)
        if phase == 150:
            self._bump("KeyAdditionFailures", 1)
            self._bump("KeyUpdateFailures", 1)

    def _gauges(self, k: int, phase: int) -> dict[str, int]:
        rng = self._rng("gauge", k)
        busy = phase in AUTH_BURST or phase in INVALID_BURST
        rekeying = k % CHILD_REKEY < 2
        return {
            "ActiveAcquire": 1 + (rng.randint(1, 3) if rekeying else 0),
            "ActiveReceive": rng.randint(2, 9) if busy else rng.randint(0, 1),
            "AcquireHeapSize": (rng.randint(2, 6) if rekeying else 0) + (3 if busy else 0),
            "ReceiveHeapSize": rng.randint(4, 12) if busy else rng.randint(0, 2),
            "ConnectionListSize": 4 if rekeying else 2,
        }

    def _sas(self, k: int, phase: int) -> tuple[IkeSa, ...]:
        rng = self._rng("sa", k)
        step_in, step_out = rng.randint(40_000, 90_000), rng.randint(20_000, 60_000)
        self._bytes[0] += step_in
        self._bytes[1] += step_out
        generation = k // CHILD_REKEY
        child = ChildSa(
            name="net-net",
            uniqueid=str(10 + generation),
            state="INSTALLED",
            mode="TUNNEL",
            protocol="ESP",
            algorithms="AES_GCM_16/256",
            spi_in=f"c{(0x1A2B000 + generation * 0x111) & 0xFFFFFFF:07x}",
            spi_out=f"c{(0x7E6D000 + generation * 0x222) & 0xFFFFFFF:07x}",
            local_ts=("192.0.2.128/25",),
            remote_ts=("198.51.100.128/25",),
            bytes_in=self._bytes[0],
            bytes_out=self._bytes[1],
            packets_in=self._bytes[0] // 1200,
            packets_out=self._bytes[1] // 1100,
            bytes_in_rate=step_in / self._interval_s,
            bytes_out_rate=step_out / self._interval_s,
            packets_in_rate=step_in / 1200 / self._interval_s,
            packets_out_rate=step_out / 1100 / self._interval_s,
        )
        tunnel = IkeSa(
            name="hq-branch",
            uniqueid=str(1 + k // IKE_REKEY),
            state="ESTABLISHED",
            version="IKEv2",
            local_host="192.0.2.1",
            remote_host="203.0.113.9",
            local_id="gw.hq.example",
            remote_id="gw.branch.example",
            initiator=True,
            algorithms="AES_GCM_16/256/PRF_HMAC_SHA2_384/ECP_384",
            established_s=int((k % IKE_REKEY) * self._interval_s),
            children=(child,),
        )
        if phase not in AUTH_BURST:
            return (tunnel,)
        intruder = IkeSa(
            name="roadwarrior",
            uniqueid=str(900 + phase),
            state="CONNECTING",
            version="IKEv2",
            local_host="192.0.2.1",
            remote_host="198.51.100.66",
            local_id="gw.hq.example",
            remote_id="CN=unknown.example",
            initiator=False,
        )
        return (tunnel, intruder)

    def close(self) -> None:
        """Nothing to release."""
        self.closed = True
