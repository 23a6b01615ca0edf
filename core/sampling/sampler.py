"""The async sampler: a latest-wins producer of Snapshots over one connection source.

Blocking source work runs in a worker thread; the next sample is scheduled only after the
previous one finished, so samples never overlap. A consumer slower than the sampler never
builds a backlog: it gets the newest snapshot, with the diffs of any it skipped folded in.
A failing or hanging source is reported inside the stream and retried; the stream goes on.
IPsec counters ride the same stream from their own loop at their own interval.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Protocol

from core import allocator
from core.connections.first_page import FirstPage, PageRequest
from core.connections.model import TcpConnection
from core.connections.snapshot import (
    ConnectionDiff,
    ErrorKind,
    GhostBook,
    Privilege,
    SampleStats,
    Snapshot,
    SourceError,
    diff_connections,
    keep_ghost_namespaces,
)
from core.connections.sources.base import (
    ConnectionSource,
    GivesWay,
    PagesFirst,
    SourceSample,
    TcpInfoOnDemand,
)
from core.connections.tcpinfo import LazyTcpInfo
from core.errors import AccessDenied, MonitorError, SourceUnavailable
from core.sampling.controls import MAX_INTERVAL_S, MIN_INTERVAL_S, FeedControls, check_interval
from core.sampling.give_way import GiveWay
from core.sampling.mailbox import Mailbox
from core.sampling.young_pass import young_pass

if TYPE_CHECKING:
    from core.connections.namespaces import NamespaceView
    from core.ipsec.model import IpsecView

STRETCH: Final = 1.5
"""When a sample outlasts the interval, the next one starts this many sample durations after
it: sampling then keeps at most two thirds of a core, and the UI keeps the rest."""
PAGE_HOLD_S: Final = 5.0
"""How long the first sample waits, after its first page, for the UI to show that page: the
rest of the sample and the UI's start-up share one interpreter lock, so the UI goes first."""


class IpsecSampling(Protocol):
    """What the sampler needs from an IPsec sampler (see core.ipsec.sampling)."""

    interval_s: float

    def sample(self) -> IpsecView:
        """Blocking; never raises (errors are inside the view)."""
        ...

    def close(self) -> None:
        """Release sockets and listener threads."""
        ...


def stretched_interval(interval_s: float, sample_s: float) -> float | None:
    """The interval to keep after a sample that took ``sample_s``; None while it fits."""
    if sample_s <= interval_s:
        return None
    return min(MAX_INTERVAL_S, sample_s * STRETCH)


def utc_now() -> datetime:
    """Wall-clock time in UTC (the default clock)."""
    return datetime.now(UTC)


def _error_of(exc: BaseException) -> tuple[ErrorKind, str]:
    if isinstance(exc, AccessDenied | PermissionError):
        return ErrorKind.PERMISSION, str(exc) or "permission denied"
    if isinstance(exc, SourceUnavailable):
        return ErrorKind.UNAVAILABLE, str(exc)
    if isinstance(exc, MonitorError):
        return ErrorKind.EXCEPTION, str(exc)
    return ErrorKind.EXCEPTION, f"{type(exc).__name__}: {exc}".splitlines()[0]


class Sampler(FeedControls):
    """Latest-wins async producer of :class:`Snapshot` (implements
    :class:`core.sampling.feed.Feed`)."""

    def __init__(
        self,
        source: ConnectionSource,
        *,
        interval_s: float = 1.0,
        ghost_ttl_s: float = 5.0,
        timeout_s: float = 10.0,
        ipsec: IpsecSampling | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Create a sampler; nothing runs until :meth:`stream` or :meth:`sample_once`.

        Args:
            source: the connection source (called from a worker thread, never concurrently).
            interval_s: seconds between sample starts, 0.1–60.
            ghost_ttl_s: how long closed connections stay listed as ghosts.
            timeout_s: a sample that shows no progress for this long (or, from a source that
                does not report progress, takes this long) is reported as a hang; the sampler
                waits for that same call to finish rather than starting another one.
            ipsec: optional IPsec sampler riding the same stream at its own interval.
            clock: the time source (tests and the demo pass a deterministic one).
        """
        super().__init__(check_interval(interval_s))
        self._source = source
        self._stretched_s: float | None = None
        """Set while samples take longer than the interval (see :func:`stretched_interval`)."""
        self.timeout_s = timeout_s
        self._ipsec = ipsec
        self._ipsec_view: IpsecView | None = None
        self._ipsec_box: Mailbox[IpsecView] = Mailbox()
        self._clock = clock
        self._seq = 0
        self._started_at: datetime | None = None
        self._last: Snapshot | None = None
        self._last_good: SourceSample | None = None
        self._ghosts = GhostBook(ghost_ttl_s)
        self._namespaces: NamespaceView | None = None
        """The namespace view last published: gone namespaces stay in it while ghosts of
        their sockets do (see :func:`keep_ghost_namespaces`)."""
        self._error_since: datetime | None = None
        self._pending: asyncio.Future[SourceSample] | None = None
        self._pending_now: datetime | None = None
        self._early: tuple[concurrent.futures.Future[SourceSample], datetime] | None = None
        self._early_page: concurrent.futures.Future[FirstPage | None] | None = None
        self._page_shown = threading.Event()
        self._box: Mailbox[Snapshot] = Mailbox()
        self._wake = asyncio.Event()
        self._running = asyncio.Event()
        """Set while not paused: what the sampling loop waits on."""
        self._running.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._fetches: set[asyncio.Task[None]] = set()
        self._closed = False
        self.samples_taken = 0
        """Source calls completed (tests use it to check pause and overlap)."""
        self.max_concurrent_calls = 0
        """Highest number of source calls ever in flight at once (must stay 1)."""
        self._in_flight = 0
        self._give_way = GiveWay()
        if isinstance(source, GivesWay):
            source.between_steps = self._give_way

    # --- Feed properties and controls -------------------------------------------------
    @property
    def ghost_ttl_s(self) -> float:
        """How long closed connections stay listed as ghosts."""
        return self._ghosts.ttl_s

    @property
    def live(self) -> bool:
        """Sampled now; a recording is not."""
        return True

    @property
    def source_name(self) -> str:
        """The source's name."""
        return self._source.name

    @property
    def reads_other_namespaces(self) -> bool:
        """Its source reads namespaces besides (or instead of) tcpscope's own (``--netns all``
        or named ones): until a sample's namespace view comes, only this says the rows are
        not from "this network namespace" alone (a first page has no view yet)."""
        return getattr(self._source, "namespaces", None) is not None

    @property
    def calls_in_flight(self) -> int:
        """Source calls running now (0 or 1): a paused sampler is idle once this is 0."""
        return self._in_flight

    @property
    def ipsec_providers(self) -> tuple[str, ...]:
        """The IPsec providers this sampler reads, in view order (empty without IPsec).

        Why: a recording's header names the providers it will hold, and the first snapshot
        comes before the first IPsec view.
        """
        providers = getattr(self._ipsec, "providers", ())
        return tuple(getattr(p, "name", type(p).__name__) for p in providers)

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot produced, seen or not."""
        return self._last

    def set_interval(self, interval_s: float) -> None:
        """Change the interval now; the sleeping loop wakes to honour it."""
        super().set_interval(interval_s)
        self._wake.set()

    def pause(self) -> None:
        """Stop sampling (the sample in flight, if any, still completes)."""
        super().pause()
        self._running.clear()

    def resume(self) -> None:
        """Sample again immediately."""
        super().resume()
        self._running.set()
        self._wake.set()

    def ui_busy(self) -> None:
        """The UI is answering a key: the sampling thread waits between two steps of its
        sample until :meth:`ui_done` (or a short while; see :mod:`core.sampling.give_way`)."""
        self._give_way.claim()

    def ui_done(self) -> None:
        """The UI has shown its answer: sampling goes on (thread-safe)."""
        self._give_way.release()

    def watch_tcp_info(self, instance_ids: Collection[str]) -> None:
        """tcp_info for these connections from now on (see
        :class:`core.sampling.feed.WatchesTcpInfo`).

        With a source that dumps every socket's tcp_info anyway this does nothing. Otherwise
        the source includes them in every sample, and one fetch runs now, off the event
        loop, so the screen need not wait for the next sample (up to a minute at -i 60).
        """
        source = self._source
        if not isinstance(source, TcpInfoOnDemand) or not source.tcp_info_on_demand:
            return
        source.watch(instance_ids)
        if instance_ids and not self._closed:
            task = asyncio.create_task(self._fetch_tcp_info(source, instance_ids))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    async def _fetch_tcp_info(self, source: TcpInfoOnDemand, instance_ids: Collection[str]) -> None:
        snap = self._last
        if snap is None:
            return
        conns = [snap.connections[i] for i in instance_ids if i in snap.connections]
        try:
            raw = await asyncio.to_thread(source.tcp_info_of, conns)
        except MonitorError:
            return  # the next sample reports the source's trouble
        read_at = self._clock()  # after the read, as a dump's observed_at
        if self._last is snap and not self._closed:
            self._publish(
                dataclasses.replace(
                    snap,
                    tcp_info=LazyTcpInfo(raw),
                    tcp_info_at=read_at,
                    diff=ConnectionDiff(),
                    skipped=0,
                )
            )

    # --- consumption ------------------------------------------------------------------
    async def stream(self) -> AsyncIterator[Snapshot]:
        """Yield the newest snapshot whenever one is ready (single consumer)."""
        self._start()
        async for snap in self._box.values():
            yield snap

    async def ipsec_stream(self) -> AsyncIterator[IpsecView]:
        """Each IPsec view as soon as it is sampled, at its own interval (latest wins).

        Why a stream of its own: IPsec is sampled on its own clock, so a new view is not a new
        connection sample; each connection snapshot still carries the view that was current
        when it was taken (recordings and one-shots read it there).
        """
        self._start()
        async for view in self._ipsec_box.values():
            yield view

    def __aiter__(self) -> AsyncIterator[Snapshot]:
        """``async for snapshot in sampler``."""
        return self.stream()

    async def sample_once(self) -> Snapshot:
        """Take one sample now, without starting the loop (the CLI's path)."""
        snap = await self._take()
        self._box.drop()
        return snap

    async def aclose(self) -> None:
        """Stop the loops and release the sources."""
        self._closed = True
        self._box.close()
        self._ipsec_box.close()
        tasks = [*self._tasks, *self._fetches]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._pending is not None and not self._pending.done():
            # A hung source call cannot be interrupted; close what we can without waiting.
            self._pending.cancel()
        await asyncio.to_thread(self._source.close)
        if self._ipsec is not None:
            await asyncio.to_thread(self._ipsec.close)

    # --- production -------------------------------------------------------------------
    def _start(self) -> None:
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._loop(), name="tcpscope-sampler"))
        if self._ipsec is not None:
            self._tasks.append(asyncio.create_task(self._ipsec_loop(), name="tcpscope-ipsec"))

    async def _loop(self) -> None:
        while not self._closed:
            await self._running.wait()
            started = time.monotonic()
            await self._take()
            interval = self._stretched_s or self._interval_s
            await self._sleep(interval - (time.monotonic() - started))

    async def _sleep(self, delay_s: float) -> None:
        """Sleep until the next sample or a wake. Not ``asyncio.wait_for``: in Python 3.11 a
        cancel that meets a wake is lost there, and the loop would sample on forever."""
        self._wake.clear()
        if delay_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await self._wake.wait()

    async def _ipsec_loop(self) -> None:
        assert self._ipsec is not None
        ipsec = self._ipsec
        while not self._closed:
            await self._running.wait()
            started = time.monotonic()
            self._ipsec_view = await asyncio.to_thread(ipsec.sample)
            self._ipsec_box.put(self._ipsec_view)
            delay = max(MIN_INTERVAL_S, ipsec.interval_s) - (time.monotonic() - started)
            if delay > 0:
                await asyncio.sleep(delay)

    def start_early(self, page: PageRequest | None = None) -> None:
        """Take the first sample now, in a thread, before any event loop runs.

        Why: the app imports its UI (about half a second) before its loop can ask for the
        first sample; the kernel's dump and the /proc reads of a first sample release the GIL,
        so both go on at once and the first frame comes sooner. The loop picks the result up.

        With ``page`` (and a source that :class:`PagesFirst`), the stream starts with that
        first page (a :class:`Snapshot` with ``page`` set, ``seq`` 0) as soon as the sockets
        are listed; the rest of the sample waits until :meth:`page_shown` (or
        :data:`PAGE_HOLD_S`), then follows as the first whole snapshot.
        """
        if self._early is not None or self._last_good is not None:
            return
        now = self._clock()
        self._started_at = now
        early: concurrent.futures.Future[SourceSample] = concurrent.futures.Future()
        source = self._source
        paged = source if page is not None and isinstance(source, PagesFirst) else None
        shown: concurrent.futures.Future[FirstPage | None] = concurrent.futures.Future()

        def publish(first_page: FirstPage) -> None:
            shown.set_result(first_page)
            self._page_shown.wait(PAGE_HOLD_S)

        def run() -> None:
            try:
                if paged is not None and page is not None:
                    request = page

                    def call() -> SourceSample:
                        return paged.sample_paged(now, request, publish)

                    early.set_result(self._guarded(now, True, call))
                else:
                    early.set_result(self._guarded(now, True))
            except BaseException as exc:  # handed to the loop, which reports it
                early.set_exception(exc)
            finally:
                if not shown.done():
                    shown.set_result(None)

        threading.Thread(target=run, name="tcpscope-first-sample", daemon=True).start()
        self._early = (early, now)
        self._early_page = shown if paged is not None else None

    def page_shown(self) -> None:
        """The UI shows the first page: the rest of the first sample may go on (thread-safe)."""
        self._page_shown.set()

    async def _publish_page(self) -> None:
        """The first page, once the early sample has one (a hung dump: the sample reports)."""
        page_future, self._early_page = self._early_page, None
        if page_future is None:
            return
        try:
            page = await asyncio.wait_for(asyncio.wrap_future(page_future), self.timeout_s)
        except TimeoutError:
            return
        if page is None or self._closed:
            return
        assert self._started_at is not None and self._pending_now is not None
        self._box.put(
            Snapshot(
                seq=0,
                time=self._pending_now,
                started_at=self._started_at,
                source=self._source.name,
                interval_s=self._interval_s,
                connections={c.instance_id: c for c in page.rows},
                diff=ConnectionDiff(),
                ipsec=self._ipsec_view,
                page=page,
            )
        )

    async def _call_source(self, now: datetime) -> SourceSample:
        """Run one source call in a thread; a call that outlives the timeout stays pending."""
        if self._pending is None and self._early is not None:
            early, self._pending_now = self._early
            self._early = None
            self._pending = asyncio.wrap_future(early)
            await self._publish_page()
        if self._pending is None:
            self._pending_now = now
            first = self._last_good is None
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._guarded, now, first))
        try:
            while True:
                mark = self._progress()
                try:
                    return await asyncio.wait_for(asyncio.shield(self._pending), self.timeout_s)
                except TimeoutError:
                    if mark is None or self._progress() == mark:
                        raise
                    # Slow, not hung: the source moved on since the last look (a first sample
                    # of 250k sockets takes longer than the timeout). Keep waiting.
        finally:
            # Forget the call only once it has finished: after a timeout (or a cancelled
            # consumer) the thread still runs, and a second call must not overlap it.
            if self._pending is not None and self._pending.done():
                self._pending = None

    def _progress(self) -> object:
        """The source's progress marker (see NetlinkSource.progress), None if it has none."""
        return getattr(self._source, "progress", None)

    def _guarded(
        self, now: datetime, first: bool, call: Callable[[], SourceSample] | None = None
    ) -> SourceSample:
        self._in_flight += 1
        self.max_concurrent_calls = max(self.max_concurrent_calls, self._in_flight)
        try:
            result = call() if call is not None else self._source.sample(now, first=first)
            # Not after a first sample (its records are frozen by the UI as it takes them).
            # Also after a sample that changed nothing (tried without: at 50k rows the pass's
            # ~1.2 ms went to young collections the UI thread then ran, ~1.3 ms a second).
            if not first:
                young_pass(len(result.connections), self._give_way)
            return result
        finally:
            self._in_flight -= 1
            self.samples_taken += 1
            allocator.give_back()  # what the sample (and the last snapshot's consumers) freed

    async def _take(self) -> Snapshot:
        now = self._clock()
        if self._started_at is None:
            self._started_at = now
        t0 = time.perf_counter()
        try:
            result = await self._call_source(now)
        except TimeoutError:
            message = f"source did not answer in {self.timeout_s:g} s"
            snap = self._failed(now, ErrorKind.TIMEOUT, message)
        except Exception as exc:  # every failure is reported in the stream
            kind, message = _error_of(exc)
            snap = self._failed(now, kind, message)
        else:
            # The source's own post-dump clock when it has one (see SourceSample.observed_at).
            sampled_at = result.observed_at or self._pending_now or now
            if self._last_good is None:
                self._started_at = sampled_at  # "before <start>" bounds refer to this dump
            snap = self._succeeded(sampled_at, result, (time.perf_counter() - t0) * 1000)
        self._publish(snap)
        return snap

    def _succeeded(self, now: datetime, result: SourceSample, ms: float) -> Snapshot:
        old = self._last_good.connections if self._last_good is not None else {}
        diff = (
            diff_connections(old, result.connections, result.touched)
            if self._last_good
            else ConnectionDiff()
        )
        self._update_ghosts(now, old, diff)
        self._last_good = result
        self._error_since = None
        self._seq += 1
        self._stretched_s = stretched_interval(self._interval_s, ms / 1000)
        assert self._started_at is not None
        return Snapshot(
            seq=self._seq,
            time=now,
            started_at=self._started_at,
            source=self._source.name,
            interval_s=self._interval_s,
            connections=result.connections,
            diff=diff,
            ghosts=self._ghosts.shown,
            ghost_delta=self._ghosts.delta,
            tcp_info=result.tcp_info,
            processes=result.processes,
            privilege=result.privilege,
            stats=SampleStats(
                ms, len(result.connections), result.new_owners_resolved, self._stretched_s
            ),
            ipsec=self._ipsec_view,
            namespaces=self._keep_namespaces(result.namespaces),
        )

    def _failed(self, now: datetime, kind: ErrorKind, message: str) -> Snapshot:
        if self._error_since is None:
            self._error_since = now
        good = self._last_good
        self._update_ghosts(now, {}, ConnectionDiff())
        assert self._started_at is not None
        return Snapshot(
            seq=self._seq,
            time=now,
            started_at=self._started_at,
            source=self._source.name,
            interval_s=self._interval_s,
            connections=good.connections if good else {},
            diff=ConnectionDiff(),
            ghosts=self._ghosts.shown,
            ghost_delta=self._ghosts.delta,
            tcp_info=good.tcp_info if good else {},
            processes=good.processes if good else {},
            error=SourceError(kind, message, self._error_since),
            stale=good is not None,
            privilege=good.privilege if good else Privilege(),
            ipsec=self._ipsec_view,
            namespaces=self._keep_namespaces(good.namespaces if good else None),
        )

    def _keep_namespaces(self, view: NamespaceView | None) -> NamespaceView | None:
        """``view`` with the gone namespaces the ghosts still need (after _update_ghosts)."""
        self._namespaces = keep_ghost_namespaces(view, self._namespaces, self._ghosts.shown)
        return self._namespaces

    def _update_ghosts(
        self, now: datetime, old: Mapping[str, TcpConnection], diff: ConnectionDiff
    ) -> None:
        removed = [(key, old[key]) for key in diff.removed]
        # (before _keep_namespaces: the view of the sample they were last seen open in)
        self._ghosts.advance(removed, diff.added, now, self._namespaces)

    def _publish(self, snap: Snapshot) -> None:
        pending = self._box.unseen
        if pending is not None and pending.page is None:  # a first page is not a sample
            snap = dataclasses.replace(
                snap, diff=pending.diff.then(snap.diff), skipped=pending.skipped + 1
            )
        self._last = snap
        self._box.put(snap)
