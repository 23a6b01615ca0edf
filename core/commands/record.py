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
import dataclasses
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

from core.commands.arg_types import MAX_DURATION_S, seconds_between, whole_between
from core.commands.feeds import FeedOptions, make_feed, options_from_args
from core.commands.record_ipsec import not_recorded
from core.commands.record_output import NewFile, Replacement, check_output_path, open_output
from core.connections import Snapshot
from core.errors import OutputFailed, RecordingError
from core.given import Once
from core.recording import (
    FLUSH_EVERY_S,
    FORMAT_VERSION,
    MAX_SAMPLES,
    Recording,
    RecordingHeader,
    RecordingWriter,
    tcpscope_version,
    this_host,
)
from core.sampling import MAX_INTERVAL_S, MIN_INTERVAL_S, GcPacer
from core.textsafe import printable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``record`` sub-command's options (checked in :func:`run`)."""
    parser.add_argument("file", metavar="FILE", help="where to write ('-' for stdout)")
    parser.add_argument(
        "--interval",
        action=Once,
        marker="after",  # the top-level --interval too: refused (arg_types.BEFORE_AND_AFTER)
        dest="record_interval",
        type=seconds_between(MIN_INTERVAL_S, MAX_INTERVAL_S),
        default=None,
        metavar="S",
        help="seconds between samples (default: the global one)",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument(
        "--duration",
        action=Once,
        type=seconds_between(0.0, MAX_DURATION_S, low_open=True),
        default=None,
        metavar="S",
        help="stop after S seconds",
    )
    stop.add_argument(
        "--samples",
        action=Once,
        type=whole_between(1, MAX_SAMPLES, "--samples"),
        default=None,
        metavar="N",
        help="stop after N samples",
    )
    parser.add_argument(
        "--no-ipsec",
        dest="record_no_ipsec",
        action="store_true",
        help="do not record IPsec counters",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    parser.add_argument(
        "--redact",
        dest="record_redact",
        action="store_true",
        help="pseudonymise addresses, host and user names (same as the global --redact)",
    )

    from core.netns import add_netns_argument

    add_netns_argument(parser, default=argparse.SUPPRESS, command=True)


def _options(args: argparse.Namespace) -> FeedOptions:
    options = options_from_args(
        args,
        every_tcp_info=True,
        interval_s=args.record_interval,
        ipsec=not args.record_no_ipsec,
        redact=args.record_redact,
    )
    return dataclasses.replace(options, recorded=True)


def header_factory(
    options: FeedOptions, host: str | None = None, providers: tuple[str, ...] = ()
) -> Callable[[Snapshot], RecordingHeader]:
    """Builds the header from the first snapshot (source, start, the IPsec providers it
    shows, else ``providers``: the first snapshot of a live sampler comes before its first
    IPsec view, and the header names the providers the recording will hold)."""
    name, plat = this_host()
    if options.demo:
        from core.demo import HOST_NAME

        name, plat = HOST_NAME, "synthetic demo host (Windows-like)"
    if host is not None:
        name = host
    elif options.redact:
        from core.recording import Redactor

        name = Redactor().host(name)

    def make(snap: Snapshot) -> RecordingHeader:
        shown = tuple(p.name for p in snap.ipsec.providers) if snap.ipsec else providers
        return RecordingHeader(
            version=FORMAT_VERSION,
            tcpscope=tcpscope_version(),
            host=name,
            platform=plat,
            source=snap.source,
            providers=shown,
            interval_s=snap.interval_s,
            ghost_ttl_s=options.ghost_ttl_s,
            start=snap.started_at,
            redacted=options.redact,
        )

    return make


async def _replayed(rec: Recording, redact: bool) -> AsyncIterator[Snapshot]:
    """Every sample of a recording as fast as it can be read (re-recording)."""
    redactor = None
    if redact:
        from core.recording import SnapshotRedactor

        redactor = SnapshotRedactor()
    for i in range(len(rec)):
        snap = rec.snapshot(i)
        yield redactor.snapshot(snap) if redactor else snap
        await asyncio.sleep(0)


Stream = Callable[[], AsyncIterator[Snapshot]]


def _input(options: FeedOptions) -> tuple[Any, Stream, float, tuple[str, ...]]:
    """The feed to close afterwards (or None), its stream, the interval it is sampled at
    (a re-recorded file keeps its own) and the IPsec providers it will show (a re-recorded
    file: those its header names), built before any output is opened: a bad recording or
    source fails before a file is created or truncated, and a recording with no sample is
    refused as the TUI refuses it."""
    if options.replay is not None:
        rec = Recording(options.replay)  # checks the whole file now
        if len(rec) == 0:  # as the TUI refuses it: an empty output would not replay either
            raise rec.no_samples()
        for note in rec.notes:
            print(f"tcpscope: {printable(f'{rec.path}: {note}')}", file=sys.stderr)
        replayed = (lambda: _replayed(rec, options.redact), rec.header.interval_s)
        return None, *replayed, rec.header.providers
    if options.demo:
        from core.demo import DemoFeed

        feed: Any = DemoFeed(options.seed, interval_s=options.interval_s, ipsec=options.ipsec)
        if options.redact:
            from core.recording import RedactingFeed

            feed = RedactingFeed(feed)
        return feed, feed.stream, options.interval_s, ()
    feed = make_feed(options)
    return feed, feed.stream, options.interval_s, getattr(feed, "ipsec_providers", ())


async def _record(
    feed: Any,
    stream: Stream,
    writer: RecordingWriter,
    args: argparse.Namespace,
    live: bool,
    simulated: bool,
) -> int:
    """Write the stream until the limit or a signal; ``live``: a sampled feed (not a
    re-recorded file), whose first IPsec view says which counters cannot be recorded;
    ``simulated``: the demo host, whose writer flushes on sample time (no flush timer), so
    the same seed gives the same bytes however the machine's clock ran."""
    stop = asyncio.Event()
    _on_signals(stop)
    deadline = time.monotonic() + args.duration if args.duration else None
    seen: set[tuple[int, object]] = set()
    pacer = GcPacer()
    unsaid = live

    async def consume() -> None:
        nonlocal unsaid
        async for snap in stream():
            pacer.before(len(snap.connections))  # before its records are taken in
            writer.write(snap)
            if unsaid and snap.ipsec is not None:  # the first view (may follow a sample)
                unsaid = False
                if (line := not_recorded(snap.ipsec)) is not None:
                    print(line, file=sys.stderr)
            seen.add((snap.seq, snap.time))
            if args.samples is not None and len(seen) >= args.samples:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
        stop.set()

    async def flusher() -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S / 2)
            writer.flush()

    tasks = [asyncio.create_task(consume())]
    if not simulated:  # a simulated host's writer flushes on its samples' own clock
        tasks.append(asyncio.create_task(flusher()))
    waiter = asyncio.create_task(stop.wait())
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) + 0.5
    try:
        await asyncio.wait([waiter, *tasks], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*tasks, waiter):
            task.cancel()
        for task in (*tasks, waiter):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if feed is not None:
            await feed.aclose()
    return len(seen)


def _samples(count: int) -> str:
    """``1 sample``, ``2 samples``: "recorded 1 samples" read wrong."""
    return f"{count} sample" if count == 1 else f"{count} samples"


def _held(path: str, out: BinaryIO, to_stdout: bool) -> str:
    """What a file cut by a failed write still replays, read back from it (what reached the
    disk, not what was handed to the OS): "; the file holds samples 1–N". A file this run
    created that holds no sample is removed (it would only block the next run)."""
    if to_stdout or not os.path.isfile(path):  # a device or FIFO cannot be read back
        return ""
    try:
        held = len(Recording(path))
    except RecordingError:
        held = 0
    if not held:
        if isinstance(out, NewFile) and out.discard():
            return "; the file holds no complete sample; removed it"
        return "; the file holds no complete sample"
    return f"; the file holds samples 1–{held}" if held > 1 else "; the file holds sample 1"


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)


def run(args: argparse.Namespace) -> int:
    """Record until the limit or a signal (SIGINT, SIGTERM, SIGHUP close the file cleanly);
    0 on success. Bad input raises a MonitorError (exit 2), a failed write OutputFailed (1)."""
    check_output_path(args.file)
    options = _options(args)
    feed, stream, interval_s, providers = _input(options)
    out = open_output(args.file, args.force)
    to_stdout = args.file == "-"
    target = "stdout" if to_stdout else args.file
    # A remote feed's header names the server (its host and platform), not this machine.
    header = getattr(feed, "recording_header", None) or header_factory(options, providers=providers)
    writer = RecordingWriter(out, header, on_sample_time=options.demo)
    replacing = out if isinstance(out, Replacement) else None
    if replacing is not None:  # the old recording goes once the new one holds a sample
        replacing.ready = lambda: writer.samples_written > 0
    print(
        f"tcpscope: recording to {target} every {interval_s:g} s; Ctrl-C stops",
        file=sys.stderr,
    )
    samples = 0
    failure: OSError | None = None
    try:
        recording = _record(feed, stream, writer, args, options.replay is None, options.demo)
        samples = asyncio.run(recording)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        failure = exc
    for finish in (writer.close, out.flush):
        try:
            finish()
        except OSError as exc:
            failure = failure or exc
    kept = replacing is not None and not replacing.placed
    if replacing is not None:
        replacing.abandon()  # removes the copy unless it replaced the old recording
    if not to_stdout:
        with contextlib.suppress(OSError):
            out.close()
    if failure is not None:
        # What reached the file before the failure stays readable up to its last record.
        if kept:
            saved = f"; {target} left as it was"
        else:
            taken = _samples(writer.samples_written)
            saved = f" after {taken} taken{_held(args.file, out, to_stdout)}"
        raise OutputFailed(f"{target}: write failed: {failure.strerror or failure}{saved}")
    if kept:
        print(f"tcpscope: nothing recorded; {target} left as it was", file=sys.stderr)
    elif writer.samples_written == 0 and isinstance(out, NewFile) and out.discard():
        # Stopped before its first sample: the file would only block the next run.
        print(f"tcpscope: nothing recorded; removed {target} (it held no sample)", file=sys.stderr)
    else:
        print(
            f"tcpscope: recorded {_samples(writer.samples_written)} ({samples} seen), "
            f"{writer.bytes_written} bytes to {target}",
            file=sys.stderr,
        )
    link_note = getattr(feed, "link_note", None)  # a remote feed's dropped links
    note = link_note() if link_note is not None else None
    if note is not None:
        print(f"tcpscope: {note}", file=sys.stderr)
    return 0
