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
from typing import Final

from core.commands.feeds import FeedOptions, make_feed
from core.errors import UsageError
from core.metrics.connections import series_bound
from core.metrics.listen import DEFAULT_HOST, DEFAULT_PORT, parse_listen
from core.sampling.sampler import check_interval

DEFAULT_TOP: Final = 20
MAX_TOP: Final = 500
EXIT_RUNTIME: Final = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``metrics`` sub-command's options (checked in :func:`run`)."""
    parser.add_argument(
        "--listen",
        default=f"{DEFAULT_HOST}:{DEFAULT_PORT}",
        metavar="ADDR:PORT",
        help=f"where to serve /metrics (default {DEFAULT_HOST}:{DEFAULT_PORT}; "
        "a missing address means loopback, port 0 picks a free one)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"processes (by connection count) that keep their own label; the rest are "
        f'process="other" (default {DEFAULT_TOP}, at most {MAX_TOP})',
    )
    parser.add_argument(
        "--interval",
        dest="metrics_interval",
        type=float,
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
    interval = args.metrics_interval
    if interval is None:
        interval = getattr(args, "interval", 1.0)
    return FeedOptions(
        source=getattr(args, "source", "auto"),
        interval_s=check_interval(float(interval)),
        ghost_ttl_s=getattr(args, "ghost_ttl", 5.0),
        ipsec=not (args.metrics_no_ipsec or getattr(args, "no_ipsec", False)),
        provider=getattr(args, "provider", "auto"),
        vici=getattr(args, "vici", None),
        demo=bool(getattr(args, "demo", False)),
        seed=getattr(args, "seed", 1),
        redact=bool(getattr(args, "redact", False)),
        every_tcp_info=True,  # the per-process byte counters read every connection's tcp_info
    )


def _top(value: int) -> int:
    if not 0 <= value <= MAX_TOP:
        raise UsageError(f"--top must be between 0 and {MAX_TOP}, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 then, 1 when the address cannot be bound."""
    from core.metrics.exposition import Exposition
    from core.metrics.server import open_endpoint, serve_until_signal

    address = parse_listen(args.listen)
    top = _top(args.top)
    feed = make_feed(_options(args))
    exposition = Exposition(top)
    try:
        endpoint = open_endpoint(address, exposition)
    except OSError as exc:
        asyncio.run(feed.aclose())
        print(f"tcpscope: cannot listen on {address}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_RUNTIME
    print(
        f"tcpscope: serving metrics on http://{endpoint.address}/metrics "
        f"(at most {series_bound(top)} tcpscope_connections series)",
        flush=True,
    )
    # The HTTP threads share the GIL with the sampler and update threads, which run pure
    # Python for most of a sample at 50k sockets: hand the GIL over every 1 ms (not 5) so a
    # scrape never queues long behind them.
    sys.setswitchinterval(0.001)
    try:
        asyncio.run(serve_until_signal(feed, exposition.update))
    finally:
        endpoint.close()
    return 0
