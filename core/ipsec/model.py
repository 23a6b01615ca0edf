"""Records for the MSiSCSI_MMIPSECStats class and for one IPsec sample.

Why a separate module: providers, the sampler, the CLI and (later) the TUI screen all exchange
these frozen records, so their shape lives in one place. The WMI property name ↔ Python
attribute table is here too (the one place that knows both spellings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final


class Grade(StrEnum):
    """How well a Linux source matches the Windows meaning of a counter."""

    EXACT = "exact"
    """The same quantity."""
    CLOSE = "close"
    """The same concept with a different scope or window."""
    APPROX = "approx"
    """A related proxy."""
    NONE = "none"
    """No honest source: the value is null."""


class Kind(StrEnum):
    """Whether a counter is a current size or a running total (rates only for totals)."""

    GAUGE = "gauge"
    TOTAL = "total"


# WMI property name and Python attribute of the 21 uint64 counters, in the seed's order
# (WmiDataId 1..21). Everything that needs to translate names reads this table.
COUNTER_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("ActiveAcquire", "active_acquire"),
    ("ActiveReceive", "active_receive"),
    ("AcquireFailures", "acquire_failures"),
    ("ReceiveFailures", "receive_failures"),
    ("SendFailures", "send_failures"),
    ("AcquireHeapSize", "acquire_heap_size"),
    ("ReceiveHeapSize", "receive_heap_size"),
    ("NegotiationFailures", "negotiation_failures"),
    ("AuthenticationFailures", "authentication_failures"),
    ("InvalidCookiesReceived", "invalid_cookies_received"),
    ("TotalGetSPI", "total_get_spi"),
    ("KeyAdditions", "key_additions"),
    ("KeyUpdates", "key_updates"),
    ("GetSPIFailures", "get_spi_failures"),
    ("KeyAdditionFailures", "key_addition_failures"),
    ("KeyUpdateFailures", "key_update_failures"),
    ("ConnectionListSize", "connection_list_size"),
    ("OakleyMainMode", "oakley_main_mode"),
    ("OakleyQuickMode", "oakley_quick_mode"),
    ("InvalidPackets", "invalid_packets"),
    ("SoftAssociations", "soft_associations"),
)
COUNTER_NAMES: Final[tuple[str, ...]] = tuple(w for w, _ in COUNTER_FIELDS)
"""The 21 WMI counter names in seed order."""
ATTR_BY_WMI: Final[dict[str, str]] = dict(COUNTER_FIELDS)
_PROVIDER_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def is_provider_name(text: str) -> bool:
    """True for what a provider can be called (``kernel``, ``strongswan``, ``demo``: a short
    lower-case word). Why a rule: a name in a recording or from a remote agent is anyone's
    text, and screens and metrics use it as a key; one that is not such a word is damage."""
    return _PROVIDER_NAME.fullmatch(text) is not None


KEY_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("InstanceName", "instance_name"),
    ("Active", "active"),
)


@dataclass(frozen=True, slots=True)
class MMIPsecStats:
    """One MSiSCSI_MMIPSECStats instance; every counter is a uint64 count or None (not reported).

    Units: counts of events or entries, except where a provider's provenance says otherwise
    (e.g. the kernel's ReceiveHeapSize is bytes queued on the IKE sockets).
    """

    instance_name: str
    """Key. Windows: the PnP id; here ``<provider>:<scope>``, e.g. ``kernel:netns``."""
    active: bool
    """True when the provider could read its source in this sample."""
    active_acquire: int | None = None
    active_receive: int | None = None
    acquire_failures: int | None = None
    receive_failures: int | None = None
    send_failures: int | None = None
    acquire_heap_size: int | None = None
    receive_heap_size: int | None = None
    negotiation_failures: int | None = None
    authentication_failures: int | None = None
    invalid_cookies_received: int | None = None
    total_get_spi: int | None = None
    key_additions: int | None = None
    key_updates: int | None = None
    get_spi_failures: int | None = None
    key_addition_failures: int | None = None
    key_update_failures: int | None = None
    connection_list_size: int | None = None
    oakley_main_mode: int | None = None
    oakley_quick_mode: int | None = None
    invalid_packets: int | None = None
    soft_associations: int | None = None

    def get(self, wmi_name: str) -> int | None:
        """The value of a counter by its WMI name."""
        value: int | None = getattr(self, ATTR_BY_WMI[wmi_name])
        return value

    def to_wmi(self) -> dict[str, object]:
        """WMI-named dict (InstanceName, Active, then the 21 counters; None where not reported)."""
        out: dict[str, object] = {"InstanceName": self.instance_name, "Active": self.active}
        for wmi, attr in COUNTER_FIELDS:
            out[wmi] = getattr(self, attr)
        return out


@dataclass(frozen=True, slots=True)
class CounterReading:
    """Provenance of one counter from one provider in one sample."""

    counter: str
    """WMI counter name."""
    value: int | None
    provider: str
    source: str
    """The source expression actually used (e.g. ``get-counters counters[""]["invalid"]``)."""
    grade: Grade
    reason: str | None = None
    """Why the value is None (``not reported: …``); None when a value is reported."""
    scope: str | None = None
    """Window of a total when not the daemon's lifetime, e.g. ``since monitor start``."""
    lower_bound: str | None = None
    """Why the value is only a lower bound (``lower bound: …``: events were missed), or None
    when the source counted everything in its scope."""

    def to_json(self) -> dict[str, object]:
        """Plain dict for ``--json``."""
        return {
            "provider": self.provider,
            "expression": self.source,
            "grade": self.grade.value,
            "reason": self.reason,
            "scope": self.scope,
            "lower_bound": self.lower_bound,
        }


@dataclass(frozen=True, slots=True)
class ChildSa:
    """One CHILD_SA (quick-mode SA pair) as the daemon lists it; rates are per second."""

    name: str
    uniqueid: str
    state: str
    mode: str | None = None
    protocol: str | None = None
    algorithms: str | None = None
    """``encr-alg/keysize integ-alg`` as one string (peer-controlled text, display only)."""
    spi_in: str | None = None
    spi_out: str | None = None
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()
    bytes_in: int | None = None
    bytes_out: int | None = None
    packets_in: int | None = None
    packets_out: int | None = None
    bytes_in_rate: float | None = None
    bytes_out_rate: float | None = None
    packets_in_rate: float | None = None
    packets_out_rate: float | None = None


@dataclass(frozen=True, slots=True)
class IkeSa:
    """One IKE_SA (main-mode SA) with its CHILD_SAs."""

    name: str
    uniqueid: str
    state: str
    version: str | None = None
    local_host: str | None = None
    remote_host: str | None = None
    local_id: str | None = None
    remote_id: str | None = None
    initiator: bool | None = None
    algorithms: str | None = None
    established_s: int | None = None
    """Seconds since the IKE_SA was established, as the daemon reports it."""
    children: tuple[ChildSa, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderReading:
    """What one provider returns from one read (the sampler adds rates and history)."""

    provider: str
    stats: MMIPsecStats
    readings: dict[str, CounterReading]
    """By WMI counter name; all 21 present."""
    native: dict[str, int] = field(default_factory=dict)
    """Native counters by the source's own name (xfrm_stat keys, VICI stats/get-counters, …)."""
    native_totals: frozenset[str] = frozenset()
    """Which native keys are running totals (rates are computed for these)."""
    sas: tuple[IkeSa, ...] = ()
    error: str | None = None
    """One line when the source could not be read (the counters are then None)."""
    available: bool = True
    """False when the provider's source is absent here (daemon not running, no binary)."""
    reset: bool = False
    """The provider knows its totals restarted (e.g. the daemon's start time changed)."""
    version: str | None = None
    """Daemon or kernel version string, when known."""
    native_reasons: dict[str, str] = field(default_factory=dict)
    """Why a group of native counters is missing, e.g. ``{"xfrm_stat": "not reported: …"}``."""
    event_gaps: int | None = None
    """Times since tcpscope started that the totals it counts from events may have missed some
    (listener lost the daemon or reached a new one late, event socket overflowed); None when the
    provider counts nothing from events (yet)."""


@dataclass(frozen=True, slots=True)
class CounterRow:
    """One screen row: a counter of one provider with value, rate, provenance and history."""

    name: str
    """WMI counter name."""
    attr: str
    kind: Kind
    description: str
    value: int | None
    rate: float | None
    """Per second for totals (None on the first sample, after a reset or when not reported)."""
    display: float | None
    """What to plot: the rate for totals, the value for gauges."""
    reset: bool
    """The total went down (or the provider reported a restart) at this sample."""
    peak_rate: float | None
    """Highest rate seen so far (totals only)."""
    provider: str
    grade: Grade
    source: str
    reason: str | None
    scope: str | None
    history: tuple[float | None, ...]
    """Rates (totals) or values (gauges), oldest first; None marks a gap (reset, not reported)."""
    lower_bound: str | None = None
    """Why the value is only a lower bound (see :class:`CounterReading`), or None."""


@dataclass(frozen=True, slots=True)
class ProviderView:
    """Everything one provider contributed to a sample."""

    name: str
    available: bool
    error: str | None
    stats: MMIPsecStats
    rows: tuple[CounterRow, ...]
    """The 21 counters in seed order."""
    native: dict[str, int]
    native_rates: dict[str, float | None]
    """Per-second rates for native running totals."""
    sas: tuple[IkeSa, ...]
    version: str | None
    reset: bool
    native_reasons: dict[str, str] = field(default_factory=dict)
    """Why a group of native counters is missing (see :class:`ProviderReading`)."""
    event_gaps: int | None = None
    """See :class:`ProviderReading` (the exporter's ``tcpscope_ipsec_event_gaps_total``)."""
    slow_s: float | None = None
    """Its reads take this long, more than a sample waits for one: its figures are its last
    answer's, up to a sample old (a busy daemon, not a hung one). Recorded, and sent by a
    ``--remote`` agent, like every field: a replay or a remote view says the same of those
    figures' age. None in files written before it existed."""

    sample_no: int = 0
    """The sampler's number of this sample (1 = its first): every row's newest history entry
    is sample ``sample_no``, so a sparkline can bucket on fixed sample numbers instead of on
    the sliding window. 0 when not known (a recording made before it was recorded)."""
    vici_given: bool = False
    """charon's socket was named (``--vici``), not defaulted: a path equal to the default one
    given is no reason to suggest ``--vici`` (:func:`core.ipsec.presence.vici_given`)."""
    history_len: int = 0
    """Samples a full history holds (the sampler's ``history_s / interval_s``): a sparkline's
    time axis, the same for every row at every moment, its scale not jumping as the history
    fills. 0 when not known (a recording made before it was recorded:
    the history's own length then)."""

    def row(self, counter: str) -> CounterRow:
        """The row of a counter by WMI name (case-insensitive)."""
        key = counter.lower()
        for r in self.rows:
            if r.name.lower() == key:
                return r
        raise KeyError(counter)

    @property
    def readings(self) -> dict[str, CounterReading]:
        """Per-counter provenance as :class:`CounterReading`."""
        return {
            r.name: CounterReading(
                r.name, r.value, r.provider, r.source, r.grade, r.reason, r.scope, r.lower_bound
            )
            for r in self.rows
        }


@dataclass(frozen=True, slots=True)
class IpsecView:
    """One IPsec sample across providers: what a screen or the CLI renders."""

    time: datetime
    """Sample time (UTC)."""
    interval_s: float
    providers: tuple[ProviderView, ...]

    @property
    def active_providers(self) -> tuple[str, ...]:
        """Names of providers whose source was readable in this sample."""
        return tuple(p.name for p in self.providers if p.available and p.stats.active)

    def provider(self, name: str) -> ProviderView:
        """The view of one provider by name."""
        for p in self.providers:
            if p.name == name:
                return p
        raise KeyError(name)

    def row(self, provider: str, counter: str) -> CounterRow:
        """Shortcut for ``view.provider(p).row(c)``."""
        return self.provider(provider).row(counter)

    def best_rows(self) -> tuple[CounterRow, ...]:
        """One row per counter (seed order) for a combined table: the reported row with the
        best grade across providers (exact > close > approx; ties: provider order), or, when no
        provider reports it, the first provider's row with its not-reported reason."""
        rank = {Grade.EXACT: 0, Grade.CLOSE: 1, Grade.APPROX: 2, Grade.NONE: 3}
        out: list[CounterRow] = []
        for name in COUNTER_NAMES:
            rows = [r for p in self.providers for r in p.rows if r.name == name]
            if not rows:
                continue
            reported = [r for r in rows if r.value is not None]
            pool = reported or [r for r in rows if r.grade is not Grade.NONE] or rows
            out.append(min(pool, key=lambda r: rank[r.grade]))
        return tuple(out)
