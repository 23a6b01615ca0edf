"""``--netns all|current|NAME|PID|PATH``: which network namespaces a run reads.

``all`` (the default of the app, ``connections`` and ``record``) reads every namespace on
the host, which is what someone on a container host expects to see; ``current`` reads only
tcpscope's own, as ``ss`` does. A NAME is an ``ip netns`` name or a container's name or id
(prefix); a PID means that process's namespace; a PATH is an nsfs file
(``/run/netns/NAME``, ``/proc/PID/ns/net``, a runtime's netns file); the labels the table
shows (``ns:INODE``, ``podman:ID``, ``ns of pid N``) are taken too (core.netns.match).
Several may be given, comma-separated; a quoted one (``"web-a,b"``) is one, and so is the
whole value when it names an existing ``ip netns`` name or path (``ip netns add 'web-a,b'``).
A named, PID or PATH namespace is fixed when the run starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import AccessDenied, UsageError
from core.netns.discover import Discoverer, Discovery
from core.netns.match import Chosen, Matcher
from core.netns.options import ALL, CURRENT, words

if TYPE_CHECKING:
    from core.connections.sources.inet_diag import InetDiagDumper
    from core.netns.reader import NamespaceSet

Wanted = Callable[[Discovery], set[int]]


def resolve(text: str, proc: str = "/proc") -> tuple[Wanted, Discoverer]:
    """The chooser of inodes for ``text`` (checked) and the discoverer it was resolved with.

    Raises:
        UsageError: a word that matches no namespace, or digits that match several.
        NotVisible: what a word names cannot be told by this user (exit 1).
    """
    discoverer = Discoverer(proc)
    if text == ALL:
        return (lambda found: set(found.namespaces)), discoverer
    if text == CURRENT:
        own = discoverer.own
        return (lambda _found: {own}), discoverer
    found = discoverer.discover()
    matcher = Matcher(found, proc)
    parts = words(text)
    keys = matcher.exact(text) if parts != [text] else None
    if keys is None:
        keys = set()
        for part in parts:
            keys |= matcher.choose(part)
    return Chosen(keys, found), discoverer


def namespace_dumps(netns: str | None, *, tcp_info: bool) -> NamespaceSet | None:
    """What the netlink source should read for ``--netns`` (None: its own namespace only).

    Raises:
        UsageError: a name, PID or path that matches no namespace (or digits several).
        NotVisible: what it names cannot be told by this user (exit 1).
        NamespaceUnreadable: a namespace it names cannot be read at all (exit 1).
    """
    if netns is None or netns == CURRENT:
        return None
    if not readable_here():
        if netns == ALL:
            return None  # every namespace this host lets tcpscope read: its own
        raise UsageError("--netns: reading other network namespaces needs Linux")
    from core.netns.reader import NamespaceSet  # the netlink stack: only when sampling

    wanted, discoverer = resolve(netns)
    dumps = NamespaceSet(wanted, selection=netns, tcp_info=tcp_info, discoverer=discoverer)
    if netns != ALL:
        dumps.check()  # before a recording is written or metrics served, as connections ends
    return dumps


def readable_here(proc: str = "/proc") -> bool:
    """Whether this system has network namespaces tcpscope can tell apart (Linux with
    ``/proc/self/ns/net``): elsewhere (macOS, Windows) there is one view, its own."""
    return sys.platform.startswith("linux") and os.path.exists(f"{proc}/self/ns/net")


def sock_diag_in(netns: int | None, *, tcp_info: bool = False) -> InetDiagDumper:
    """A sock_diag dumper inside the namespace of a connection's ``netns`` (None: tcpscope's
    own), for acting on one socket there (exact queries, SOCK_DESTROY).

    Raises:
        UsageError: the namespace is gone.
        AccessDenied: entering it needs CAP_SYS_ADMIN.
    """
    from functools import partial

    from core.connections.sources.inet_diag import InetDiagDumper, open_sock_diag
    from core.netns.setns import run_in

    if netns is None:
        return InetDiagDumper(tcp_info=tcp_info)
    if netns < 0:  # a stand-in key (core.netns.discover): its processes' ns/net is unreadable
        raise AccessDenied(
            "its network namespace could not be identified (another user's process's "
            "/proc/PID/ns/net): entering it needs ptrace access and CAP_SYS_ADMIN"
        )
    found = Discoverer().discover().namespaces.get(netns)
    path = found.path if found is not None else None
    if path is None:
        raise UsageError(f"network namespace {netns} is gone")
    return InetDiagDumper(tcp_info=tcp_info, socket_factory=partial(run_in, path, open_sock_diag))
