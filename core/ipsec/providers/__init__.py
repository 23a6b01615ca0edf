"""Picks the IPsec providers in one place (``--provider auto|kernel|strongswan|libreswan``).

``auto`` combines what is present: the kernel on Linux, strongSwan when its VICI socket exists
(or charon is installed, so a daemon started later is picked up), libreswan when whack exists.
An explicitly named provider is always returned; if its source is absent its readings say why.
"""

from __future__ import annotations

import os
import sys
from typing import Final

from core.errors import UsageError
from core.ipsec.presence import DEFAULT_VICI
from core.ipsec.providers._vici import not_a_socket
from core.ipsec.providers.base import Provider

PROVIDER_NAMES: Final[tuple[str, ...]] = ("auto", "kernel", "strongswan", "libreswan")
_CHARON_BINARIES: Final = (
    "/usr/lib/ipsec/charon",
    "/usr/libexec/ipsec/charon",
    "/usr/sbin/charon-systemd",
)


def _make(name: str, vici_path: str | None) -> Provider:
    if name == "kernel":
        from core.ipsec.providers.kernel import KernelProvider

        return KernelProvider()
    if name == "strongswan":
        from core.ipsec.providers.strongswan import StrongswanProvider

        return StrongswanProvider(vici_path)
    from core.ipsec.providers.libreswan import LibreswanProvider

    return LibreswanProvider()


def check_vici_path(path: str | None, *, exists_here: bool = True) -> None:
    """Refuse a ``--vici`` PATH that cannot be a VICI socket: empty, or there and no socket.

    Why at start, and one check for every command: charon's VICI socket is a UNIX socket, so
    a regular file (a typo, a config file) can never answer; read as a socket it failed as
    "charon not running (… refuses connections)", sending the user to start a daemon that may
    well be running. A path that does not exist (yet) or cannot be examined is let through:
    charon may start later, and the view then says why it cannot connect (in these words if
    the path becomes something other than a socket meanwhile). ``exists_here`` False: the
    path is another machine's (``--remote``), only its blankness is checked here.

    Raises:
        UsageError: the path is blank, or exists and is not a UNIX socket.
    """
    if path is None:
        return
    if not path.strip():
        raise UsageError("--vici needs a socket path")
    if not exists_here:
        return
    problem = not_a_socket(path)
    if problem is not None:
        raise UsageError(f"--vici {problem}")


def get_providers(name: str = "auto", vici_path: str | None = None) -> list[Provider]:
    """The providers for ``--provider NAME``.

    Raises:
        UsageError: unknown provider name.
    """
    if name not in PROVIDER_NAMES:
        raise UsageError(
            f"unknown IPsec provider {name!r} (choose from {', '.join(PROVIDER_NAMES)})"
        )
    # None (not given) reaches strongSwan's provider as it is: a --vici naming the default
    # path is still a --vici given (no hint suggests passing one).
    if name != "auto":
        return [_make(name, vici_path)]
    out: list[Provider] = []
    if sys.platform.startswith("linux"):
        out.append(_make("kernel", vici_path))
    path = vici_path or DEFAULT_VICI
    if os.path.exists(path) or vici_path or any(os.access(p, os.X_OK) for p in _CHARON_BINARIES):
        out.append(_make("strongswan", vici_path))
    from core.ipsec.providers.libreswan import find_whack

    if find_whack() is not None:
        out.append(_make("libreswan", vici_path))
    return out
