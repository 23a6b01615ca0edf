"""Where ``tcpscope metrics`` listens: ``--listen [ADDR][:PORT]``, loopback unless told otherwise.

Why loopback by default: connection counts by process name tell an outsider what runs on the
host, so exposing them is the operator's explicit choice (``--listen 0.0.0.0:29100``).

Why port 29100: Prometheus' default port allocations (the project wiki) fill 9100-9999, and
that range has been fully allocated since 2023, so every port in it already belongs to some
exporter; the wiki advises ports outside the range for exporters that do not register one.
29100 keeps the familiar "…9100" shape, lies below Linux's default ephemeral range
(32768-60999, so outgoing connections never hold it), and no exporter we found uses it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Final

from core.errors import UsageError
from core.textsafe import rquoted

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 29100
_LABEL: Final = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
"""One label of a host name (RFC 1123: letters, digits, inner hyphens; and underscores,
which /etc/hosts and the resolver accept)."""


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """A host and TCP port to serve on (port 0: the kernel picks a free one)."""

    host: str
    port: int

    def __str__(self) -> str:
        """``127.0.0.1:29100`` or ``[::1]:29100``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit()`` also accepts superscripts (which ``int()``
    rejects) and other scripts' digits (which ``int()`` reads: a full-width '０' is 0)."""
    return text.isascii() and text.isdigit()


def _port(text: str, whole: str) -> int:
    if not _is_number(text):
        raise UsageError(f"--listen: not a port number in {rquoted(whole)}")
    value = int(text)
    if value > 65535:
        raise UsageError(f"--listen: port out of range 0-65535 in {rquoted(whole)}")
    return value


def parse_listen(text: str) -> ListenAddress:
    """``PORT``, ``:PORT``, ``HOST``, ``HOST:PORT``, ``[V6]`` or ``[V6]:PORT``.

    A missing host means loopback (not every address, as ``:PORT`` means to some Go
    exporters), a missing port means :data:`DEFAULT_PORT`.

    Raises:
        UsageError: the text is none of these forms, a port is not ASCII digits, or a host
            with ':' (bracketed or not) is not an IPv6 address.
    """
    whole = text
    text = text.strip()
    if not text:
        raise UsageError("--listen: empty address")
    if text.isdigit():  # any script's digits: a port, though only ASCII ones are accepted
        return ListenAddress(DEFAULT_HOST, _port(text, whole))
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not host:
            raise UsageError(f"--listen: unclosed or empty [IPv6] address in {rquoted(whole)}")
        if rest and not rest.startswith(":"):
            raise UsageError(f"--listen: expected ]:PORT in {rquoted(whole)}")
        return ListenAddress(_ipv6(host, whole), _port(rest[1:], whole) if rest else DEFAULT_PORT)
    if text.count(":") > 1:
        return ListenAddress(_ipv6(text, whole), DEFAULT_PORT)  # a bare IPv6 address
    host, sep, port = text.partition(":")
    host = _host(host, whole) if host else DEFAULT_HOST
    return ListenAddress(host, _port(port, whole) if sep else DEFAULT_PORT)


def _host(host: str, whole: str) -> str:
    """``host`` when it is an IPv4 address or a host name.

    Why checked here: ``-1`` (a port mistyped) and ``0x10`` went to the resolver, which read
    the first as a name ("Name or service not known", exit 1) and the second as the number
    0.0.0.16 (glibc's inet_aton shorthands: ``0x10``, ``010``, ``127.1``); neither is what the
    operator meant, and neither error named the mistake. A name whose last label is all
    digits (``256.1.1.1``, ``1.2.3.4.5``) is no host name either (RFC 1123 2.1: the top-level
    label is never numeric, so a dotted quad is never a name): it was looked up in DNS and
    failed as "Name or service not known", exit 1.
    """
    try:
        ipaddress.IPv4Address(host)
        return host
    except ValueError:
        pass
    name = host.removesuffix(".")
    labels = name.split(".")
    is_name = (
        len(name) <= 253
        and all(_LABEL.fullmatch(part) for part in labels)
        and not _is_number(labels[-1])
    )
    if is_name:
        try:
            socket.inet_aton(name)  # a number in a shorthand form, not a name
        except OSError:
            return host
    where = "" if host == whole.strip() else f" in {rquoted(whole)}"
    raise UsageError(
        f"--listen: {rquoted(host)}{where} is neither a port (0-65535), an IPv4 address "
        "nor a host name"
    )


def _ipv6(host: str, whole: str) -> str:
    """``host`` when it is an IPv6 address (a zone such as ``%eth0`` allowed).

    Why checked here: a name or an IPv4 address with more than one ':' is a typo of the
    ``[ADDR]:PORT`` form; given to the resolver it would come back as "Name or service not
    known", which names neither the mistake nor the right form.
    """
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        where = "" if host == whole.strip() else f" in {rquoted(whole)}"
        raise UsageError(
            f"--listen: {rquoted(host)}{where} is not an IPv6 address "
            "(IPv6 is written [ADDR]:PORT, other hosts HOST:PORT)"
        ) from None
    return host
