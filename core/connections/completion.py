"""Tab completion of filter words: field names, then values for the field, UI-free.

Why in core: what may follow ``state:`` or ``proc:`` is the filter language's business
(:mod:`core.connections.query`), and the candidates come from the connections on screen, so
this is tested without a terminal. The TUI only applies the result to its input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.connections.filter_words import last_value, quoted, word_span
from core.connections.model import ProcessInfo, TcpConnection
from core.connections.namespaces import NamespaceView, namespace_in, namespace_text
from core.connections.query import FILTER_KEYS, NEGATIONS
from core.connections.seed_tables import ENUMS
from core.connections.services import service_name
from core.textsafe import printable


@dataclass(frozen=True, slots=True)
class Completion:
    """What Tab does to the line: the new text, the new cursor, and the choices left."""

    text: str
    cursor: int
    choices: tuple[str, ...]
    """Every candidate for the word (several: the user types more or presses Tab again)."""


def field_values(
    conns: Iterable[TcpConnection],
    processes: Mapping[int, ProcessInfo],
    namespaces: NamespaceView | None = None,
) -> dict[str, tuple[str, ...]]:
    """Values worth offering per field, from the connections on screen (sorted); names as
    the table shows them (:func:`core.textsafe.printable`), which is what the filter matches
    and never puts a control character into the input. ``ns:`` and ``container:`` offer the
    Namespace column's labels (``/run/netns/web``, ``podman:web`` where two share a name),
    given the ``namespaces`` the rows are in."""
    states = tuple(v.name.lower() for v in ENUMS["State"].every)
    ports: set[int] = set()
    addresses: set[str] = set()
    pids: set[int] = set()
    keys: set[int | None] = set()
    for conn in conns:
        ports.update((conn.local_port, conn.remote_port))
        addresses.update((conn.local_address, conn.remote_address))
        keys.add(conn.netns)
        if conn.owning_process is not None:
            pids.add(conn.owning_process)
    ports.discard(0)
    named = {service_name(p) for p in ports}
    port_words = sorted({str(p) for p in ports} | {n for n in named if n})
    procs = {printable(p.name) for p in processes.values() if p.name and p.pid in pids}
    users = {printable(p.username) for p in processes.values() if p.username and p.pid in pids}
    return {
        "state": states,
        "port": tuple(port_words),
        "lport": tuple(port_words),
        "rport": tuple(port_words),
        "addr": tuple(sorted(addresses)),
        "laddr": tuple(sorted(addresses)),
        "raddr": tuple(sorted(addresses)),
        "pid": tuple(str(p) for p in sorted(pids)),
        "proc": tuple(sorted(procs, key=str.casefold)),
        "user": tuple(sorted(users, key=str.casefold)),
        **_namespace_values(keys, namespaces),
    }


def _namespace_values(
    keys: Iterable[int | None], view: NamespaceView | None
) -> dict[str, tuple[str, ...]]:
    """``ns:`` and ``container:`` values: the labels of the rows' namespaces as shown."""
    if view is None:
        return {}
    labels: set[str] = set()
    boxes: set[str] = set()
    for key in keys:
        info = namespace_in(key, view)
        if info is None:
            continue
        shown = namespace_text(key, view)
        labels.add(shown)
        if info.container is not None:
            boxes.add(shown)
    return {
        "ns": tuple(sorted(labels, key=str.casefold)),
        "container": tuple(sorted(boxes, key=str.casefold)),
    }


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _opened(value: str) -> str:
    """``value`` as the start of a filter value: quoted as :func:`quoted` would, the closing
    quote left off when more is to come (``'two words ``)."""
    written = quoted(value)
    return written[:-1] if value and written != value else written


def complete(text: str, cursor: int, values: Mapping[str, tuple[str, ...]]) -> Completion:
    """Complete the word under ``cursor``: a field name, or the value after ``field:``.

    A single candidate is filled in whole (a field gets its ``:``); several fill in their
    common prefix and are returned as choices; none leaves the line as it was. A value is
    written as the filter reads it back as one (:func:`core.connections.filter_words.quoted`:
    a name with a space or comma in quotes), and a quoted one is completed too.
    """
    cursor = max(0, min(cursor, len(text)))
    start, end = word_span(text, cursor)
    word = text[start:cursor]
    sign = word[:1] if word[:1] in NEGATIONS else ""
    body = word[len(sign) :]
    key, sep, value = body.partition(":")
    if sep and key.lower() in FILTER_KEYS:
        head, piece = last_value(value)
        prefix = f"{sign}{key}:{head}"
        options = values.get(key.lower(), ())
        found = [v for v in options if v.casefold().startswith(piece.casefold())]
        whole = [prefix + quoted(v) for v in found]
        one_suffix = ""
    elif sep:
        return Completion(text, cursor, ())
    else:
        found = [k for k in FILTER_KEYS if k.startswith(body.lower())]
        whole = [f"{sign}{k}:" for k in found]
        prefix, piece, one_suffix = sign, body, ":"
    if not found:
        return Completion(text, cursor, ())
    if len(found) == 1:
        new_word = prefix + (quoted(found[0]) if sep else found[0]) + one_suffix
    else:
        common = _common_prefix([f.casefold() for f in found])
        if len(common) <= len(piece):
            new_word = word  # nothing to add: the word stays as typed, quotes and all
        else:
            shared = found[0][: len(common)]
            new_word = prefix + (_opened(shared) if sep else shared)
    new_text = text[:start] + new_word + text[end:]
    return Completion(new_text, start + len(new_word), tuple(whole))
