"""What a single IPsec sample can honestly say about totals counted from events.

Why: some totals have no counter anywhere; tcpscope counts them itself from the events it
receives while it runs (strongSwan's ``ike-updown``/``child-rekey``, the kernel's XFRM
multicast). A one-shot ``tcpscope ipsec`` has received no events, so its ``0`` would be a
claim it cannot make: those totals are null, with the reason, unless the provider reports a
true total (libreswan's ``total.*``, VICI ``get-counters``), whose scope is not
"since monitor start".
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from core.ipsec.counters import SINCE_START
from core.ipsec.model import CounterRow, IpsecView, ProviderView

ONE_SHOT_REASON: Final = (
    "not reported in a one-shot sample: tcpscope counts this total itself ({source}) from "
    "the events it receives while it runs, and one sample has received none; the live view "
    "and `tcpscope record` count them"
)


def _null(row: CounterRow) -> CounterRow:
    return dataclasses.replace(
        row,
        value=None,
        rate=None,
        display=None,
        peak_rate=None,
        reason=ONE_SHOT_REASON.format(source=row.source),
        lower_bound=None,
    )


def _provider(pv: ProviderView) -> ProviderView:
    counted = [r for r in pv.rows if r.scope == SINCE_START and r.value is not None]
    if not counted:
        return pv
    rows = tuple(_null(r) if r in counted else r for r in pv.rows)
    nulls: dict[str, Any] = {r.attr: None for r in counted}
    stats = dataclasses.replace(pv.stats, **nulls)
    return dataclasses.replace(pv, rows=rows, stats=stats)


def one_shot(view: IpsecView) -> IpsecView:
    """``view`` with every total counted from events since tcpscope started made null."""
    return dataclasses.replace(view, providers=tuple(_provider(p) for p in view.providers))
