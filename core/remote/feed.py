"""A live :class:`core.sampling.feed.Feed` whose samples are taken on a server over SSH.

The agent's records are decoded with the recording's own :class:`FrameDecoder` into the
snapshots the server's sampler produced; the app cannot tell them from local ones. What is
added here is the link: when it drops, the last table stays with every row turned into a
ghost, the header says "disconnected — reconnecting" and what the current attempt does, and
new sessions are tried with backoff (1, 2, 4, 8, then every 15 s) without a password prompt,
each given twice as long as the last successful start took (at least 30 s: see
:func:`core.remote.session.start_timeout`), so a link too slow to send the agent in 30 s
still comes back. A new session's samples are joined to the last one before the drop
(:mod:`core.remote.resync`): rows come back instead of all being new, and keep their
CreationTime bounds.

A recorded feed (``recording=True``) turns a drop into one stale sample at the time it was
found, on the server's clock, instead (the last good rows, the error saying why), as a local
source's failed sample is recorded: ghosts would record every connection as closed, and its
return as all new.

A reader thread owns the session (see :mod:`core.remote.session` for why threads); the
consumer gets the newest snapshot with the diffs of any it skipped folded in, like the
local sampler's latest-wins stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Collection, Iterator
from datetime import timedelta
from typing import Any, Final

from core.connections.snapshot import (
    ConnectionDiff,
    ErrorKind,
    Snapshot,
    SourceError,
    ghost_of,
    namespace_index,
)
from core.errors import MonitorError, RemoteError, UsageError
from core.recording.codec import DecodeError
from core.recording.format import FORMAT_NAME, RecordingHeader, parse_header
from core.recording.frame_decoder import FrameDecoder
from core.remote.notice import SlowStartNotice
from core.remote.resync import Resync
from core.remote.session import (
    MAX_START_TIMEOUT_S,
    AgentSession,
    Disconnected,
    Hello,
    end_with_the_client,
    start_timeout,
)
from core.remote.target import RemoteTarget
from core.remote.wire import CONTROL, command
from core.sampling.controls import FeedControls

BACKOFF_S: Final = (1.0, 2.0, 4.0, 8.0, 15.0)
"""Waits before reconnection attempts; the last one repeats."""
DISCONNECTED: Final = "disconnected — reconnecting"
GAVE_UP: Final = "disconnected — not reconnecting"
"""The header once the agent refused the user's input (another attempt would too)."""


def stream_config(
    *,
    interval_s: float,
    ghost_ttl_s: float,
    ipsec: bool,
    provider: str,
    vici: str | None,
    every_tcp_info: bool,
    netns: str | None = None,
) -> dict[str, Any]:
    """The agent's first line for a stream of samples; ``netns`` is ``--netns`` as given
    (names, PIDs and paths mean the server's; None: the SSH session's namespace only)."""
    return {
        "mode": "stream",
        "interval_s": interval_s,
        "ghost_ttl_s": ghost_ttl_s,
        "ipsec": ipsec,
        "provider": provider,
        "vici": vici,
        "every_tcp_info": every_tcp_info,
        "netns": netns,
    }


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


class _AttemptStages:
    """What a reconnection attempt does now, for the header and the banner (the first
    start tells the terminal; see :class:`core.remote.notice.SlowStartNotice`)."""

    def __init__(self, feed: RemoteFeed, attempt: int) -> None:
        self._feed, self._attempt = feed, attempt

    def stage(self, text: str) -> None:
        """``text`` as the session says it (``sending the agent (374 kB) to web1…``)."""
        self._feed.attempt_stage(self._attempt, text)


class RemoteFeed(FeedControls):
    """Snapshots sampled on ``target`` (implements Feed and WatchesTcpInfo)."""

    def __init__(
        self, target: RemoteTarget, config: dict[str, Any], *, recording: bool = False
    ) -> None:
        """Nothing runs until :meth:`connect`; ``recording``: a drop is one stale sample."""
        super().__init__(float(config["interval_s"]))
        self.target = target
        self.recording = recording
        self._config = dict(config)
        self._watched: tuple[str, ...] = ()
        self._session: AgentSession | None = None
        self.hello: Hello | None = None
        self.header: RecordingHeader | None = None
        """The recording header of the current session (host, platform, source)."""
        self.link_status: str | None = None
        """None while connected, else what the header shows (disconnected — reconnecting)."""
        self.link_cause: str | None = None
        """None while connected, else why the link is down: what ended it, then why the last
        attempt failed (``connection refused (ssh: …)``; the header names the host). Kept
        while an attempt's stages replace :attr:`link_status`: "connection refused" and "no
        python3" need different fixes, and the stages do not say which it was."""
        self._decoder: FrameDecoder | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._gave_up = threading.Event()
        """Set once the feed stopped for good (the stream ends after its last snapshot)."""
        self._messages: Iterator[dict[str, Any]] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self._unseen: Snapshot | None = None
        self._last: Snapshot | None = None
        self._last_arrived = 0.0
        """time.monotonic() when the last sample arrived (to time a recorded outage)."""
        self._joiner = Resync(float(config["ghost_ttl_s"]))
        self._before_drop: Snapshot | None = None
        self._seq_base = 0
        self._starting: AgentSession | None = None
        self._last_start_s: float | None = None
        self._sending_cut_s: float | None = None
        """The time the last attempt had when it was cut while still sending the agent."""
        self.reconnects = 0
        """Sessions started after a drop (tests and the header)."""
        self.losses = 0
        """Times the link dropped (``record`` says so at its end)."""

    # --- connecting -------------------------------------------------------------------
    def connect(self) -> Hello:
        """Open the first session (ssh may prompt on the terminal); RemoteError if it fails."""
        self._session = AgentSession(
            self.target, self._config, batch=False, sending_timeout_s=MAX_START_TIMEOUT_S
        )
        session = self._session
        end_with_the_client()  # the reconnections' ssh too (they start in the reader thread)
        with SlowStartNotice() as notice:
            self.hello = session.start(notice=notice)
            self._last_start_s = session.start_s
            notice.stage(f"waiting for the first sample from {self.target.label}…")
            self._messages = self._first_sample(session)
        self._thread = threading.Thread(target=self._run, name="tcpscope-remote", daemon=True)
        self._thread.start()
        return self.hello

    def _first_sample(self, session: AgentSession) -> Iterator[dict[str, Any]]:
        """Read up to the first sample, so what the agent refuses (``--netns nosuch``: a
        UsageError, exit 2) fails the start as it does locally, before the screen changes or
        ``record`` opens its file; the rest of the stream, for the reader thread."""
        messages = session.messages()
        try:
            for message in messages:
                self._on_message(message)
                if self._last is not None:
                    return messages
            raise RemoteError(f"{self.target.label}: the agent sent no sample")
        except Disconnected as exc:
            session.close()
            raise RemoteError(f"{self.target.label}: the agent stopped early ({exc})") from None
        except DecodeError as exc:
            session.close()
            raise RemoteError(f"{self.target.label}: bad sample from the agent ({exc})") from None
        except BaseException:
            session.close()
            raise

    @property
    def endpoint(self) -> str:
        """``user@host (privilege)`` for the header."""
        hello = self.hello
        if hello is None:
            return self.target.label
        login = hello.sudo_user or self.target.user or hello.user
        return f"{login}@{self.target.host} ({hello.privilege})"

    def _run(self) -> None:
        session, messages = self._session, self._messages
        while session is not None:
            try:
                for message in messages or session.messages():
                    self._on_message(message)
                reason = "session ended"
            except UsageError as exc:
                # The agent refused the user's input (a --netns gone from the server): every
                # attempt would be refused alike, so the feed stops with the reason shown.
                session.close()
                self._dropped(str(exc), data_at=session.data_at, gave_up=True)
                return
            except (Disconnected, MonitorError, DecodeError, OSError, ValueError) as exc:
                # OSError/ValueError: aclose() closed the pipe under the reader (or it broke)
                reason = str(exc) or type(exc).__name__
            messages = None
            session.close()
            if self._closing.is_set():
                return
            self._dropped(reason, data_at=session.data_at)
            session = self._reconnect()

    def _reconnect(self) -> AgentSession | None:
        attempt = 0
        while not self._closing.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]):
            attempt += 1
            config = {**self._config, "interval_s": self._interval_s, "paused": self._paused}
            timeout_s = start_timeout(self._last_start_s, self._sending_cut_s)
            session = AgentSession(self.target, config, batch=True, timeout_s=timeout_s)
            with self._lock:
                self._starting = session
            stages = _AttemptStages(self, attempt)
            stages.stage(f"connecting to {self.target.label}…")
            try:
                self.hello = session.start(notice=stages)
            except MonitorError as exc:
                if session.sending_cut:  # the link got slower: the next attempt waits longer
                    self._sending_cut_s = timeout_s
                cause = str(exc).removeprefix(f"{self.target.label}: ")  # the header has it
                self.link_status = f"{DISCONNECTED}: attempt {attempt} failed: {cause}"
                self.link_cause = cause
                self._still_down(f"attempt {attempt} failed: {exc}")
                continue
            self._last_start_s, self._sending_cut_s = session.start_s, None
            with self._lock:
                self._starting = None
                if self._closing.is_set():
                    session.close()
                    return None
                self._session = session
            if self._watched:
                session.send(command("watch", ids=list(self._watched)))
            if self._before_drop is not None:
                self._joiner.begin(self._before_drop)
            self.reconnects += 1
            return session
        return None

    # --- messages → snapshots ---------------------------------------------------------
    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get(CONTROL) is not None:
            return
        if message.get("format") == FORMAT_NAME:
            self.header = parse_header(message)
            self._decoder = FrameDecoder(self.header.ghost_ttl_s)
            return
        if self._decoder is None:
            raise DecodeError("a sample arrived before the recording header")
        snap = self._decoder.apply(message)
        if snap is not None:
            self._deliver(snap)

    def _deliver(self, snap: Snapshot) -> None:
        last = self._last
        if self._joiner.waiting and last is not None:
            self._seq_base = last.seq  # the new agent counts from 1 again
        snap = self._joiner.apply(snap)
        if self._seq_base:
            snap = dataclasses.replace(snap, seq=snap.seq + self._seq_base)
        self.link_status = self.link_cause = None
        self._last_arrived = time.monotonic()
        self._publish(snap)

    def _dropped(self, reason: str, *, data_at: float, gave_up: bool = False) -> None:
        """Every row becomes a ghost of the last sample (recording: the rows stay, stale);
        the header says we reconnect (``gave_up``: that we do not, and the stream ends).
        ``data_at``: time.monotonic() of the last byte from the server."""
        status = GAVE_UP if gave_up else DISCONNECTED
        self.link_status = status
        self.link_cause = reason
        self.losses += 1
        try:
            self._drop_sample(status, reason, data_at)
        finally:
            if gave_up:  # after its sample: the stream ends once that was taken
                self._gave_up.set()
                self._wake()

    def _drop_sample(self, status: str, reason: str, data_at: float) -> None:
        """The sample that says the link is down (see :meth:`_dropped`)."""
        last = self._last
        if last is None:
            return
        if not self._joiner.waiting:  # else the last sample is still the one before
            self._before_drop = last
        # The outage began with the last data, not when it was found ("no data for 20 s"
        # was found 20 s later): that time on the server's clock, as the samples' (and the
        # recorded outage sample's) times are.
        began = last.time + timedelta(seconds=max(0.0, data_at - self._last_arrived))
        error = SourceError(
            ErrorKind.UNAVAILABLE, f"{status}: {self.target.label}: {reason}", began
        )
        if self.recording:
            # As a local source's failed sample: the last good rows, the same seq, its time,
            # on the server's clock (the samples' one): the time since the last sample arrived
            # after its time, so a skewed local clock cannot make the file's time go back.
            before = self._before_drop or last
            since = max(time.monotonic() - self._last_arrived, 1e-6)
            self._publish(
                dataclasses.replace(
                    before, seq=last.seq, time=last.time + timedelta(seconds=since),
                    diff=ConnectionDiff(), error=error, stale=True, skipped=0,
                    link_down=status,
                )
            )  # fmt: skip
            return
        kept = [g for g in last.ghosts if g.connection.instance_id not in last.connections]
        index = namespace_index(last.namespaces)
        ghosts = (*kept, *(ghost_of(c, last.time, index) for c in last.connections.values()))
        self._publish(
            dataclasses.replace(
                last,
                seq=last.seq + 1,
                connections={},
                diff=ConnectionDiff(removed=frozenset(last.connections)),
                ghosts=ghosts,
                tcp_info={},
                error=error,
                stale=False,
                skipped=0,
            )
        )

    def attempt_stage(self, attempt: int, text: str) -> None:
        """Reconnection ``attempt`` does ``text`` now: the header says it briefly (the host
        is already there), the banner in full."""
        short = text.removesuffix(f" to {self.target.label}…").removesuffix("…")
        self.link_status = f"{DISCONNECTED}: attempt {attempt}, {short}…"
        self._still_down(f"attempt {attempt}: {text}")

    def _still_down(self, why: str) -> None:
        """Say what the reconnection does or why it failed (in the error banner, rows
        unchanged). Not recorded: the outage is one sample, not one per attempt."""
        last = self._last
        if last is None or last.error is None or self.recording:
            return
        error = dataclasses.replace(last.error, message=f"{DISCONNECTED}: {why}")
        self._publish(dataclasses.replace(last, diff=ConnectionDiff(), error=error, skipped=0))

    def _publish(self, snap: Snapshot) -> None:
        with self._lock:
            pending = self._unseen
            if pending is not None:
                snap = dataclasses.replace(
                    snap, diff=pending.diff.then(snap.diff), skipped=pending.skipped + 1
                )
            self._unseen = self._last = snap
        self._wake()

    def _wake(self) -> None:
        """Tell the consumer there is news (a snapshot, or the end)."""
        with self._lock:
            loop, ready = self._loop, self._ready
        if loop is not None and ready is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(ready.set)

    def link_note(self) -> str | None:
        """One line on the link's losses for the end of a recording (None: it never dropped).

        Why: a recording with a gap plays like one of a quiet server; whoever reads it must
        know that samples are missing, and whether the link was still down at its end.
        """
        if not self.losses:
            return None
        back = "" if self.link_status is None else "; it was still down at the end"
        return (
            f"{self.target.label}: the link was lost {_times(self.losses)} during the recording "
            f"and reconnected {_times(self.reconnects)}{back}; nothing was sampled while it "
            "was down"
        )

    def recording_header(self, snap: Snapshot) -> RecordingHeader:
        """The header of a recording of this feed: the server's host and platform."""
        header = self.header
        if header is None:
            raise RemoteError(f"{self.target.label}: no recording header from the agent")
        providers = tuple(p.name for p in snap.ipsec.providers) if snap.ipsec else ()
        return dataclasses.replace(
            header, providers=providers, start=snap.started_at, interval_s=snap.interval_s
        )

    # --- Feed -------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        """Sampled now (on the server)."""
        return True

    @property
    def source_name(self) -> str:
        """The server's source, and how it reaches us."""
        source = self.header.source if self.header is not None else "netlink"
        return f"{source} via ssh"

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot, seen or not."""
        return self._last

    def _send(self, data: bytes) -> None:
        session = self._session
        if session is not None:
            session.send(data)

    def set_interval(self, interval_s: float) -> None:
        """Change the agent's interval (UsageError outside 0.1–60 s)."""
        super().set_interval(interval_s)
        self._send(command("interval", s=self._interval_s))

    def pause(self) -> None:
        """Stop the agent's sampling."""
        super().pause()
        self._send(command("pause"))

    def resume(self) -> None:
        """Sample again."""
        super().resume()
        self._send(command("resume"))

    def watch_tcp_info(self, instance_ids: Collection[str]) -> None:
        """tcp_info for these connections from now on (the agent fetches them at once)."""
        self._watched = tuple(instance_ids)
        self._send(command("watch", ids=list(self._watched)))

    async def stream(self) -> AsyncIterator[Snapshot]:
        """Newest snapshot each time the consumer asks (single consumer)."""
        ready = asyncio.Event()
        with self._lock:
            self._loop, self._ready = asyncio.get_running_loop(), ready
            if self._unseen is not None:
                ready.set()
        while not self._closing.is_set():
            await ready.wait()
            ready.clear()
            with self._lock:
                snap, self._unseen = self._unseen, None
            if snap is not None:
                yield snap
            with self._lock:
                if self._gave_up.is_set() and self._unseen is None:
                    return

    async def aclose(self) -> None:
        """End the session (the agent exits with it) and stop reconnecting."""
        self._closing.set()
        with self._lock:
            sessions, ready = (self._session, self._starting), self._ready
        if ready is not None:
            ready.set()
        for session in sessions:
            if session is not None:
                await asyncio.to_thread(session.close)
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
