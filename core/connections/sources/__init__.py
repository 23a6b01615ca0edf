"""Choosing the connection source: the one place that knows which back-end runs where.

``auto`` means netlink on Linux when the kernel answers a probe dump, psutil otherwise.
Linux-only modules are imported only here, inside :func:`get_source`, so importing
``core.connections.sources`` works on every platform.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from core.errors import MonitorError, UsageError

if TYPE_CHECKING:
    # Types only: the package stays light to import, so a one-shot can start its owner scan
    # (sources.fd_scan) before the sampling code is loaded.
    from core.connections.sources.base import ConnectionSource
    from core.connections.sources.netlink import NamespaceDumps

SOURCE_NAMES: Final = ("auto", "netlink", "psutil")


def get_source(
    name: str = "auto",
    *,
    tcp_info: bool = True,
    probe: bool = True,
    namespaces: NamespaceDumps | None = None,
) -> ConnectionSource:
    """A ready connection source.

    Args:
        name: one of :data:`SOURCE_NAMES`.
        tcp_info: every socket's tcp_info in every sample (netlink); False: only for the
            connections watched (the live app), a fifth less kernel time per sample.
        probe: prove the kernel answers with one dump first (and fall back if not); False
            for a one-shot, whose own first dump is the proof (see core.connections.oneshot).
        namespaces: read these network namespaces (core.netns.select.namespace_dumps)
            instead of only tcpscope's own; netlink only (psutil reads its own namespace
            for ``--netns all`` and refuses named ones).

    Raises:
        UsageError: unknown name; named namespaces without netlink.
        SourceUnavailable, AccessDenied: the named source cannot run here.
    """
    if name not in SOURCE_NAMES:
        raise UsageError(f"unknown source {name!r}; choose one of {', '.join(SOURCE_NAMES)}")
    if name == "netlink" or (name == "auto" and sys.platform.startswith("linux")):
        try:
            return _netlink(tcp_info, probe, namespaces)
        except MonitorError:
            if name == "netlink":
                raise
    if namespaces is not None:
        # psutil lists tcpscope's own namespace only: enough for "all" (every namespace the
        # source can read), not for named ones.
        namespaces.close()
        if not namespaces.reads_all:
            raise UsageError("reading other network namespaces needs the netlink source (Linux)")
    from core.connections.sources.psutil_source import PsutilSource

    return PsutilSource()


def _netlink(
    tcp_info: bool, probe: bool, namespaces: NamespaceDumps | None = None
) -> ConnectionSource:
    """A NetlinkSource (whose kernel answered one probe dump, if ``probe``)."""
    from core.connections.sources.netlink import NetlinkSource
    from core.errors import SourceUnavailable

    if not sys.platform.startswith("linux"):
        raise SourceUnavailable("netlink: sock_diag exists only on Linux")
    source = NetlinkSource(tcp_info=tcp_info, namespaces=namespaces)
    if not probe:
        return source
    try:
        source.probe()
    except MonitorError:
        source.close()
        raise
    return source
