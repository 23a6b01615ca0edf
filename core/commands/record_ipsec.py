"""What ``tcpscope record`` says at start of the IPsec counters it is not recording.

Why: under ``--provider auto`` (the default) a daemon that is not running is no error (auto
reads what is there), so a recording made without charon held only the kernel's counters and
charon's absence, silently, and exited 0: the user believed the daemon's counters were
recorded. One stderr line now says which are not and why, in the words ``metrics`` logs
(``tcpscope: ipsec: strongswan down: REASON``) and ``ipsec`` shows.
"""

from __future__ import annotations

from core.commands.ipsec import NO_PROVIDER
from core.ipsec import IpsecView, counters_unreachable, daemons_first
from core.textsafe import printable


def _whose(name: str) -> str:
    return "the kernel's" if name == "kernel" else f"{printable(name)}'s"


def not_recorded(view: IpsecView) -> str | None:
    """The line for the recording's first IPsec view: each provider none of whose counters
    can be read (not running, socket refused, no answer: the app's banner cases) and its
    reason, then what the recording holds instead; None when every provider is read."""
    if not view.providers:
        return f"tcpscope: ipsec: {NO_PROVIDER}; no IPsec counters are recorded"
    providers = daemons_first(view.providers)
    down = [pv for pv in providers if counters_unreachable(pv)]
    if not down:
        return None
    read = [pv.name for pv in providers if not counters_unreachable(pv)]
    why = "; ".join(
        f"{printable(pv.name)} down: {printable(pv.error or 'source not available')}" for pv in down
    )
    if not read:
        return f"tcpscope: ipsec: {why}; no IPsec counters are recorded"
    theirs = "its counters are" if len(down) == 1 else "their counters are"
    return (
        f"tcpscope: ipsec: {why}; {theirs} not recorded"
        f" ({' and '.join(_whose(name) for name in read)} are)"
    )
