"""Why an IPsec provider is down, as one stderr line per change (the service's journal).

Why: ``tcpscope_ipsec_up{provider=…} 0`` says only that a provider cannot be read, while the TUI
and ``tcpscope ipsec`` say why (no socket, permission denied on it, no answer). Under systemd,
stderr is the journal: one line when a provider goes down or its kind of failure changes, one
when it is back, never one a sample or a retry. The reason holds daemon and path text, so it is
escaped.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Final

from core.ipsec.model import IpsecView, ProviderView
from core.textsafe import printable

_COUNTDOWN: Final = re.compile(r"; retrying in \d+ s$")
"""A backed-off provider's reason ends in a countdown that changes every sample, not its state."""
_DETAIL: Final = re.compile(
    r"^(protocol error on .*?): .*|^(lost connection to charon) \(.*\)$|^(not responding): .*"
)
"""Reasons that end in the daemon's own text, which may change every try (a peer answering a
different wrong packet type each time): their kind is the text before it. "not responding" is
one kind however it was found (a read overdue for the sample, or the daemon's own timeout)."""


def _reason(pv: ProviderView) -> str | None:
    """None when the provider is up (as ``tcpscope_ipsec_up`` counts it), else why not."""
    if pv.available and pv.error is None and pv.stats.active:
        return None
    return _COUNTDOWN.sub("", pv.error or "source not available")


def _kind(reason: str | None) -> str | None:
    """The reason without details that change from try to try: one line per kind of failure."""
    if reason is None:
        return None
    found = _DETAIL.match(reason)
    return reason if found is None else found[1] or found[2] or found[3]


class ProviderStateLog:
    """Remembers each provider's last state; :meth:`note` returns the lines to log.

    Thread-safe: connection samples (which carry IPsec views) and streamed IPsec views arrive
    from two worker threads.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, str | None] = {}
        self._time: datetime | None = None
        self._lock = threading.Lock()

    def note(self, view: IpsecView) -> list[str]:
        """Lines for the providers whose state changed since the last (newer) view."""
        with self._lock:
            return self._note(view)

    def _note(self, view: IpsecView) -> list[str]:
        if self._time is not None and view.time < self._time:
            return []  # an older view arriving late must not flip the state back
        self._time = view.time
        lines: list[str] = []
        for pv in view.providers:
            reason = _reason(pv)
            kind = _kind(reason)
            known = pv.name in self._kinds
            if known and self._kinds[pv.name] == kind:
                continue
            self._kinds[pv.name] = kind
            name = printable(pv.name)
            if reason is not None:
                lines.append(f"tcpscope: ipsec: {name} down: {printable(reason)}")
            elif known:
                lines.append(f"tcpscope: ipsec: {name} up again")
        return lines
