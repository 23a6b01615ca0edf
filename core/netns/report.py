"""The ``tcpscope.namespace`` object of a connection's JSON and the namespace text columns.

Kept apart from core.connections.report so that module only gains a call; looking a
namespace up per row goes through one index per view (a view never changes once built).
"""

from __future__ import annotations

from core.connections.model import TcpConnection
from core.netns.model import ContainerInfo, NamespaceInfo, NamespaceView, label
from core.textsafe import printable

_index_for: tuple[NamespaceView, dict[int, NamespaceInfo]] | None = None


def namespace_of(conn: TcpConnection, view: NamespaceView) -> NamespaceInfo | None:
    """The namespace ``conn`` lives in, as ``view`` describes it."""
    global _index_for
    cached = _index_for
    if cached is None or cached[0] is not view:
        cached = _index_for = (view, view.index())
    if conn.netns is None:
        return view.current
    return cached[1].get(conn.netns)


def container_doc(container: ContainerInfo | None) -> dict[str, object] | None:
    """The container object of the JSON (None when the namespace is no container's)."""
    if container is None:
        return None
    return {
        "runtime": container.runtime,
        "id": container.id,
        "name": container.name,
        "pod": container.pod,
    }


def namespace_doc(conn: TcpConnection, view: NamespaceView) -> dict[str, object]:
    """``tcpscope.namespace``: inode, name, how it was read, container."""
    info = namespace_of(conn, view)
    if info is None:
        return {"inode": conn.netns, "name": None, "container": None}
    return {
        "inode": info.inode,
        "name": info.name,
        "current": info.current,
        "read_by": info.read_by.value,
        "container": container_doc(info.container),
    }


def namespace_text(conn: TcpConnection, view: NamespaceView | None) -> str:
    """The Namespace column: container or ``ip netns`` name, printable."""
    if view is None:
        return ""
    return printable(label(namespace_of(conn, view)))
