"""``--netns all|current|NAME|PID|PATH``: which network namespaces a run reads.

``all`` (the default of the app, ``connections`` and ``record``) reads every namespace on
the host, which is what someone on a container host expects to see; ``current`` reads only
tcpscope's own, as ``ss`` does. A NAME is an ``ip netns`` name or a container's name or id
(prefix); a PID means that process's namespace; a PATH is an nsfs file
(``/run/netns/NAME``, ``/proc/PID/ns/net``, a runtime's netns file). Several may be given,
comma-separated. A named, PID or PATH namespace is fixed when the run starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from core.errors import AccessDenied, UsageError
from core.netns.cgroups import container_of_pid
from core.netns.discover import NETNS_DIRS, Discoverer, Discovery
from core.netns.names import ContainerNamer
from core.netns.options import ALL, CURRENT

if TYPE_CHECKING:
    from core.connections.sources.inet_diag import InetDiagDumper
    from core.netns.reader import NamespaceSet

Wanted = Callable[[Discovery], set[int]]


_NS_GET_NSTYPE: Final = 0xB703
"""ioctl(2) on an nsfs file (``linux/nsfs.h``): the CLONE_NEW* type of its namespace."""
_CLONE_NEWNET: Final = 0x40000000
NOT_NETNS: Final = (
    "is not a network namespace (give an nsfs file such as /run/netns/NAME or /proc/PID/ns/net)"
)


def _inode_of_path(path: str, proc: str = "/proc") -> int:
    """The inode of the network namespace at ``path``, which must be one.

    Why checked: any file's inode was taken for a namespace's, so a typo or another kind of
    namespace (``/proc/self/ns/mnt``) read as an empty host, exit 0. Only a file on nsfs is
    opened (tcpscope often runs as root: opening an arbitrary device can act on it), then
    asked its namespace type.
    """
    try:
        info = os.stat(path)
        on_nsfs = info.st_dev == os.stat(f"{proc}/self/ns/net").st_dev
    except OSError as err:
        raise UsageError(f"--netns: cannot open {path}: {err.strerror}") from None
    if not on_nsfs:
        raise UsageError(f"--netns: {path} {NOT_NETNS}")
    import fcntl  # POSIX only: this runs where namespaces are (Linux)

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise UsageError(f"--netns: cannot open {path}: {err.strerror}") from None
    try:
        kind = fcntl.ioctl(fd, _NS_GET_NSTYPE)
    except OSError:
        kind = None
    finally:
        os.close(fd)
    if kind != _CLONE_NEWNET:
        raise UsageError(f"--netns: {path} {NOT_NETNS}")
    return info.st_ino


def _by_name(name: str, found: Discovery, proc: str) -> set[int]:
    for directory in NETNS_DIRS:
        path = f"{directory}/{name}"
        if os.path.exists(path):
            return {_inode_of_path(path, proc)}
    namer = ContainerNamer(proc)
    hits: set[int] = set()
    for ns in found.namespaces.values():
        for pid in ns.pids[:8]:
            ref = container_of_pid(pid, proc)
            if ref is None:
                continue
            info = namer.name(ref)
            if info.id.startswith(name) or name in (info.name, info.pod):
                hits.add(ns.inode)
            break
    if not hits:
        raise UsageError(f"--netns: no network namespace or container named {name!r}")
    return hits


def resolve(text: str, proc: str = "/proc") -> tuple[Wanted, Discoverer]:
    """The chooser of inodes for ``text`` (checked) and the discoverer it was resolved with.

    Raises:
        UsageError: a name, PID or path that matches no namespace.
    """
    discoverer = Discoverer(proc)
    if text == ALL:
        return (lambda found: set(found.namespaces)), discoverer
    if text == CURRENT:
        own = discoverer.own
        return (lambda _found: {own}), discoverer
    found = discoverer.discover()
    fixed: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if part.isdigit():
            if not os.path.exists(f"{proc}/{part}"):
                raise UsageError(f"--netns: no process {part}")
            fixed.add(_inode_of_path(f"{proc}/{part}/ns/net", proc))
        elif "/" in part:
            fixed.add(_inode_of_path(part, proc))
        else:
            fixed |= _by_name(part, found, proc)
    return (lambda _found: set(fixed)), discoverer


def namespace_dumps(netns: str | None, *, tcp_info: bool) -> NamespaceSet | None:
    """What the netlink source should read for ``--netns`` (None: its own namespace only).

    Raises:
        UsageError: a name, PID or path that matches no namespace.
    """
    if netns is None or netns == CURRENT:
        return None
    if not readable_here():
        if netns == ALL:
            return None  # every namespace this host lets tcpscope read: its own
        raise UsageError("--netns: reading other network namespaces needs Linux")
    from core.netns.reader import NamespaceSet  # the netlink stack: only when sampling

    wanted, discoverer = resolve(netns)
    return NamespaceSet(wanted, selection=netns, tcp_info=tcp_info, discoverer=discoverer)


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
