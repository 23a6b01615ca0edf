"""Well-known TCP service names from /etc/services (``443`` ↔ ``https``), UI-free.

Why a module: the table labels well-known ports with their names and the filter accepts
``port:https``; both must read the same file the same way. The file is read once, lazily; a
missing or unreadable file means no names (ports still show as numbers), never an error.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from core.textsafe import is_digits

SERVICES_PATH: Final = Path("/etc/services")


def parse_services(text: str) -> tuple[dict[int, str], dict[str, int]]:
    """TCP port → first name, and every name and alias → port, from services(5) text."""
    by_port: dict[int, str] = {}
    by_name: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        number, _, proto = fields[1].partition("/")
        if proto != "tcp" or not is_digits(number):
            continue
        port = int(number)
        if not 0 < port <= 65535:
            continue
        by_port.setdefault(port, fields[0])
        for name in fields[:1] + fields[2:]:
            by_name.setdefault(name.casefold(), port)
    return by_port, by_name


@cache
def _tables(path: Path = SERVICES_PATH) -> tuple[dict[int, str], dict[str, int]]:
    try:
        return parse_services(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}, {}


def service_name(port: int) -> str | None:
    """The /etc/services name of TCP ``port`` (``https`` for 443), or None."""
    return _tables()[0].get(port)


def service_port(name: str) -> int | None:
    """The TCP port of a service name or alias (``https`` → 443), or None."""
    return _tables()[1].get(name.casefold())


def service_names() -> tuple[str, ...]:
    """Every known TCP service name, sorted (for completion)."""
    return tuple(sorted(_tables()[1]))


def connection_service(local_port: int, remote_port: int) -> str | None:
    """The service a connection is about: the named port, the local one when both are named
    and the local one is the lower (a server's port), else whichever end has a name."""
    local = service_name(local_port) if local_port else None
    remote = service_name(remote_port) if remote_port else None
    if local is not None and (remote is None or remote_port == 0 or local_port <= remote_port):
        return local
    return remote if remote is not None else local
