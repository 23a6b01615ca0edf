"""Replaying a recording as a Feed, with seek/step/speed, and the A/B diff between two samples.

Why a Feed: screens consume :class:`core.sampling.feed.Feed` and must not know whether the data is
live,
so a replay is just another producer of Snapshots; its extra controls are
:class:`core.sampling.feed.Seekable`. Each emitted snapshot's ``diff`` is the recording's own:
against the sample before it in the file, as a live viewer saw it, however it was reached (a
step, a seek, playback). Why not against the snapshot shown before a jump: the table marks
rows ``+`` and ``~`` from the diff, and rows minutes old came up ``+`` next to their Age; two
points are compared with the marks' A/B diff (:func:`diff_between`).
Never writes to the file; never imports textual, rich or humanize.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from core.connections.model import TcpConnection
from core.connections.namespaces import namespace_finder
from core.connections.query import EMPTY_QUERY, Query
from core.connections.snapshot import ErrorKind, Snapshot, SourceError
from core.errors import RecordingError, UsageError
from core.ipsec.model import COUNTER_NAMES, IpsecView, Kind
from core.recording.reader import Recording
from core.sampling.controls import FeedControls

SPEEDS: Final[tuple[float, ...]] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Playback speeds the controls step through."""
MAX_GAP_FACTOR: Final = 10.0
"""A pause in the recording longer than this many intervals is replayed as one interval."""


def next_speed(speed: float, direction: int) -> float:
    """The speed one step faster (``direction`` > 0) or slower than ``speed`` in :data:`SPEEDS`."""
    if direction > 0:
        return next((s for s in SPEEDS if s > speed), SPEEDS[-1])
    return next((s for s in reversed(SPEEDS) if s < speed), SPEEDS[0])


def open_replay(path: str | os.PathLike[str]) -> ReplayFeed:
    """Open ``path`` for replay (raises RecordingError with one line naming the file)."""
    return ReplayFeed(Recording(path))


class ReplayFeed(FeedControls):
    """A recording played as a :class:`core.sampling.feed.Feed` that is also
    :class:`core.sampling.feed.Seekable`."""

    def __init__(self, recording: Recording) -> None:
        """Play ``recording`` from its first sample at ×1."""
        if len(recording) == 0:
            raise recording.no_samples()
        super().__init__(recording.header.interval_s)
        self.recording = recording
        self._index = 0
        self._speed = 1.0
        self._closed = False
        self._wake: asyncio.Event | None = None
        self._last: Snapshot | None = None
        self._last_index = 0
        self._ahead: tuple[int, Snapshot, bool] | None = None
        """The sample :meth:`current` read before the stream got to it (and at which index)."""

    # --- Feed ----------------------------------------------------------------------
    @property
    def live(self) -> bool:
        """A recording is never live."""
        return False

    @property
    def source_name(self) -> str:
        """``replay:<file name>``."""
        return f"replay:{os.path.basename(self.recording.path)}"

    def set_interval(self, interval_s: float) -> None:
        """Change the base pace of playback (0.1–60 s per sample at ×1)."""
        super().set_interval(interval_s)
        self._poke()

    def pause(self) -> None:
        """Hold the current sample."""
        super().pause()
        self._poke()

    def resume(self) -> None:
        """Play on (from the start again when at the end)."""
        if self._index >= len(self.recording) - 1:
            self._index = 0
        super().resume()
        self._poke()

    async def stream(self) -> AsyncIterator[Snapshot]:
        """The current sample now, then one per (recorded gap / speed), and on every control."""
        self._wake = asyncio.Event()
        yield self._emit()
        while not self._closed:
            ticked = await self._wait()
            if self._closed:
                break
            if ticked:
                if self._index < len(self.recording) - 1:
                    self._index += 1
                if self._index >= len(self.recording) - 1:
                    self._paused = True
            yield self._emit()

    async def aclose(self) -> None:
        """Stop the stream."""
        self._closed = True
        self._poke()

    # --- Seekable ------------------------------------------------------------------
    @property
    def start_time(self) -> datetime:
        """Time of the first sample."""
        return self.recording.times[0]

    @property
    def end_time(self) -> datetime:
        """Time of the last sample."""
        return self.recording.times[-1]

    @property
    def position(self) -> datetime:
        """Time of the current sample."""
        return self.recording.times[self._index]

    @property
    def index(self) -> int:
        """0-based number of the current sample."""
        return self._index

    @property
    def length(self) -> int:
        """Number of samples."""
        return len(self.recording)

    @property
    def number(self) -> int:
        """1-based place in the file of the current sample (damaged samples skipped count)."""
        return self.recording.number(self._index)

    @property
    def total(self) -> int:
        """Samples in the file up to its last one that replays, damaged ones skipped included."""
        return self.recording.total

    @property
    def ends_early(self) -> str | None:
        """How the file ends when it was cut or damaged (one line), else None."""
        return self.recording.ends_early

    @property
    def notes(self) -> list[str]:
        """What was damaged: each stretch of samples skipped, then how the file ends."""
        return self.recording.notes

    def number_of(self, snap: Snapshot) -> int:
        """1-based position in the file of ``snap``, found by its time and ``n`` (the
        samples of damaged blocks skipped before it count: see :meth:`Recording.number`).

        Why not ``snap.seq``: a ``record --remote`` outage record repeats the previous ``n``
        on purpose, so the file's ``n`` and its position part; the bar counts positions.
        """
        rec = self.recording
        times, seqs = rec.times, rec.seqs
        if self._last is not None and snap is self._last:
            return rec.number(self._last_index)
        i = bisect.bisect_left(times, snap.time)
        while i < len(times) and times[i] == snap.time:
            if seqs[i] == snap.seq:
                return rec.number(i)
            i += 1
        return rec.number(rec.index_at(snap.time))

    def current(self) -> Snapshot:
        """The sample at the current position, as the stream shows it (or will: a step or a
        seek is shown when the stream gets to it).

        Why: keys read in one go (a slow SSH link) run before the stream has shown the steps
        they follow; ``. . a`` must mark the sample the steps led to, not the one still shown.
        """
        if self._last is not None and self._last_index == self._index:
            return self._last
        if self._ahead is None or self._ahead[0] != self._index:
            self._ahead = (self._index, *self._read())
        return self._ahead[1]

    @property
    def speed(self) -> float:
        """Playback speed factor."""
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Set the speed (0.25–16; UsageError outside)."""
        if not SPEEDS[0] <= speed <= SPEEDS[-1]:
            raise UsageError(f"speed must be between ×{SPEEDS[0]:g} and ×{SPEEDS[-1]:g}")
        self._speed = speed
        self._poke()

    def step(self, samples: int) -> None:
        """Move by ``samples`` (clamped to the recording) and pause."""
        self._paused = True
        self._goto(self._index + samples)

    def seek(self, when: datetime) -> None:
        """Jump to the last sample at or before ``when`` (the first if before the start)."""
        self._goto(self.recording.index_at(when))

    def seek_index(self, index: int) -> None:
        """Jump to sample ``index`` (clamped)."""
        self._goto(index)

    # --- internals ------------------------------------------------------------------
    def _goto(self, index: int) -> None:
        self._index = max(0, min(index, len(self.recording) - 1))
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    @property
    def delay_s(self) -> float:
        """Wall seconds from the current sample to the next at the current speed."""
        times = self.recording.times
        i = self._index
        gap = self._interval_s
        if i + 1 < len(times):
            recorded = (times[i + 1] - times[i]).total_seconds()
            ratio = self._interval_s / self.recording.header.interval_s
            if 0 < recorded <= MAX_GAP_FACTOR * self.recording.header.interval_s:
                gap = recorded * ratio
        return gap / self._speed

    async def _wait(self) -> bool:
        """Wait for the next tick (True) or a control (False)."""
        assert self._wake is not None
        wake = self._wake
        if self._paused:
            await wake.wait()
            wake.clear()
            return False
        try:
            async with asyncio.timeout(self.delay_s):  # (not wait_for: see Sampler._sleep)
                await wake.wait()
        except TimeoutError:
            return True
        wake.clear()
        return False

    def _emit(self) -> Snapshot:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == self._index:  # already read by current()
            snap, good = ahead[1], ahead[2]
            if snap.paused != self._paused:
                snap = dataclasses.replace(snap, paused=self._paused)
        else:
            snap, good = self._read()
        if good:
            self._last, self._last_index = snap, self._index
        return snap

    def _read(self) -> tuple[Snapshot, bool]:
        """The current sample with its own diff (against the sample before it in the
        file), and True; where the file cannot be read, the last one again, marked with the
        error, and False."""
        try:
            snap = self.recording.snapshot(self._index)
        except RecordingError as exc:
            if self._last is None:
                raise
            error = SourceError(ErrorKind.UNAVAILABLE, str(exc), self._last.time)
            return dataclasses.replace(self._last, error=error, stale=True), False
        return dataclasses.replace(snap, paused=self._paused, skipped=0), True


# --- seeking by text ---------------------------------------------------------------------
_OFFSET: Final = re.compile(r"^([+-])\s*((?:\d+(?:\.\d+)?\s*[hms]?\s*)+)$")
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([hms]?)")
_CLOCK: Final = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")
_FRACTION: Final = re.compile(r"\d[.,]\d")
_REST_OF_SECOND: Final = timedelta(microseconds=999_999)


def parse_seek(text: str, position: datetime, *, tz: tzinfo = UTC) -> datetime:
    """The time ``text`` names: ``HH:MM[:SS]`` (in ``tz``, the day nearest ``position``),
    an offset from ``position`` (``+90s``, ``-2m``, ``+1h30m``, ``-15``), or an ISO datetime.

    A time without a fraction names the whole second the bar shows (it cuts fractions
    off): its last microsecond, so that the seek lands on the last sample the bar labels
    with that time; to the start of the second, a sample at 09:26:11.7 shown as 09:26:11
    was found for ``09:26:12``. A fraction typed (``09:26:12.5``) is taken as it is.

    An offset or a time past the recording is kept (the feed clamps it to the first or
    last sample); one no date can hold (``+99999999h``) is refused, not raised as the
    OverflowError that crashed the app.

    Raises:
        UsageError: the text is none of these, or names no date (beyond year 1–9999).
    """
    text = text.strip()
    if m := _OFFSET.match(text):
        sign, body = m.groups()
        seconds = 0.0
        for number, unit in _PART.findall(body):
            seconds += float(number) * {"h": 3600, "m": 60}.get(unit, 1)
        try:
            return position + timedelta(seconds=seconds if sign == "+" else -seconds)
        except OverflowError:  # also a float of 400 digits (infinity)
            raise UsageError(f"seek offset out of range: {text!r}") from None
    try:
        return _parse_time(text, position, tz)
    except OverflowError:  # a time of day next to year 1 or 9999 (a crafted recording)
        raise UsageError(f"cannot seek to {text!r}: out of range of dates") from None


def _parse_time(text: str, position: datetime, tz: tzinfo) -> datetime:
    """``text`` as ``HH:MM[:SS]`` (the day nearest ``position``) or an ISO datetime."""
    if m := _CLOCK.match(text):
        hours, minutes = int(m.group(1)), int(m.group(2))
        secs = float(m.group(3) or 0)
        if hours > 23 or minutes > 59 or secs >= 60:
            raise UsageError(f"not a time of day: {text!r}")
        local = position.astimezone(tz)
        base = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        base += timedelta(seconds=secs) + _rest_of_second(text)
        candidates = [base]
        for day in (timedelta(days=-1), timedelta(days=1)):
            with contextlib.suppress(OverflowError):  # no day before year 1 or after 9999
                candidates.append(base + day)
        return min(candidates, key=lambda c: abs((c - local).total_seconds())).astimezone(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"cannot seek to {text!r}: use HH:MM:SS or an offset like +90s, -2m, +1h"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=tz)) + _rest_of_second(text)


def _rest_of_second(text: str) -> timedelta:
    """To the end of the second a time without a fraction names (nothing if it has one)."""
    return timedelta() if _FRACTION.search(text) else _REST_OF_SECOND


# --- A/B diff ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionChange:
    """A connection present at both marks whose State differs."""

    before: TcpConnection
    after: TcpConnection


@dataclasses.dataclass(frozen=True, slots=True)
class CounterDelta:
    """One IPsec counter of one provider between the marks."""

    provider: str
    counter: str
    """WMI counter name."""
    kind: Kind
    before: int | None
    after: int | None
    delta: int | None
    """after − before; None when either is not reported or when a total went down (reset)."""
    reset: bool
    """A running total is lower at B than at A: it restarted in between."""


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """What differs between mark A and mark B (two points, not what happened in between)."""

    a: Snapshot
    b: Snapshot
    added: tuple[TcpConnection, ...]
    """At B, not at A (sorted by InstanceID)."""
    removed: tuple[TcpConnection, ...]
    """At A, not at B (sorted by InstanceID)."""
    state_changed: tuple[ConnectionChange, ...]
    counters: tuple[CounterDelta, ...]
    """Every counter of every provider present at both marks, in seed order."""
    filter: str = ""
    """The connections filter the connection lists follow ("" for every connection); the
    counters are the providers', whatever the filter."""
    numbers: tuple[int, int] | None = None
    """A's and B's 1-based positions in the recording (as the replay bar counts), when known."""
    labels: tuple[str, str] = ("A", "B")
    """The marks ``a`` and ``b`` were set as: ("B", "A") when mark B is the earlier sample.
    The diff always runs forward in time (added: new since the earlier one); its times keep
    their own marks' letters, as the replay bar shows them."""

    @property
    def elapsed(self) -> timedelta:
        """B's time minus A's."""
        return self.b.time - self.a.time


def diff_between(
    a: Snapshot,
    b: Snapshot,
    query: Query = EMPTY_QUERY,
    numbers: tuple[int, int] | None = None,
    labels: tuple[str, str] = ("A", "B"),
) -> SnapshotDiff:
    """Connections added, removed and state-changed from ``a`` to ``b``, and counter deltas.

    ``query``: the connections screen's filter, which the lists follow as the table does (a
    troubleshooter filtered down to one service wants that service's churn): an added
    connection is listed when it matches at B, a removed one at A, a state change at either.
    ``numbers``: A's and B's positions in the recording, to name them by; ``labels``: the
    marks ``a`` and ``b`` are (see :attr:`SnapshotDiff.labels`).
    """
    at_a, at_b = _matcher(a, query), _matcher(b, query)
    before: Mapping[str, TcpConnection] = a.connections
    after: Mapping[str, TcpConnection] = b.connections
    added = tuple(after[k] for k in sorted(after.keys() - before.keys()) if at_b(after[k]))
    removed = tuple(before[k] for k in sorted(before.keys() - after.keys()) if at_a(before[k]))
    changed = tuple(
        ConnectionChange(before[k], after[k])
        for k in sorted(before.keys() & after.keys())
        if before[k].state != after[k].state and (at_a(before[k]) or at_b(after[k]))
    )
    counters = _counter_deltas(a.ipsec, b.ipsec)
    return SnapshotDiff(a, b, added, removed, changed, counters, query.text, numbers, labels)


def _matcher(snap: Snapshot, query: Query) -> Callable[[TcpConnection], bool]:
    """Whether a connection of ``snap`` passes ``query`` with ``snap``'s process and
    namespace facts (as :mod:`core.connections.row_index` checks a table row)."""
    if query.empty:
        return lambda conn: True
    procs, namespace_of = snap.processes, namespace_finder(snap.namespaces)

    def matches(conn: TcpConnection) -> bool:
        pid = conn.owning_process
        proc = procs.get(pid) if pid is not None else None
        return query.matches(conn, proc, namespace_of(conn))

    return matches


def _counter_deltas(a: IpsecView | None, b: IpsecView | None) -> tuple[CounterDelta, ...]:
    if a is None or b is None:
        return ()
    out: list[CounterDelta] = []
    for pb in b.providers:
        with contextlib.suppress(KeyError):
            pa = a.provider(pb.name)
            for name in COUNTER_NAMES:
                ra, rb = pa.row(name), pb.row(name)
                delta: int | None = None
                reset = False
                if ra.value is not None and rb.value is not None:
                    delta = rb.value - ra.value
                    if rb.kind is Kind.TOTAL and delta < 0:
                        delta, reset = None, True
                out.append(CounterDelta(pb.name, name, rb.kind, ra.value, rb.value, delta, reset))
    return tuple(out)
