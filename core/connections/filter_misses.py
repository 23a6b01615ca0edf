"""What a filter's ``ns:``/``container:`` values fail to name, and a ``pid:0`` that Linux
never gives, said rather than silent.

Why a module of its own: :mod:`core.connections.query` parses and matches a filter; this
tells, after a sample, which namespace values no shown namespace answers to and why (a
typo, a namespace this user cannot read), and why PID 0 matches nothing here, for the TUI's
toast and a one-shot's notes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.connections.filter_words import quoted
from core.connections.model import TcpConnection
from core.connections.namespaces import (
    UNMATCHED_WAY_IN,
    NamespaceInfo,
    NamespaceView,
    ReadBy,
    label,
    no_view_reason,
)
from core.connections.owner_cells import NO_PID_ZERO_ON_LINUX
from core.connections.query import Query, Token, namespace_test
from core.textsafe import composed, printable


@dataclass(frozen=True, slots=True)
class NamespaceMisses:
    """What :func:`namespace_misses` found: lines to tell, and whether they empty the table."""

    lines: tuple[str, ...] = ()
    empties: bool = False
    """A word none of whose values any namespace answers to, not negated: it keeps no row
    (only then is it told as "matches nothing"; a negated one excludes nothing, and one
    value of an OR list leaves the others' rows)."""


def namespace_misses(
    query: Query, view: NamespaceView | None, source: str | None = None
) -> NamespaceMisses:
    """One line per ``ns:``/``container:`` value no namespace the table shows answers to.

    Why: such a word empties the table as a typo does, with no word of why (``state:`` and
    ``port:`` values are refused when parsed; namespaces come and go, so these are only
    told). A value that names only namespaces not read (another user's, as a user without
    CAP_SYS_ADMIN) keeps no row either: it is told why, not counted as a hit.

    Without a view: ``source`` is the sample's, which looks up no namespace (``--netns
    current``, psutil), so every value misses and is told why; None: no sample yet, the
    namespaces are not known, nothing is told."""
    if view is None:
        return NamespaceMisses() if source is None else _unviewed_misses(query, source)
    read = [i for i in view.namespaces if i.read_by is not ReadBy.UNREADABLE]
    unread = [i for i in view.present if i.read_by is ReadBy.UNREADABLE]
    lines = []
    empties = False
    for token, key, what in _namespace_words(query):
        missed = [item for item in token.values if not any(map(namespace_test(key, (item,)), read))]
        for item in missed:
            named = [i for i in unread if namespace_test(key, (item,))(i)]
            word = f"{key}:{quoted(item)}"  # as typed back: ``ns:'a,b'`` is one value
            if named:
                why = f"{word} names a {what} not read: {_why_unread(named[0], view)}"
                lines.append(f"-{word} excludes nothing: {why}" if token.negated else why)
            elif token.negated:
                shown = _shown(key, item, view)
                lines.append(f"-{word} excludes nothing: no {what} here answers to it{shown}")
            else:
                lines.append(f"{word} matches no {what} here{_shown(key, item, view)}")
        empties = empties or (not token.negated and len(missed) == len(token.values))
    return NamespaceMisses(tuple(lines), empties)


def _unviewed_misses(query: Query, source: str) -> NamespaceMisses:
    """Every ``ns:``/``container:`` value of a sample of ``source`` that looked up no
    namespace: no row has one to answer (the same reason JSON gives for the column)."""
    why = no_view_reason(source)
    lines = []
    empties = False
    for token, key, what in _namespace_words(query):
        for item in token.values:
            word = f"{key}:{quoted(item)}"
            if token.negated:
                lines.append(f"-{word} excludes nothing: namespaces {why}")
            else:
                lines.append(f"{word} matches no {what}: namespaces {why}")
        empties = empties or not token.negated
    return NamespaceMisses(tuple(lines), empties)


def _namespace_words(query: Query) -> Iterator[tuple[Token, str, str]]:
    """Each ``ns:``/``container:`` word of ``query``, its key and what it names."""
    for token in query.tokens:
        key = token.key
        if token.ns_test is not None and key is not None:
            yield token, key, "container" if key == "container" else "network namespace"


def _why_unread(info: NamespaceInfo, view: NamespaceView) -> str:
    """Why ``info`` was not read, in one line; for an unmatched nsfs file, which shown
    namespaces it may be (their label is what ``ns:`` takes for them)."""
    if not info.unmatched:
        return composed(info.reason or "no way in")
    stand_ins = [printable(quoted(label(i, view))) for i in view.present if i.stand_in]
    more = ", …" if len(stand_ins) > 3 else ""
    maybe = f"; it may be one shown as {', '.join(stand_ins[:3])}{more}" if stand_ins else ""
    return f"{UNMATCHED_WAY_IN}{maybe}"


def _shown(key: str, item: str, view: NamespaceView) -> str:
    """`` (shown: A, B, …)``: the labels the table shows that ``key`` takes, the few first,
    each quoted as the filter takes it (``'a,b'`` is one name, not two); for ``container:``,
    the containers' only (an ``ip netns`` name is no container's), and a word when ``ns:``
    would have taken ``item``."""
    only_container = key == "container"
    labels = [
        printable(quoted(label(info, view)))
        for info in view.present
        if not info.unmatched and (info.container is not None or not only_container)
    ]
    more = ", …" if len(labels) > 4 else ""
    shown = f" (shown: {', '.join(labels[:4])}{more})" if labels else ""
    if only_container and not labels:
        shown = " (no container is shown)"
    if only_container and any(map(namespace_test("ns", (item,)), view.namespaces)):
        shown += f"; ns:{quoted(item)} names a network namespace"
    return shown


def linux_source(source: str) -> bool:
    """Whether ``source`` (a snapshot's) reads a Linux kernel: netlink, or psutil on Linux."""
    return source == "netlink" or (source == "psutil" and sys.platform == "linux")


def pid_zero_miss(
    asked: str, source: str, conns: Iterable[TcpConnection], *, time_wait: str
) -> str | None:
    """``ASKED matches no connection: why`` when ``asked`` (``--owning-process 0``,
    ``pid:0``) asked a Linux ``source`` for PID 0, which it gives no socket: a socket no
    process holds has no PID there (Windows says 0). None elsewhere, or when a connection
    has PID 0 after all (a recording of another system's).

    ``time_wait``: what lists the TimeWait sockets where the asker is, ``--state TimeWait``
    on the command line, ``state:timewait`` in the app's filter input (the app named the
    flag, which its filter does not take)."""
    if not linux_source(source) or any(c.owning_process == 0 for c in conns):
        return None
    why = NO_PID_ZERO_ON_LINUX.format(time_wait=time_wait)
    return f"{asked} matches no connection: {why}"
