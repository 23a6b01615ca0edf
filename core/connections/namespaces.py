"""What tcpscope knows about the network namespaces it shows: UI-free, recordable records.

A connection carries only its namespace's inode (:attr:`TcpConnection.netns`, ``None`` for
the namespace tcpscope runs in); names, containers and readability live here, once per
namespace, in the :class:`NamespaceView` each snapshot carries. Names arrive later than
sockets (they are resolved off the sampler's thread), so a view changes when they do.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from core.textsafe import composed, printable

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.connections.model import TcpConnection


UNMATCHED_WAY_IN = "entering it needs CAP_SYS_ADMIN"
"""The end of :data:`UNMATCHED_REASON`: what a filter note of such a namespace says."""
UNMATCHED_REASON = (
    "no process is seen in it, and it may be one of the namespaces read from /proc/PID/net/tcp "
    "(another user's process's namespace is matched to an nsfs file only by a netns id, "
    f"ip netns set NAME auto, and neither has one); {UNMATCHED_WAY_IN}"
)
"""Why an :attr:`NamespaceInfo.unmatched` nsfs file's namespace was not read."""
STAND_IN_REASON = (
    "not reported: its processes' /proc/PID/ns/net cannot be read (another user's: needs "
    "ptrace access) and no netns id ties it to an nsfs file"
)
"""Why a :attr:`NamespaceInfo.stand_in` namespace has no inode (JSON, detail pane)."""


def key_text(netns: int) -> str:
    """A namespace key as InstanceIDs name it: its inode, or for a stand-in key (negative:
    the PID it was first found through, see core.netns.discover) ``pid17213`` (``pid17213.1``
    when a namespace found through an earlier holder of that PID still lived)."""
    if netns >= 0:
        return str(netns)
    pid, reused = -netns & 0xFFFFFFFF, -netns >> 32
    return f"pid{pid}" + (f".{reused}" if reused else "")


class ReadBy(StrEnum):
    """How a namespace's sockets were read."""

    SOCK_DIAG = "sock_diag"
    """A netlink socket created inside it: every field."""
    PROCFS = "procfs"
    """``/proc/PID/net/tcp{,6}`` (no CAP_SYS_ADMIN): no tcp_info, cookie or interface."""
    UNREADABLE = "unreadable"
    """Not at all: :attr:`NamespaceInfo.reason` says why."""


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """The container (or machine, or pod) whose processes live in a namespace."""

    runtime: str
    """``docker``, ``podman``, ``containerd``, ``cri-o``, ``kubernetes`` or ``nspawn``."""
    id: str
    """The runtime's container id (64 hex digits), or the machine name for nspawn."""
    name: str | None = None
    """Its name, when the runtime's files or API told it; untrusted text."""
    pod: str | None = None
    """``namespace/pod`` for Kubernetes; untrusted text."""


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    """One network namespace as of one sample."""

    inode: int
    """Its key (connections' :attr:`TcpConnection.netns`): its nsfs inode (``lsns``, ``ip netns
    identify``), or a stand-in key (:attr:`stand_in`). Shown: :attr:`own_inode`."""
    current: bool
    """The namespace tcpscope runs in (its connections have ``netns`` None)."""
    read_by: ReadBy
    name: str | None = None
    """``ip netns`` name, when it has one; untrusted text."""
    container: ContainerInfo | None = None
    reason: str | None = None
    """Why it was read by procfs or not at all (one line); a name or path in it is already
    :func:`~core.textsafe.printable` (show it through :func:`~core.textsafe.composed`)."""
    processes: int = 0
    """Host processes living in it."""
    has_sockets: bool = False
    """It held at least one TCP socket in the last sample."""
    stand_in: bool = False
    """:attr:`inode` is a stand-in key, not the namespace's inode: its processes'
    ``/proc/PID/ns/net`` could not be read (another user's), nor matched to an nsfs file."""
    via_pid: int | None = None
    """For a :attr:`stand_in`: a host process in it (the lowest PID), the only handle a user
    has on it (``nsenter -t PID -n`` as root)."""
    unmatched: bool = False
    """An nsfs file's namespace that may be one of the :attr:`stand_in` ones (nothing
    unprivileged tells them apart): not counted as a namespace of its own."""
    gone: bool = False
    """No longer there (its last process ended): kept as last seen only while ghosts of its
    sockets are shown, so they still say where they were; counted nowhere (see
    :func:`core.connections.snapshot.keep_ghost_namespaces`)."""
    learned_inode: int | None = None
    """For a :attr:`stand_in`: the namespace's nsfs inode, learned after its key was given
    (a process of the user's entered it); the key stays, so InstanceIDs do."""
    cookie: int | None = None
    """The namespace's cookie (``SO_NETNS_COOKIE`` of tcpscope's sock_diag socket in it,
    Linux 5.14+): unlike its inode number, never given to another namespace, so it tells
    whether a ghost's namespace is the one now under its key. None: read from procfs or not
    at all, or an older kernel or recording."""
    initial: bool = False
    """The host's initial namespace (PID 1's, see :func:`core.netns.discover.initial_netns`):
    labelled so from inside another one, where it was "another, unnamed"."""

    @property
    def own_inode(self) -> int | None:
        """The namespace's nsfs inode, when known (never a stand-in key)."""
        return self.learned_inode if self.stand_in else self.inode


@dataclass(frozen=True, slots=True)
class NamespaceView:
    """Every namespace a sample looked at, for the header, the column and the JSON."""

    namespaces: tuple[NamespaceInfo, ...]
    """In a stable order: the current namespace first, then by inode."""
    selection: str = "all"
    """What ``--netns`` asked for."""
    hidden_processes: int = 0
    """Processes whose namespace could not be told at all."""

    def index(self) -> dict[int, NamespaceInfo]:
        """The namespaces by inode (build once per view; a view never changes)."""
        return {info.inode: info for info in self.namespaces}

    @property
    def current(self) -> NamespaceInfo | None:
        """The namespace tcpscope runs in, when it was looked at."""
        return next((info for info in self.namespaces if info.current), None)

    def of(self, netns: int | None) -> NamespaceInfo | None:
        """The namespace of a connection's ``netns`` (None: the current one); O(n)."""
        if netns is None:
            return self.current
        return next((info for info in self.namespaces if info.inode == netns), None)

    @property
    def present(self) -> tuple[NamespaceInfo, ...]:
        """The namespaces the sample found: less the :attr:`NamespaceInfo.gone` ones."""
        return tuple(info for info in self.namespaces if not info.gone)

    @property
    def shown(self) -> int:
        """Namespaces whose sockets were read."""
        return sum(info.read_by is not ReadBy.UNREADABLE for info in self.present)

    @property
    def unreadable(self) -> int:
        """Namespaces found but not read (less the :attr:`unmatched` ones)."""
        return sum(
            info.read_by is ReadBy.UNREADABLE and not info.unmatched for info in self.present
        )

    @property
    def unmatched(self) -> int:
        """nsfs files that may or may not be namespaces already counted (NamespaceInfo)."""
        return sum(info.unmatched for info in self.present)

    @property
    def with_sockets(self) -> int:
        """Namespaces that had at least one socket in the last sample."""
        return sum(info.has_sockets for info in self.present)

    def notes(self) -> tuple[str, ...]:
        """One line per kind of namespace not fully read (for the header and stderr)."""
        lines: list[str] = []
        procfs: dict[str, int] = {}
        present = self.present
        for info in present:
            if info.read_by is ReadBy.PROCFS:
                why = info.reason or "entering them for sock_diag needs CAP_SYS_ADMIN"
                procfs[why] = procfs.get(why, 0) + 1
        # A reason may name a namespace's file (escaped where it was made; a recording's
        # may hold anything): shown through composed, never raw on stderr or in the header.
        for why, count in procfs.items():
            lines.append(
                f"{count} network namespace(s) read from /proc/PID/net/tcp without tcp_info: "
                f"{composed(why)}"
            )
        unread = [i for i in present if i.read_by is ReadBy.UNREADABLE and not i.unmatched]
        if unread:
            why = unread[0].reason or "no way in"
            lines.append(f"{len(unread)} network namespace(s) not readable: {composed(why)}")
        loose = [i for i in present if i.unmatched]
        if loose:
            names = ", ".join(printable(i.name or str(i.own_inode)) for i in loose[:3])
            more = ", …" if len(loose) > 3 else ""
            lines.append(
                f"{len(loose)} network namespace file(s) ({names}{more}) not read and not "
                f"counted: {composed(loose[0].reason or UNMATCHED_REASON)}"
            )
        if self.hidden_processes:
            lines.append(
                f"{self.hidden_processes} process(es) whose network namespace could not be "
                "told (their /proc entries are hidden)"
            )
        return tuple(lines)


NETNS_DIR = "/run/netns"
"""Where ``ip netns`` names live: a name is typed back as its path there when the table
qualifies it (``/run/netns/web``)."""


def label(info: NamespaceInfo | None, view: NamespaceView | None = None) -> str:
    """Short display text: the container's name, the ``ip netns`` name, or the inode.

    Given the ``view`` it is shown in, a label another namespace there answers to as well
    (an ``ip netns`` and a container both ``web``) is qualified: ``/run/netns/web``,
    ``podman:web``; each, given to ``--netns``, names only its own (core.netns.match)."""
    if info is None:
        return "?"
    plain = _plain_label(info)
    if view is None or plain not in _clashes(view):
        return plain
    return _qualified_label(info, view)


def _plain_label(info: NamespaceInfo) -> str:
    container = info.container
    if container is not None:
        if container.pod:
            return f"{container.pod}" + (f"/{container.name}" if container.name else "")
        return container.name or f"{container.runtime}:{container.id[:12]}"
    if info.name:
        return info.name
    if info.current:
        return "(this)"
    inode = info.own_inode
    if inode is not None:
        return f"ns:{inode}"
    return f"ns of pid {info.via_pid}" if info.via_pid is not None else "ns:?"


def _qualified_label(info: NamespaceInfo, view: NamespaceView) -> str:
    """A clashing label made one only this namespace answers to: ``RUNTIME:NAME`` (the
    container's id when another of its runtime answers to the name), ``/run/netns/NAME``."""
    container = info.container
    if container is not None:
        plain = _plain_label(info)
        if not plain.startswith(f"{container.runtime}:"):
            answer = _Answers.of(view).who(plain)
            if all(
                (c := other.container) is None or c.runtime != container.runtime
                for other in answer
                if other.inode != info.inode
            ):
                return f"{container.runtime}:{plain}"
        return f"{container.runtime}:{container.id}"
    if info.name:
        return f"{NETNS_DIR}/{info.name}"
    return _plain_label(info)


class _Answers:
    """Which namespaces of one view a ``--netns`` name may name (core.netns.match): by
    label, ``ip netns`` name, container name or pod, or a prefix of the container's id."""

    _last: _Answers | None = None

    def __init__(self, view: NamespaceView) -> None:
        self.view = view
        self._by_word: dict[str, list[NamespaceInfo]] = {}
        ids: list[tuple[str, int]] = []
        for n, info in enumerate(view.namespaces):
            c = info.container
            words = {_plain_label(info), info.name}
            if c is not None:
                words |= {c.name, c.pod, f"{c.pod}/{c.name}" if c.pod and c.name else None}
                ids.append((c.id, n))
            for word in words - {None}:
                self._by_word.setdefault(word, []).append(info)  # type: ignore[arg-type]
        self._ids = sorted(ids)
        self.clashing = frozenset(
            plain
            for info in view.namespaces
            if info.container is not None or info.name
            for plain in [_plain_label(info)]
            if len({i.inode for i in self.who(plain)}) > 1
        )

    @classmethod
    def of(cls, view: NamespaceView) -> _Answers:
        """Those of ``view`` (the last view's kept: a table draws many rows of one)."""
        last = cls._last
        if last is None or last.view is not view:
            last = cls._last = cls(view)
        return last

    def who(self, word: str) -> list[NamespaceInfo]:
        """The namespaces ``word`` may name."""
        found = list(self._by_word.get(word, ()))
        at = bisect.bisect_left(self._ids, (word, -1))
        while at < len(self._ids) and self._ids[at][0].startswith(word):
            found.append(self.view.namespaces[self._ids[at][1]])
            at += 1
        return found


def _clashes(view: NamespaceView) -> frozenset[str]:
    """The plain labels of ``view`` that more than one of its namespaces answers to."""
    return _Answers.of(view).clashing


def namespace_words(info: NamespaceInfo, container_only: bool = False) -> str:
    """Lower-case text the ``ns:`` and ``container:`` filters search in, each name as the
    table shows it (:func:`core.textsafe.printable`).

    Why every label :func:`label` may show, qualified ones too (whether or not they clash
    in this view): ``ns:/run/netns/web`` and ``ns:podman:web``, the column's labels of an
    ``ip netns`` and a container both ``web``, kept no row, so neither could be singled out."""
    c = info.container
    words = [c.runtime, c.id, c.name or "", c.pod or ""] if c is not None else []
    if c is not None:
        words += [f"{c.runtime}:{_plain_label(info)}", f"{c.runtime}:{c.id}"]
    if not container_only:
        inode = info.own_inode
        words += [label(info), info.name or "", "" if inode is None else str(inode)]
        if info.name:
            words.append(f"{NETNS_DIR}/{info.name}")
        if info.current:
            words.append("current")
    return "\n".join(map(printable, words)).casefold()


_index_for: tuple[NamespaceView, dict[int, NamespaceInfo]] | None = None


def namespace_in(netns: int | None, view: NamespaceView) -> NamespaceInfo | None:
    """The namespace of a connection's ``netns`` (None: tcpscope's own) as ``view`` has it."""
    global _index_for
    cached = _index_for
    if cached is None or cached[0] is not view:
        cached = _index_for = (view, view.index())
    if netns is None:
        return view.current
    return cached[1].get(netns)


def namespace_of(conn: TcpConnection, view: NamespaceView) -> NamespaceInfo | None:
    """The namespace ``conn`` lives in, as ``view`` describes it."""
    return namespace_in(conn.netns, view)


def ghost_namespace(kept: NamespaceInfo, live: NamespaceInfo | None) -> NamespaceInfo:
    """The namespace a ghost shows: ``kept``, the one it was in when last seen open
    (:attr:`core.connections.snapshot.Ghost.namespace`), beside ``live``, what the view
    now has under the same key.

    Why not ``live`` alone: nsfs inode numbers are reused at once (the kernel hands out the
    lowest free one), so a namespace made after a container was killed often gets its
    number, and by its key the killed container's ghost read as the new one's. ``live`` is
    taken only when it is provably the same namespace (the same
    :attr:`NamespaceInfo.cookie`: fresher names, counts); ``kept`` is marked
    :attr:`~NamespaceInfo.gone` when the key names no namespace now, or a provably other one.
    Otherwise (no cookie: read from procfs, not read, an older recording) ``kept`` as it
    was: possibly alive still, never another's."""
    if live is not None and not live.gone:
        if kept.cookie is None or live.cookie is None:
            return kept
        if kept.cookie == live.cookie:
            # The same namespace, fresher; but `ip netns del` after its process ended (or a
            # container's files removed) takes the name it had while the ghost's socket was
            # open: the ghost keeps saying where it was, and `ns:NAME` keeps matching it.
            if live.name is None and live.container is None:
                return replace(live, name=kept.name, container=kept.container)
            return live
    if kept.gone:
        return kept
    return replace(kept, gone=True, processes=0, has_sockets=False)


def shown_namespace(
    netns: int | None, view: NamespaceView | None, kept: NamespaceInfo | None = None
) -> NamespaceInfo | None:
    """The namespace a row shows: a ghost's own (``kept``, see :func:`ghost_namespace`),
    else what ``view`` has under ``netns``."""
    live = None if view is None else namespace_in(netns, view)
    return live if kept is None else ghost_namespace(kept, live)


def namespace_finder(
    view: NamespaceView | None,
) -> Callable[[TcpConnection], NamespaceInfo | None]:
    """:func:`namespace_of` for many connections of one ``view`` (a filter over every row):
    its index built once, no look-up of the module's cache per row; None without a view."""
    if view is None:
        return _no_namespace
    index, current = view.index(), view.current

    def find(conn: TcpConnection) -> NamespaceInfo | None:
        return current if conn.netns is None else index.get(conn.netns)

    return find


def _no_namespace(_conn: TcpConnection) -> NamespaceInfo | None:
    return None


def container_doc(container: ContainerInfo | None) -> dict[str, object] | None:
    """The container object of the JSON (None when the namespace is no container's)."""
    if container is None:
        return None
    return {
        "runtime": printable(container.runtime),
        "id": printable(container.id),
        "name": None if container.name is None else printable(container.name),
        "pod": None if container.pod is None else printable(container.pod),
    }


def namespace_doc(netns: int | None, view: NamespaceView) -> dict[str, object]:
    """``tcpscope.namespace``: inode (null, with the reason, for a stand-in), name, how it
    was read, container."""
    info = namespace_in(netns, view)
    if info is None:
        return {"inode": netns if netns is None or netns >= 0 else None, "name": None,
                "container": None}  # fmt: skip
    inode = info.own_inode
    return {
        "inode": inode,
        "inode_not_reported": STAND_IN_REASON if inode is None else None,
        "via_pid": info.via_pid if info.stand_in else None,
        "name": None if info.name is None else printable(info.name),
        "current": info.current,
        "read_by": info.read_by.value,
        "container": container_doc(info.container),
    }


def no_view_reason(source: str) -> str:
    """Why a snapshot of ``source`` without a :class:`NamespaceView` names no row's namespace
    (JSON's ``not_reported.namespace``): no namespace was looked up, every row is in
    tcpscope's own."""
    if source == "demo":
        return "not reported: the demo host has no network namespaces"
    if source == "psutil":
        return (
            "not reported: the psutil source reads only tcpscope's own network namespace "
            "and does not identify it"
        )
    return (
        "not looked up: only tcpscope's own network namespace was read (--netns current, "
        "or a system without network namespaces), so every row is in it"
    )


def namespace_text(netns: int | None, view: NamespaceView | None) -> str:
    """The Namespace column: container or ``ip netns`` name, printable."""
    if view is None:
        return ""
    return printable(label(namespace_in(netns, view), view))
