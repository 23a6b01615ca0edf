"""Whether a provider's daemon is there at all, what starts it, and the order readers meet
providers in: one answer for the app's IPsec screen and ``tcpscope ipsec``.

Why together: both show the IKE daemon's section before the kernel's (the class counts IKE
main-mode work, which the daemon sees and the kernel mostly does not), and both say once,
not in each of 21 rows, that a daemon is not running and how to start it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from core.ipsec.model import ProviderView
from core.textsafe import printable

DEFAULT_VICI: Final = "/var/run/charon.vici"
"""charon's VICI socket where ``--vici`` names none."""

HOW_TO_START: Final[dict[str, tuple[str, ...]]] = {
    "strongswan": (
        "start charon (systemctl start strongswan)",
        "if it runs with another VICI socket: {tcpscope} --vici <socket>",
    ),
    "libreswan": ("start pluto (systemctl start ipsec), then run tcpscope again",),
}
"""What to do when a provider's daemon is not running, step by step (a user's words: the test
lab that starts one is the README's, for developers; an installed tcpscope has no tests
package)."""
GIVEN_SOCKET: Final = "check charon's VICI socket is the --vici given: {}"
"""The last step for charon when ``--vici`` named a socket: suggesting ``--vici`` again sent
the user back to the option they had already used."""


NOT_INSTALLED: Final = "not installed"
"""What a provider's error says when the daemon's software is absent (not only stopped)."""
HOW_TO_INSTALL: Final[dict[str, tuple[str, ...]]] = {
    "strongswan": ("install strongSwan (apt install charon-systemd strongswan-swanctl)",),
    "libreswan": ("install libreswan (apt install libreswan), then start it",),
}
"""What to do when a provider's daemon is not even installed ("start pluto" said otherwise)."""


NOT_A_SOCKET: Final = "is not a UNIX socket"
"""What an error says when the daemon's socket path holds something else (a file, a FIFO)."""
HOW_TO_REACH: Final[dict[str, tuple[str, ...]]] = {
    "strongswan": ("{tcpscope} --vici <charon's VICI socket>",),
}
"""What to do when that path is not a socket: the daemon is not what is wrong, the path is."""


def start_hint(view: ProviderView, tcpscope: str = "tcpscope") -> list[str]:
    """Lines under an absent daemon's error: how to see its counters (one step a line, so
    each fits 80 columns); none for a daemon that is there (its error says what to do).
    ``tcpscope``: how to run tcpscope for the host shown (``tcpscope --remote web1``: over
    ``--remote``, a bare ``tcpscope --vici …`` looked at the local machine)."""
    if view.available:
        return []
    error = view.error or ""
    hints = (
        HOW_TO_INSTALL
        if NOT_INSTALLED in error
        else HOW_TO_REACH
        if NOT_A_SOCKET in error
        else HOW_TO_START
    )
    steps = hints.get(view.name, ("--json lists why each is not reported",))
    if hints is HOW_TO_START and (given := vici_given(view)) is not None:
        steps = (*steps[:-1], GIVEN_SOCKET.format(printable(given)))
    steps = tuple(step.replace("{tcpscope}", tcpscope) for step in steps)
    return [f"to see its {len(view.rows)} counters: {steps[0]}", *steps[1:]]


def vici_given(view: ProviderView) -> str | None:
    """The socket ``--vici`` named for charon's ``view`` (None: defaulted, or not charon).
    From its InstanceName, ``strongswan:<VICI socket path>``, and
    :attr:`ProviderView.vici_given`, which the view carries to the app's screen, ``tcpscope
    ipsec``, a remote host's and a replay alike: so the default path given is given too. A
    recording made before that field says so by its path only (another than the default)."""
    prefix = f"{view.name}:"
    instance = view.stats.instance_name
    if view.name != "strongswan" or not instance.startswith(prefix):
        return None
    path = instance.removeprefix(prefix)
    return path if path and (view.vici_given or path != DEFAULT_VICI) else None


def counters_unreachable(view: ProviderView) -> bool:
    """True when no counter has a value for one reason: the daemon is not there at all, or
    it is and cannot be asked (its socket refused for lack of permission, no answer in
    time). One banner then says it, not 21 rows that each do."""
    if any(r.value is not None for r in view.rows):
        return False
    return not view.available or view.error is not None


def daemons_first(providers: Iterable[ProviderView]) -> list[ProviderView]:
    """``providers`` with the IKE daemons' before the kernel's, otherwise in their order."""
    return sorted(providers, key=lambda v: v.name == "kernel")  # stable
