"""IPsec sampling semantics: one blocking ``sample()`` → :class:`IpsecView`.

Why: rates, reset detection and history must be computed once per tick for every consumer (CLI,
screen). Totals get a rate Δvalue/Δt per second; gauges are shown as they are. A total that goes
down (daemon restart, ``swanctl --counters --reset``, uint64 wrap) is a reset: flagged, no rate
(never a negative one) and a gap in the history. ``sample()`` never raises: a failing provider
becomes an error in its part of the view. The async sampler (:mod:`core.sampling.sampler`)
calls it from a worker thread; providers are read side by side (:mod:`core.ipsec.reads`), so a
hung one costs a sample at most the read deadline, once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

from core.ipsec.counters import COUNTERS
from core.ipsec.history import History
from core.ipsec.model import (
    ATTR_BY_WMI,
    COUNTER_NAMES,
    ChildSa,
    CounterRow,
    IkeSa,
    IpsecView,
    Kind,
    ProviderReading,
    ProviderView,
)
from core.ipsec.providers.base import Provider, make_reading
from core.ipsec.reads import ProviderReads

MIN_DEADLINE_S: Final = 0.5
"""The shortest wait for a provider's read, however short the interval: a busy host's VICI round
trip must not read as a hung daemon."""
MAX_DEADLINE_S: Final = 1.0
"""The longest: a hung daemon shows as not responding (and the others' figures go out) within a
second, however long the interval."""
ONE_SHOT_DEADLINE_S: Final = 30.0
"""A single sample's wait (``tcpscope ipsec``): no later sample would use a late reply, so it
waits for the provider's own timeouts (each read is bounded by them; this only caps them)."""
RETRY_WAIT_S: Final = 0.1
"""The wait for a provider that was not responding: a daemon back from a hang answers in
milliseconds, one still hung must not hold the others' figures back a deadline per retry."""


@dataclass(slots=True)
class _Rate:
    """Last value/time of one running total, and the peak rate seen."""

    value: int | None = None
    t: float | None = None
    peak: float | None = None


@dataclass(slots=True)
class _ProviderState:
    counters: dict[str, _Rate] = field(default_factory=dict)
    native: dict[str, _Rate] = field(default_factory=dict)
    sas: dict[tuple[str, str, str], tuple[float, tuple[int | None, ...]]] = field(
        default_factory=dict
    )


def _step(
    state: _Rate,
    value: int | None,
    now: float,
    reset_hint: bool,
) -> tuple[float | None, bool]:
    """Advance one total; returns ``(rate per second or None, reset)``."""
    prev, prev_t = state.value, state.t
    state.value, state.t = value, now
    if value is None or prev is None or prev_t is None:
        return None, False
    if value < prev or reset_hint:
        return None, True
    dt = now - prev_t
    if dt <= 0:
        return None, False
    rate = (value - prev) / dt
    if state.peak is None or rate > state.peak:
        state.peak = rate
    return rate, False


class IpsecSampler:
    """Samples providers, computes rates/resets and keeps ≥ ``history_s`` of history."""

    def __init__(
        self,
        providers: Sequence[Provider],
        interval_s: float = 1.0,
        history_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        deadline_s: float | None = None,
    ) -> None:
        """``deadline_s``: how long a sample waits for a provider's read; default the
        interval, within :data:`MIN_DEADLINE_S`-:data:`MAX_DEADLINE_S`."""
        self.providers = list(providers)
        self.interval_s = interval_s
        self.deadline_s = (
            deadline_s
            if deadline_s is not None
            else min(MAX_DEADLINE_S, max(MIN_DEADLINE_S, interval_s))
        )
        self.history = History(interval_s, history_s)
        self._clock = clock
        self._state: dict[str, _ProviderState] = {}
        self._reads = [ProviderReads(p, clock) for p in self.providers]
        self._vici_given = {
            r.name: bool(getattr(r.provider, "vici_given", False)) for r in self._reads
        }
        """By provider: its socket was named, not defaulted (ProviderView.vici_given)."""
        self._views: dict[str, ProviderView] = {}
        """Each provider's view in the last sample (a slow one's is shown again)."""

        self._samples = 0
        """Samples taken (each appends once to every history series): ProviderView.sample_no."""

    @classmethod
    def one_shot(cls, providers: Sequence[Provider]) -> IpsecSampler:
        """A sampler for one sample: a busy daemon that answers in its own time is not "not
        responding" (a cron check would alert on it)."""
        return cls(providers, deadline_s=ONE_SHOT_DEADLINE_S)

    def sample(self) -> IpsecView:
        """Read every provider once, side by side, and return the view; never raises.

        Waits for each read until the deadline (:data:`RETRY_WAIT_S` for a provider that was
        not responding); a provider whose read is overdue (this sample's or an earlier one's)
        is "not responding" in this view. One slower than the wait but within its usual time
        shows its last answer again (:meth:`_held`), marked slow.
        """
        now_wall = datetime.now(UTC)
        self._samples += 1
        started = time.monotonic()
        dues = []
        for reads in self._reads:
            dues.append(reads.due_in(self.deadline_s, self.interval_s))
            reads.start(started, RETRY_WAIT_S if reads.overdue else dues[-1])
        for reads in self._reads:
            reads.wait()
        views: list[ProviderView] = []
        for reads, due_s in zip(self._reads, dues, strict=True):
            name = reads.name
            done = reads.take(due_s)
            slow = reads.took if reads.took is not None and reads.took > due_s else None
            last = self._views.get(name)
            try:
                if done.held and last is not None:
                    view = self._held(last)
                else:
                    view = self._view(name, done.reading, done.at)
            except Exception as err:
                view = self._view(
                    name,
                    make_reading(
                        name, name, {}, error=f"internal error: {type(err).__name__}: {err}"
                    ),
                    self._clock(),
                )
            view = replace(view, slow_s=slow if view.error is None else None)
            self._views[name] = view
            views.append(view)
        return IpsecView(time=now_wall, interval_s=self.interval_s, providers=tuple(views))

    def close(self) -> None:
        """Close every provider (stops event listener threads); one still reading is closed
        when its read ends."""
        for reads in self._reads:
            with contextlib.suppress(Exception):  # best effort; nothing useful to report
                reads.close()

    # ------------------------------------------------------------------ internals
    def _held(self, last: ProviderView) -> ProviderView:
        """``last`` again for a slow provider's read still in its usual time: its figures and
        rates as last answered (a rate needs two answers; the same one twice is no rate), and
        its series one sample on at those figures, so a slow daemon's sparkline has no gaps."""
        rows = []
        for row in last.rows:
            self.history.append(last.name, row.name, row.display)
            rows.append(replace(row, history=self.history.get(last.name, row.name)))
        return replace(last, rows=tuple(rows), sample_no=self._samples)

    def _view(self, name: str, reading: ProviderReading, now: float) -> ProviderView:
        st = self._state.setdefault(name, _ProviderState())
        rows = tuple(self._row(name, st, reading, counter, now) for counter in COUNTER_NAMES)
        native_rates: dict[str, float | None] = {}
        # sorted: a frozenset's order follows PYTHONHASHSEED, and a recording writes this
        # dict in its order (the same demo recorded twice differed)
        for key in sorted(reading.native_totals):
            rate, _reset = _step(
                st.native.setdefault(key, _Rate()), reading.native.get(key), now, reading.reset
            )
            native_rates[key] = rate
        return ProviderView(
            name=name,
            available=reading.available,
            error=reading.error,
            stats=reading.stats,
            rows=rows,
            native=reading.native,
            native_rates=native_rates,
            sas=self._sa_rates(st, reading.sas, now),
            version=reading.version,
            reset=reading.reset or any(r.reset for r in rows),
            native_reasons=reading.native_reasons,
            event_gaps=reading.event_gaps,
            sample_no=self._samples,
            history_len=self.history.capacity,
            vici_given=self._vici_given.get(name, False),
        )

    def _row(
        self, provider: str, st: _ProviderState, reading: ProviderReading, counter: str, now: float
    ) -> CounterRow:
        spec = COUNTERS[counter]
        cr = reading.readings[counter]
        value = cr.value
        rate: float | None = None
        reset = False
        state = st.counters.setdefault(counter, _Rate())
        if spec.kind is Kind.TOTAL:
            # A daemon restart resets daemon totals, not the ones counted from events.
            rate, reset = _step(state, value, now, reading.reset and cr.scope is None)
            display: float | None = rate
        else:
            display = None if value is None else float(value)
        self.history.append(provider, counter, display)
        return CounterRow(
            name=counter,
            attr=ATTR_BY_WMI[counter],
            kind=spec.kind,
            description=spec.description,
            value=value,
            rate=rate,
            display=display,
            reset=reset,
            peak_rate=state.peak if spec.kind is Kind.TOTAL else None,
            provider=provider,
            grade=cr.grade,
            source=cr.source,
            reason=cr.reason,
            scope=cr.scope,
            history=self.history.get(provider, counter),
            lower_bound=cr.lower_bound,
        )

    def _sa_rates(
        self,
        st: _ProviderState,
        sas: tuple[IkeSa, ...],
        now: float,
    ) -> tuple[IkeSa, ...]:
        seen: dict[tuple[str, str, str], tuple[float, tuple[int | None, ...]]] = {}
        out: list[IkeSa] = []
        for ike in sas:
            kids: list[ChildSa] = []
            for child in ike.children:
                key = (ike.uniqueid, child.name, child.uniqueid)
                cur = (child.bytes_in, child.bytes_out, child.packets_in, child.packets_out)
                seen[key] = (now, cur)
                prev = st.sas.get(key)
                rates: list[float | None] = [None] * 4
                if prev is not None and now > prev[0]:
                    for i, (a, b) in enumerate(zip(prev[1], cur, strict=True)):
                        if a is not None and b is not None and b >= a:
                            rates[i] = (b - a) / (now - prev[0])
                kids.append(
                    replace(
                        child,
                        bytes_in_rate=rates[0],
                        bytes_out_rate=rates[1],
                        packets_in_rate=rates[2],
                        packets_out_rate=rates[3],
                    )
                )
            out.append(replace(ike, children=tuple(kids)))
        st.sas = seen
        return tuple(out)
