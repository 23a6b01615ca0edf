"""The one interface every IPsec provider implements, the helper that fills a reading, and
the rule and reason every provider gives for a value its daemon sent that is no count.

A provider is synchronous and may block briefly (netlink, a UNIX socket, a subprocess); the
sampler calls it from a thread of its own, never two reads at once, and does not wait for it
past a deadline (:mod:`core.ipsec.reads`; an optional ``daemon`` attribute names who "did not
answer" then, an optional ``instance`` the InstanceName of a reading made for it). ``read``
should not raise: it returns a reading whose ``error`` says what went wrong (the sampler still
guards against surprises).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol

from core.ipsec.counters import COUNTERS, source_for
from core.ipsec.model import (
    ATTR_BY_WMI,
    COUNTER_NAMES,
    CounterReading,
    Grade,
    IkeSa,
    MMIPsecStats,
    ProviderReading,
)
from core.textsafe import is_digits

UINT64_MAX: Final = 2**64 - 1
"""The largest value of every counter of the class (each is a ``uint64``)."""


def count(text: str) -> int | None:
    """``text`` as a count: ASCII digits 0-9 (spaces around ignored) up to :data:`UINT64_MAX`;
    None for anything else ('-1', '1e3', '٤', a figure past uint64), which the caller says
    is an invalid value.

    Why one rule for every daemon and /proc file: a figure past uint64 was shown as a real
    count (``InvalidCookiesReceived 18446744073709551617``) though no counter can hold it.
    """
    text = text.strip()
    if not is_digits(text):
        return None
    value = int(text)
    return value if value <= UINT64_MAX else None


INVALID_VALUE: Final = "not reported: the daemon sent an invalid value ({key} = {value})"
"""Said of a counter whose value the daemon sent is no number (negative, text, a section)."""
_SHOWN_CHARS: Final = 40
"""How much of an invalid value the reason quotes (a VICI value may be 64 KiB)."""


def invalid_value(key: str, sent: str | None) -> str:
    """The not-reported reason for the value the daemon sent for ``key`` that is no number:
    ``sent`` as text, or None for one that has no text (a VICI section).

    Why not "source did not provide it" (or "prints no KEY"): the daemon did send something;
    saying it did not hides a broken or foreign peer. One wording for every daemon. The value
    is quoted as sent (cut at 40 characters); whoever shows the reason escapes it, as every
    daemon text.
    """
    if sent is None:
        return INVALID_VALUE.format(key=key, value="a section")
    if len(sent) > _SHOWN_CHARS:
        sent = sent[:_SHOWN_CHARS] + "…"
    return INVALID_VALUE.format(key=key, value=f"'{sent}'")


class Provider(Protocol):
    """A source of MSiSCSI_MMIPSECStats counters."""

    name: str
    """``kernel``, ``strongswan`` or ``libreswan``."""

    def read(self) -> ProviderReading:
        """Take one reading; failures go into ``ProviderReading.error``, not exceptions."""
        ...

    def close(self) -> None:
        """Release sockets and stop background threads."""
        ...


def make_reading(
    provider: str,
    instance: str,
    values: Mapping[str, int | None],
    *,
    reasons: Mapping[str, str] | None = None,
    version: str | None = None,
    native: Mapping[str, int] | None = None,
    native_totals: frozenset[str] = frozenset(),
    sas: tuple[IkeSa, ...] = (),
    error: str | None = None,
    available: bool = True,
    reset: bool = False,
    native_reasons: Mapping[str, str] | None = None,
    lower_bounds: Mapping[str, str] | None = None,
    event_gaps: int | None = None,
) -> ProviderReading:
    """Build a reading: values by WMI name; counters graded ``none`` are always None.

    Args:
        reasons: per-counter "not reported: …" text for counters whose value is None.
        error: one line; the default reason of every counter without a value.
        lower_bounds: per-counter "lower bound: …" text for values that missed events.
        event_gaps: times the totals counted from events may have missed some (None: none
            counted).
    """
    reasons = reasons or {}
    lower_bounds = lower_bounds or {}
    readings: dict[str, CounterReading] = {}
    kwargs: dict[str, int | None] = {}
    for name in COUNTER_NAMES:
        spec = source_for(name, provider, version)
        value = values.get(name) if spec.grade is not Grade.NONE else None
        reason: str | None = None
        if spec.grade is Grade.NONE:
            reason = spec.reason
        elif value is None:
            reason = reasons.get(name) or _reason_from_error(error)
        readings[name] = CounterReading(
            name,
            value,
            provider,
            spec.expression,
            spec.grade,
            reason,
            spec.scope if COUNTERS[name].kind.value == "total" else None,
            lower_bounds.get(name) if value is not None else None,
        )
        kwargs[ATTR_BY_WMI[name]] = value
    active = available and error is None
    stats = MMIPsecStats(instance_name=instance, active=active, **kwargs)
    return ProviderReading(
        provider=provider,
        stats=stats,
        readings=readings,
        native=dict(native or {}),
        native_totals=native_totals,
        sas=sas,
        error=error,
        available=available,
        reset=reset,
        version=version,
        native_reasons=dict(native_reasons or {}),
        event_gaps=event_gaps,
    )


def _reason_from_error(error: str | None) -> str:
    if error is None:
        return "not reported: source did not provide it"
    return error if error.startswith("not reported") else f"not reported: {error}"
