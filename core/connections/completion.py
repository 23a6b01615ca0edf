"""Tab completion of filter words: field names, then values for the field, UI-free.

Why in core: what may follow ``state:`` or ``proc:`` is the filter language's business
(:mod:`core.connections.query`), and the candidates come from the connections on screen, so
this is tested without a terminal. The TUI only applies the result to its input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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


def _word_at(text: str, cursor: int) -> tuple[int, int]:
    start = text.rfind(" ", 0, cursor) + 1
    end = text.find(" ", cursor)
    return start, len(text) if end < 0 else end


def complete(text: str, cursor: int, values: Mapping[str, tuple[str, ...]]) -> Completion:
    """Complete the word under ``cursor``: a field name, or the value after ``field:``.

    A single candidate is filled in whole (a field gets its ``:``); several fill in their
    common prefix and are returned as choices; none leaves the line as it was.
    """
    cursor = max(0, min(cursor, len(text)))
    start, end = _word_at(text, cursor)
    word = text[start:cursor]
    sign = word[:1] if word[:1] in NEGATIONS else ""
    body = word[len(sign) :]
    key, sep, value = body.partition(":")
    if sep and key.lower() in FILTER_KEYS:
        head, _, piece = value.rpartition(",")
        prefix = f"{sign}{key}:{head + ',' if head else ''}"
        options = values.get(key.lower(), ())
        found = [v for v in options if v.casefold().startswith(piece.casefold())]
        whole = [prefix + v for v in found]
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
        new_word = prefix + found[0] + one_suffix
    else:
        common = _common_prefix([f.casefold() for f in found])
        new_word = prefix + (found[0][: len(common)] if len(common) > len(piece) else piece)
    new_text = text[:start] + new_word + text[end:]
    return Completion(new_text, start + len(new_word), tuple(whole))
