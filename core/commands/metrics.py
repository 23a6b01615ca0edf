"""``tcpscope metrics [--listen ADDR:PORT] [--top N] [--interval S] [--no-ipsec]``.

Serves the sampler's connection and IPsec figures to Prometheus. Headless (no Textual), so it
runs as a service. The global flags choose the data as for the app (``--source``,
``--provider``, ``--vici``, ``--demo``); a recording is no live host, so ``--replay`` is
refused. Mounted in ``tui/cli.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from core.commands.arg_types import seconds_between, whole_between
from core.commands.feeds import FeedOptions, make_feed, options_from_args
from core.errors import UsageError
from core.given import Once
from core.metrics import DEFAULT_HOST, DEFAULT_PORT, parse_listen, series_bound
from core.sampling import MAX_INTERVAL_S, MIN_INTERVAL_S

if TYPE_CHECKING:  # prometheus_client is imported only when the command runs
    from core.connections import Snapshot
    from core.ipsec import IpsecView
    from core.metrics import ServingProcess, SnapshotCollector

DEFAULT_TOP: Final = 20
MAX_TOP: Final = 500
EXIT_RUNTIME: Final = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``metrics`` sub-command's options (checked in :func:`run`)."""
    parser.add_argument(
        "--listen",
        action=Once,
        default=f"{DEFAULT_HOST}:{DEFAULT_PORT}",
        metavar="ADDR:PORT",
        help=f"where to serve /metrics (default {DEFAULT_HOST}:{DEFAULT_PORT}; "
        "a missing address means loopback, port 0 picks a free one)",
    )
    parser.add_argument(
        "--top",
        action=Once,
        type=whole_between(0, MAX_TOP, "--top"),
        default=DEFAULT_TOP,
        metavar="N",
        help=f"processes (by connection count) that keep their own label; the rest are "
        f'process="other" (default {DEFAULT_TOP}, at most {MAX_TOP})',
    )
    parser.add_argument(
        "--interval",
        action=Once,
        marker="after",  # the top-level --interval too: refused (arg_types.BEFORE_AND_AFTER)
        dest="metrics_interval",
        type=seconds_between(MIN_INTERVAL_S, MAX_INTERVAL_S),
        default=None,
        metavar="S",
        help="seconds between samples (default: the global one)",
    )
    parser.add_argument(
        "--no-ipsec",
        dest="metrics_no_ipsec",
        action="store_true",
        help="do not sample IPsec counters",
    )


def _options(args: argparse.Namespace) -> FeedOptions:
    if getattr(args, "replay", None) is not None:
        raise UsageError("metrics serves a live host; --replay is not supported here")
    return options_from_args(
        args,
        every_tcp_info=True,  # the per-process byte counters read every connection's tcp_info
        interval_s=args.metrics_interval,
        ipsec=not args.metrics_no_ipsec,
    )


class _Publisher:
    """Builds the families of each sample and hands them to the HTTP process; logs why an
    IPsec provider is down (stderr, once per change). A provider whose read is merely late
    keeps its last answer for a few samples first (:class:`core.metrics.LateReadGrace`).

    Why one lock over building and publishing: connection samples and IPsec views arrive on
    two worker threads; a set built before another but published after it would be served
    last, and its counters would go back (Prometheus reads a reset).
    """

    def __init__(self, collector: SnapshotCollector, endpoint: ServingProcess) -> None:
        from core.metrics import LateReadGrace, ProviderStateLog

        self._collector = collector
        self._endpoint = endpoint
        self._states = ProviderStateLog()
        self._grace = LateReadGrace()
        self._ordered = threading.Lock()

    def _log(self, view: IpsecView | None) -> None:
        if view is None:
            return
        for line in self._states.note(view):
            print(line, file=sys.stderr, flush=True)

    def snapshot(self, snap: Snapshot) -> None:
        with self._ordered:
            if snap.ipsec is not None:
                snap = replace(snap, ipsec=self._grace.apply(snap.ipsec))
            self._log(snap.ipsec)
            self._endpoint.publish(self._collector.update(snap))

    def ipsec(self, view: IpsecView) -> None:
        with self._ordered:
            view = self._grace.apply(view)
            self._log(view)
            families = self._collector.update_ipsec(view)
            if families is not None:
                self._endpoint.publish(families)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 then, 1 when the address cannot be bound."""
    from core.metrics import ServingProcess, SnapshotCollector, bind_listener, serve_until_signal

    address = parse_listen(args.listen)
    top: int = args.top
    options = _options(args)
    try:
        server = bind_listener(address)
    except OSError as exc:
        print(f"tcpscope: cannot listen on {address}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_RUNTIME
    endpoint = ServingProcess(server)  # forks: before the feed starts any thread
    try:
        feed = make_feed(options)
        print(
            f"tcpscope: serving metrics on http://{endpoint.address}/metrics "
            f"(at most {series_bound(top)} tcpscope_connections series a network namespace)",
            flush=True,
        )
        updates = _Publisher(SnapshotCollector(top), endpoint)
        asyncio.run(serve_until_signal(feed, updates))
    finally:
        endpoint.close()
    return 0
