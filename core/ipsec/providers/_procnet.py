"""Parsers for the /proc/self/net files the kernel provider reads (no privileges needed).

Why separate: the parsers are pure functions over text, tested on samples; the provider only
opens files. Files of the *current* network namespace are read via /proc/self/net.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

from core.ipsec.providers.base import count

IKE_PORTS: Final = frozenset({500, 4500})


def parse_xfrm_stat(text: str) -> dict[str, int]:
    """``XfrmInError<spaces>\\t0`` lines → dict; every key by name (the list grows by kernel)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and (n := count(parts[1])) is not None:
            out[parts[0]] = n
    return out


@dataclass(frozen=True, slots=True)
class UdpSocket:
    """One UDP socket bound to an IKE port."""

    port: int
    rx_queue: int
    """Bytes waiting to be read."""
    drops: int
    """sk_drops: datagrams the socket dropped."""


def parse_proc_udp(text: str) -> list[UdpSocket]:
    """Sockets bound to UDP 500/4500 from /proc/net/udp or udp6 text."""
    out: list[UdpSocket] = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 13 or ":" not in parts[1] or ":" not in parts[4]:
            continue
        try:
            port = int(parts[1].rsplit(":", 1)[1], 16)
            if port not in IKE_PORTS:
                continue
            rx = int(parts[4].split(":")[1], 16)
            drops = int(parts[-1])
        except ValueError:
            continue
        out.append(UdpSocket(port, rx, drops))
    return out


def parse_snmp(text: str, section: str) -> dict[str, int]:
    """The ``section:`` header/value line pair of /proc/net/snmp as a dict: the values that
    are counts (:func:`core.ipsec.providers.base.count`; a signed one such as Tcp's MaxConn -1
    is left out)."""
    lines = [ln.split() for ln in text.splitlines() if ln.startswith(section + ":")]
    if len(lines) < 2:
        return {}
    names, values = lines[0][1:], lines[1][1:]
    out: dict[str, int] = {}
    for name, value in zip(names, values, strict=False):
        if (n := count(value)) is not None:
            out[name] = n
    return out


def parse_local_addresses(fib_trie: str, if_inet6: str) -> set[str]:
    """This namespace's own addresses from ``fib_trie`` (``/32 host LOCAL`` leaves) and
    ``if_inet6`` (hex), as psutil's ``net_if_addrs`` spells them (where psutil is absent)."""
    import ipaddress

    out: set[str] = set()
    last: str | None = None
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|--"):
            last = text[3:].strip()
        elif text == "/32 host LOCAL" and last is not None:
            out.add(last)
    for line in if_inet6.splitlines():
        fields = line.split()
        if fields and len(fields[0]) == 32:
            with contextlib.suppress(ValueError):
                out.add(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
    return out
