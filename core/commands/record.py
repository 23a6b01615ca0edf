"""``tcpscope record FILE|- [--interval S] [--duration S | --samples N] [--no-ipsec] [--force]``.

Why headless: recordings are made on servers over SSH (``ssh host tcpscope record - > f``), so
this path imports no Textual. It samples with the same feed the app would use (live, ``--demo``
or ``--replay`` — the latter re-records a file, e.g. with ``--redact`` to share it), writes with
:class:`core.recording.writer.RecordingWriter`, flushes every couple of seconds and closes the
file cleanly on SIGINT/SIGTERM. The lead mounts :func:`add_arguments` / :func:`run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

from core.commands.feeds import FeedOptions, make_feed
from core.connections.snapshot import Snapshot
from core.errors import RecordingError, UsageError
from core.recording.format import (
    FLUSH_EVERY_S,
    FORMAT_VERSION,
    RecordingHeader,
    tcpscope_version,
    this_host,
)
from core.recording.writer import RecordingWriter
from core.sampling.sampler import check_interval


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``record`` sub-command's options (checked in :func:`run`)."""
    parser.add_argument("file", metavar="FILE", help="where to write ('-' for stdout)")
    parser.add_argument(
        "--interval",
        dest="record_interval",
        type=float,
        default=None,
        metavar="S",
        help="seconds between samples (default: the global one)",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )
    stop.add_argument("--samples", type=int, default=None, metavar="N", help="stop after N samples")
    parser.add_argument(
        "--no-ipsec",
        dest="record_no_ipsec",
        action="store_true",
        help="do not record IPsec counters",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    from core.commands.connections import add_netns_argument

    add_netns_argument(parser, default=argparse.SUPPRESS)


def _options(args: argparse.Namespace) -> FeedOptions:
    interval = args.record_interval
    if interval is None:
        interval = getattr(args, "interval", 1.0)
    return FeedOptions(
        source=getattr(args, "source", "auto"),
        netns=getattr(args, "netns", "all"),
        interval_s=check_interval(float(interval)),
        ghost_ttl_s=getattr(args, "ghost_ttl", 5.0),
        ipsec=not (args.record_no_ipsec or getattr(args, "no_ipsec", False)),
        provider=getattr(args, "provider", "auto"),
        vici=getattr(args, "vici", None),
        replay=getattr(args, "replay", None),
        demo=bool(getattr(args, "demo", False)),
        seed=getattr(args, "seed", 1),
        redact=bool(getattr(args, "redact", False)),
    )


def _check_limits(args: argparse.Namespace) -> None:
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, got {args.duration}")
    if args.samples is not None and args.samples < 1:
        raise UsageError(f"--samples must be at least 1, got {args.samples}")


def _open_output(path: str, force: bool) -> BinaryIO:
    if path == "-":
        if sys.stdout.isatty():
            raise UsageError("refusing to write a recording to a terminal; redirect stdout")
        return sys.stdout.buffer
    if os.path.isdir(path):
        raise RecordingError(f"{path}: is a directory")
    try:
        return open(path, "wb" if force else "xb")  # closed by run()
    except FileExistsError:
        raise RecordingError(f"{path}: already exists (use --force to overwrite)") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot write: {exc.strerror or exc}") from None


def header_factory(
    options: FeedOptions, host: str | None = None
) -> Callable[[Snapshot], RecordingHeader]:
    """Builds the header from the first snapshot (source, start, providers it shows)."""
    name, plat = this_host()
    if options.demo:
        from core.demo.scenario import HOST_NAME

        name, plat = HOST_NAME, "synthetic demo host (Windows-like)"
    if host is not None:
        name = host
    elif options.redact:
        from core.recording.redact import Redactor

        name = Redactor().host(name)

    def make(snap: Snapshot) -> RecordingHeader:
        providers = tuple(p.name for p in snap.ipsec.providers) if snap.ipsec else ()
        return RecordingHeader(
            version=FORMAT_VERSION,
            tcpscope=tcpscope_version(),
            host=name,
            platform=plat,
            source=snap.source,
            providers=providers,
            interval_s=snap.interval_s,
            ghost_ttl_s=options.ghost_ttl_s,
            start=snap.started_at,
            redacted=options.redact,
        )

    return make


async def _replayed(options: FeedOptions) -> AsyncIterator[Snapshot]:
    """Every sample of a recording as fast as it can be read (re-recording)."""
    from core.recording.reader import Recording

    assert options.replay is not None
    rec = Recording(options.replay)
    redactor = None
    if options.redact:
        from core.recording.redact import SnapshotRedactor

        redactor = SnapshotRedactor()
    for i in range(len(rec)):
        snap = rec.snapshot(i)
        yield redactor.snapshot(snap) if redactor else snap
        await asyncio.sleep(0)


async def _record(options: FeedOptions, writer: RecordingWriter, args: argparse.Namespace) -> int:
    feed: Any = None
    if options.replay is not None:
        stream = _replayed(options)
    elif options.demo:
        from core.demo import DemoFeed

        feed = DemoFeed(options.seed, interval_s=options.interval_s, ipsec=options.ipsec)
        if options.redact:
            from core.recording.redact import RedactingFeed

            feed = RedactingFeed(feed)
        stream = feed.stream()
    else:
        feed = make_feed(options)
        stream = feed.stream()
    stop = asyncio.Event()
    _on_signals(stop)
    deadline = time.monotonic() + args.duration if args.duration else None
    seen: set[tuple[int, object]] = set()
    last: tuple[int, object] | None = None

    async def consume() -> None:
        nonlocal last
        async for snap in stream:
            writer.write(snap)
            last = (snap.seq, snap.time)
            seen.add(last)
            if args.samples is not None and len(seen) >= args.samples:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
        stop.set()

    async def flusher() -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S / 2)
            writer.flush()

    tasks = [asyncio.create_task(consume()), asyncio.create_task(flusher())]
    waiter = asyncio.create_task(stop.wait())
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) + 0.5
    try:
        await asyncio.wait([waiter, tasks[0]], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*tasks, waiter):
            task.cancel()
        for task in (*tasks, waiter):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if feed is not None:
            await feed.aclose()
    if tasks[0].done() and not tasks[0].cancelled() and tasks[0].exception() is not None:
        raise tasks[0].exception()  # type: ignore[misc]
    return len(seen)


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)


def run(args: argparse.Namespace) -> int:
    """Record until the limit or a signal; 0 on success (errors raise MonitorError)."""
    _check_limits(args)
    options = _options(args)
    out = _open_output(args.file, args.force)
    target = "stdout" if args.file == "-" else args.file
    writer = RecordingWriter(out, header_factory(options))
    print(
        f"tcpscope: recording to {target} every {options.interval_s:g} s; Ctrl-C stops",
        file=sys.stderr,
    )
    samples = 0
    try:
        samples = asyncio.run(_record(options, writer, args))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise RecordingError(f"{target}: write failed: {exc.strerror or exc}") from None
    finally:
        try:
            writer.close()
        except OSError as exc:
            raise RecordingError(f"{target}: write failed: {exc.strerror or exc}") from None
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    print(
        f"tcpscope: recorded {writer.samples_written} samples ({samples} seen), "
        f"{writer.bytes_written} bytes to {target}",
        file=sys.stderr,
    )
    return 0
