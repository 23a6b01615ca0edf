"""The exporter's patience with an IPsec provider whose read is late.

Why: a sample shows a read not done by its deadline (0.5-1 s) as "not responding" at once,
which is right on screen (the header says so while it lasts) but made the exporter's
``tcpscope_ipsec_up`` flap on a loaded host: one slow answer from a busy charon was a 0, every
one of its series (event-counted totals too) vanished for a sample, the ``== 0`` alert fired and
the journal said "down" and "up again". Here a provider that answered before and is "not
responding" now keeps its last answer for up to :data:`GRACE_VIEWS` IPsec samples in a row;
only then is it down. Any other failure (no socket, permission denied, a protocol error) is
down at once: waiting would not change it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Final

from core.ipsec.model import IpsecView, ProviderView

GRACE_VIEWS: Final = 3
"""IPsec samples in a row a provider may be "not responding" before the exporter says it is
down: a slow answer misses one sample's wait, or two when it takes longer than the interval; a
hung daemon is down within three intervals."""
NOT_RESPONDING: Final = "not responding"
"""How a late read's reason begins (core.ipsec.reads; charon's own timeout too)."""


def answered(pv: ProviderView) -> bool:
    """The provider was read in this view (as ``tcpscope_ipsec_up`` counts it)."""
    return pv.available and pv.error is None and pv.stats.active


@dataclass(slots=True)
class _Late:
    last: ProviderView | None = None
    """Its last answer."""
    missed: int = 0
    """"Not responding" views in a row since."""


class LateReadGrace:
    """Turns each IPsec view into the one the exporter serves and logs.

    Thread-safe; the same view seen twice (streamed, then carried by a connection sample) is
    counted once, and a view older than the last is passed through unchanged.
    """

    def __init__(self, grace_views: int = GRACE_VIEWS) -> None:
        self._grace = grace_views
        self._state: dict[str, _Late] = {}
        self._lock = threading.Lock()
        self._seen: IpsecView | None = None
        self._served: IpsecView | None = None

    def apply(self, view: IpsecView) -> IpsecView:
        """``view`` with each provider that is late within its grace replaced by its last
        answer."""
        with self._lock:
            if self._seen is not None:
                if view is self._seen or view.time == self._seen.time:
                    assert self._served is not None
                    return self._served
                if view.time < self._seen.time:
                    return view
            providers = tuple(self._provider(pv) for pv in view.providers)
            served = replace(view, providers=providers)
            self._seen, self._served = view, served
            return served

    def _provider(self, pv: ProviderView) -> ProviderView:
        state = self._state.setdefault(pv.name, _Late())
        if answered(pv):
            state.last, state.missed = pv, 0
            return pv
        late = pv.error is not None and pv.error.startswith(NOT_RESPONDING)
        if not late or state.last is None:
            state.last, state.missed = None, 0
            return pv
        state.missed += 1
        if state.missed > self._grace:
            return pv
        return state.last
