"""The tcpscope App: one async worker reads the Feed, screens show its snapshots.

The App takes its :class:`core.sampling.feed.Feed` in the constructor (tests inject a scripted one)
and
never knows whether it is live, replayed or scripted. It is a static shell: the screens
(``MODES``), the bindings (the replay keys enabled by ``check_action`` only for a replay), pause
and interval controls, preferences, the "terminal too small" guard and error notifications.
Data flows down: screens watch the ``snapshot`` and ``header`` reactives; they reach the App
only through the :class:`tui.shell.Shell` Protocol, so no screen imports this module.
Time-relative text uses :meth:`TcpscopeApp.now`: wall clock for a live feed, the snapshot's
own time otherwise, so screenshots of scripted data are reproducible.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Final

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.events import Event, Key, Resize
from textual.filter import LineFilter, Monochrome
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from core.commands import (
    actions_off,
    display_host,
    is_remote,
    own_namespace_words,
    tcpscope_words,
)
from core.connections import EMPTY_QUERY, Query, Snapshot, close_refused_here
from core.errors import MonitorError
from core.ipsec import IpsecView
from core.sampling import (
    Feed,
    GcPacer,
    Seekable,
    ShowsPages,
    StreamsIpsec,
    WatchesTcpInfo,
    YieldsToUi,
)
from core.textsafe import printable
from tui import bindings
from tui import prefs as prefs_mod
from tui.commands import TcpscopeCommands
from tui.connections.screen import ConnectionsScreen
from tui.guarded_app import FEED_CLOSE_GRACE_S, GuardedApp
from tui.key_claim import KeyClaim
from tui.messages import FeedFailed, IpsecReceived, SnapshotReceived
from tui.prefs import Prefs
from tui.prefs_saver import PrefsSaver
from tui.replay.controls import REPLAY_BINDINGS, ReplayActions, ReplayControls
from tui.screens.help import HelpScreen
from tui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from tui.screenshot import save_svg
from tui.shell import HeaderState

GIL_SWITCH_INTERVAL_S: Final = 0.001
"""How long a thread may hold the GIL while another waits (CPython's default: 5 ms)."""
PREFS_FLUSH_S: Final = 2.0
"""How long the app, as it ends, waits for preferences still being written."""

INTERVALS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
REPLAY_PACE: Final = "a replay keeps the recording's interval: [ and ] change its speed"
"""Steps of ``+``/``-``."""

SCREEN_ORDER = ("connections", "ipsec")
QUIT_ACTIONS: Final = frozenset(("quit", "help_quit"))
"""What still answers while the terminal is too small (q, Ctrl+C, Ctrl+Q)."""


def ipsec_screen() -> Screen[Any]:
    """The IPsec screen, imported when first shown (30 ms less before the first frame)."""
    from tui.ipsec.screen import IpsecScreen

    return IpsecScreen()


class TcpscopeApp(ReplayActions, GuardedApp):
    """Live monitor of TCP connections (and, on its own screen, IPsec counters)."""

    TITLE = "tcpscope"
    CSS_PATH = str(Path(__file__).parent / "styles" / "app.tcss")
    COMMANDS = App.COMMANDS | {TcpscopeCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "connections": ConnectionsScreen,
        "ipsec": ipsec_screen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit tcpscope"),
        # Ctrl+C quits at once, as in top and htop (Textual's default only says "press q").
        Binding("ctrl+c", "quit", "Quit", id="quit-ctrl-c", show=False, priority=True),
        Binding("space", "pause", "Pause", id="pause", tooltip="Stop sampling"),
        Binding("space", "resume", "Resume", id="resume", tooltip="Sample again"),
        Binding(
            "plus,equals_sign",
            "interval(-1)",
            "Faster",
            id="faster",
            tooltip="Shorter interval",
            show=False,
        ),
        Binding(
            "minus", "interval(1)", "Slower", id="slower", tooltip="Longer interval", show=False
        ),
        bindings.HELP,
        # Off the footer: each screen names the other one's key in its own ("2 IPsec").
        bindings.show_screen("connections", footer=False),
        bindings.show_screen("ipsec", footer=False),
        bindings.next_screen(),
        *REPLAY_BINDINGS,
    ]

    # repaint=False on the data reactives: a change would repaint the whole screen (measured:
    # a full-screen render per tick at 50k rows); the widgets that show them refresh themselves.
    snapshot: reactive[Snapshot | None] = reactive(
        None, always_update=True, init=False, repaint=False
    )
    """The newest snapshot shown (screens watch it)."""
    paused: reactive[bool] = reactive(False, bindings=True)
    """True while the feed is paused."""
    ipsec_view: reactive[IpsecView | None] = reactive(None, init=False, repaint=False)
    """The newest IPsec view (the IPsec screen watches it): from the feed's own IPsec stream,
    or from the snapshots of a feed that has none; in a replay, the sample shown's (None: no
    view recorded up to it)."""
    header: reactive[HeaderState | None] = reactive(None, init=False, repaint=False)
    """What every screen's header line shows (screens' headers watch it)."""

    def __init__(
        self,
        feed: Feed,
        *,
        ghost_ttl_s: float = 5.0,
        no_color: bool = False,
        hostname: str | None = None,
        clock: Callable[[], datetime] | None = None,
        prefs_path: Path | None = None,
        filter_text: str = "",
    ) -> None:
        """Create the app; nothing is sampled until it runs.

        Args:
            feed: the snapshot feed (live sampler, replay, scripted).
            ghost_ttl_s: how long closed connections stay as ghost rows (prefs may override).
            no_color: draw without colour (markers still say new/changed/closed).
            hostname: shown in the header; tests pass a fixed one.
            clock: wall clock for ages; default: now for a live feed, else the snapshot time.
            prefs_path: where preferences live (default: XDG config dir).
            filter_text: the connections filter to start with (``--filter``; never saved).
        """
        super().__init__()
        self._monochrome: Monochrome | None = None
        if no_color and not self.no_color:
            self.no_color = True
            self._monochrome = Monochrome()
        self.feed = feed
        self.hostname = hostname if hostname is not None else display_host(feed)
        self.initial_filter = filter_text
        self._clock = clock
        self._prefs_path = prefs_path or prefs_mod.prefs_path()
        # A theme this Textual does not know is a bad value, warned about like any other.
        loaded = prefs_mod.load_file(self._prefs_path, themes=self.available_themes)
        self.prefs, self._prefs_problem = loaded.prefs, loaded.problem
        self._prefs_saver = PrefsSaver(self._prefs_path, self._prefs_not_saved, loaded.unreadable)
        self.ghost_ttl_s = (
            self.prefs.ghost_ttl_s if self.prefs.ghost_ttl_s is not None else ghost_ttl_s
        )
        self._held: Snapshot | None = None
        self._key_claim = KeyClaim(feed if isinstance(feed, YieldsToUi) else None)
        self._gc = GcPacer()
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self.replay = (
            ReplayControls(self, feed, self._connections_filter)
            if isinstance(feed, Seekable)
            else None
        )
        self.actions_off = actions_off(feed, "terminate")
        self.remote = is_remote(feed)
        self.own_namespace = own_namespace_words(feed)
        self.tcpscope_words = tcpscope_words(feed)
        self.close_off = actions_off(feed, "close") or close_refused_here()
        self._publish_header()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, plus monochrome when asked for without ``NO_COLOR`` set."""
        filters = super().get_line_filters()
        return [*filters, self._monochrome] if self._monochrome is not None else filters

    def show_tcp_info_for(self, instance_ids: Collection[str]) -> None:
        """Tell the feed whose tcp_info a screen shows (a live netlink feed fetches only those)."""
        if isinstance(self.feed, WatchesTcpInfo):
            self.feed.watch_tcp_info(instance_ids)

    def now(self) -> datetime:
        """ "Now" for ages: the clock if given, wall clock if live, else the snapshot's time."""
        if self._clock is not None:
            return self._clock()
        if self.feed.live:
            return datetime.now(UTC)
        snap = self.snapshot
        return snap.time if snap is not None else datetime.now(UTC)

    # --- lifecycle --------------------------------------------------------------------
    def on_mount(self) -> None:
        """Theme, first screen, replay controls, then start reading the feed."""
        # Measured (bench_tui --live, 50k sockets): with the default 5 ms switch interval the
        # sampler's reader thread waits up to 5 ms for the GIL after every 32 KiB netlink
        # reply while the UI sorts, stretching a sample over the keypresses around it; a
        # re-sort right after another took 152 ms, with 1 ms 77 ms. CPU at 1 Hz unchanged.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        if self.prefs.theme and self.prefs.theme in self.available_themes:
            self.theme = self.prefs.theme
        self.switch_mode("connections")
        if self._prefs_problem:
            self.notify(self._prefs_problem, title="Preferences", severity="warning", markup=False)
        if self.replay is not None:
            self.replay.announce()
        self.paused = self.feed.paused
        self.run_feed()
        if isinstance(self.feed, StreamsIpsec):
            self.run_ipsec(self.feed)
        self.call_after_refresh(self._check_size)

    @work(exclusive=True, group="sampler", exit_on_error=False, name="feed")
    async def run_feed(self) -> None:
        """Read the feed for as long as the app runs (latest wins, never blocks the loop)."""
        async for snap in self.feed.stream():
            self.post_message(SnapshotReceived(snap))

    @work(exclusive=True, group="ipsec", exit_on_error=False, name="ipsec")
    async def run_ipsec(self, feed: StreamsIpsec) -> None:
        """Read the feed's own IPsec stream (latest wins, never blocks the loop)."""
        async for view in feed.ipsec_stream():
            self.post_message(IpsecReceived(view))

    @on(IpsecReceived)
    def _ipsec_received(self, message: IpsecReceived) -> None:
        if not self.paused:
            self._show_ipsec(message.view)

    def _show_ipsec(self, view: IpsecView | None) -> None:
        """A live view, unless an older one (views arrive on their own clock, out of turn)."""
        current = self.ipsec_view
        if view is not None and (current is None or view.time >= current.time):
            self.ipsec_view = view

    @on(SnapshotReceived)
    def _snapshot_received(self, message: SnapshotReceived) -> None:
        snap = message.snapshot
        if self.paused and not isinstance(self.feed, Seekable):
            # A sample that was in flight when the user paused: keep it for resume.
            self._held = snap
            return
        self._gc.before(len(snap.connections))  # before the table takes it in
        self.snapshot = snap
        if isinstance(self.feed, Seekable) and self.feed.paused and not self.paused:
            self.paused = True  # a replay at its end pauses itself: header and footer say so
        if snap.page is not None and isinstance(self.feed, ShowsPages):
            # The rest of the first sample waits for this page to be drawn (one GIL).
            self.call_after_refresh(self.feed.page_shown)
        if isinstance(self.feed, Seekable):
            # A replay moves back as well as forward: the sample's own view (the last one
            # recorded at or before it), never a later sample's shown before a seek back.
            self.ipsec_view = snap.ipsec
        else:
            self._show_ipsec(snap.ipsec)
        self._publish_header()
        self._notify_errors(snap)

    def _notify_errors(self, snap: Snapshot) -> None:
        error = snap.error
        if error is None:
            if self._last_error is not None:
                self.notify("the source answers again", title="Sampler recovered")
            self._last_error = None
            return
        # The same run of failures told anew (a remote outage's reconnection stages, which
        # the header already shows): one toast per outage, not one per stage.
        same = error.since == self._last_error_at
        if error.message != self._last_error and not same:
            self.notify(  # (a recording's or a remote agent's text: shown escaped)
                printable(error.message),
                title=f"Sampler error ({error.kind.value})",
                severity="error",
            )
        self._last_error, self._last_error_at = error.message, error.since

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A feed that dies is reported, not raised: the app keeps running."""
        if event.worker.group == "sampler" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self.post_message(FeedFailed(error if error is not None else RuntimeError("?")))

    @on(FeedFailed)
    def _feed_failed(self, message: FeedFailed) -> None:
        self.notify(
            f"{type(message.error).__name__}: {message.error}".splitlines()[0],
            title="Feed stopped",
            severity="error",
            timeout=30,
        )

    async def action_quit(self) -> None:
        """Save preferences, close the feed, leave (a close held up by a stalled source or
        daemon is left behind after :data:`FEED_CLOSE_GRACE_S`: the process is ending)."""
        self.workers.cancel_group(self, "sampler")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.feed.aclose(), FEED_CLOSE_GRACE_S)
        finally:
            self.exit(0)

    async def on_event(self, event: Event) -> None:
        """A key gets the interpreter to itself until its answer is drawn (see
        :mod:`tui.key_claim`).

        Textual hands a key to the focused widget, which bubbles it back up to here, where
        the bindings run; a widget that keeps it (a text input) stops it, and a priority
        binding takes it at once.
        """
        claim = self._key_claim
        if not isinstance(event, Key):
            await super().on_event(event)
            return
        arrived = not event.is_forwarded
        if arrived:
            claim.arrived()
            event._tcpscope_sent_to = self.focused  # type: ignore[attr-defined]
        elif self._typed_elsewhere(event):
            return
        await super().on_event(event)
        if not arrived or not event.is_forwarded:  # bindings run, or a priority one did
            claim.handled()
        else:  # queued behind the key: a widget that stops it answers it itself
            (self.focused or self.screen).call_later(self._key_kept, event, claim)

    def _typed_elsewhere(self, key: Key) -> bool:
        """Re-send ``key`` to the input focused since it arrived; True when it did.

        Why: Textual hands each key to the widget focused when the key is read, so keys read
        together with the ``/`` that opens the filter (typed fast over a slow link, pasted)
        went to the table, and came back up here as commands: ``x`` asked to close the
        selected connection, ``2`` switched screens. The copy is sent once: if the input does
        not take it either, it comes back marked and the bindings run.
        """
        field = self.focused
        if not isinstance(field, Input) or getattr(key, "_tcpscope_sent_to", field) is field:
            return False
        key.stop()
        again = Key(key.key, key.character)
        again._tcpscope_sent_to = field  # type: ignore[attr-defined]
        again.set_sender(self)
        field._forward_event(again)  # handed on as Textual hands a key to the focused widget
        return True

    @staticmethod
    def _key_kept(key: Key, claim: KeyClaim) -> None:
        if key._stop_propagation:  # Textual has no public getter
            claim.handled()

    def post_display_hook(self) -> None:
        """A frame was drawn: the claim of the keys it answers ends (see :mod:`tui.key_claim`)."""
        self._key_claim.drawn()

    # --- size guard -------------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        """Show the too-small screen below the minimum size, the normal layout again above it."""
        # self.size still holds the old size while this event is handled.
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int | None = None, height: int | None = None) -> None:
        if width is None or height is None:
            width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen())
        elif not small and showing:
            self.pop_screen()
        else:
            return
        self.refresh_bindings()  # (check_action answers otherwise now)

    # --- actions ----------------------------------------------------------------------
    def watch_paused(self, paused: bool) -> None:
        """Footer label and header follow the state."""
        self.refresh_bindings()
        self._publish_header()

    def _publish_header(self) -> None:
        self.header = HeaderState(
            host=self.hostname,
            source=self.feed.source_name,
            interval_s=self.feed.interval_s,
            paused=self.paused,
            snapshot=self.snapshot,
            clock=self.now,
            link=self._link(),
            link_cause=self._link_cause(),
            # A remote feed is another machine's namespace: only a local live view is "this".
            live=self.feed.live and not hasattr(self.feed, "link_status"),
            other_namespaces=bool(getattr(self.feed, "reads_other_namespaces", False)),
        )

    def _link(self) -> str | None:
        """A remote feed's trouble with its link, or the one recorded with the sample shown
        (a replayed ``record --remote`` outage is shown as the live app showed it)."""
        link: str | None = getattr(self.feed, "link_status", None)
        if link is None and self.snapshot is not None:
            link = self.snapshot.link_down
        return link

    def _link_cause(self) -> str | None:
        """Why a remote feed's link is down, or why the recorded outage shown began (its
        sample's error says the state, then the cause)."""
        cause: str | None = getattr(self.feed, "link_cause", None)
        snap = self.snapshot
        if cause is None and snap is not None and snap.link_down and snap.error is not None:
            cause = snap.error.message.removeprefix(f"{snap.link_down}: ")
        return cause

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Space shows (and does) Pause while running and Resume while paused; the replay
        keys exist only for a replay. Below the minimum size only quitting answers: ``?``
        drew the help box over "terminal too small", cut, and ``2`` showed the IPsec screen
        (another mode, without the guard) at that size."""
        if isinstance(self.screen, TooSmallScreen):
            return action in QUIT_ACTIONS
        if action.startswith("replay_"):
            return self.replay is not None
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True

    def action_pause(self) -> None:
        """Pause the feed."""
        if not self.feed.paused:
            self.action_toggle_pause()

    def action_resume(self) -> None:
        """Resume the feed."""
        if self.feed.paused:
            self.action_toggle_pause()

    def action_toggle_pause(self) -> None:
        """Pause or resume the feed."""
        if self.feed.paused:
            self.feed.resume()
            self.paused = False
            held, self._held = self._held, None
            if held is not None:
                self.snapshot = held
                self._show_ipsec(held.ipsec)
        else:
            self.feed.pause()
            self.paused = True

    def action_interval(self, direction: int) -> None:
        """Step the interval: -1 faster, +1 slower."""
        if self.replay is not None:
            # A replay's pace is its speed ([ ]); its interval is the recording's, not a setting.
            self.notify(REPLAY_PACE, title="Interval", severity="warning")
            return
        current = self.feed.interval_s
        options = [s for s in INTERVALS_S if (s < current if direction < 0 else s > current)]
        if not options:  # already past the last step (--interval 0.1 is faster than any)
            self.notify(f"sampling every {current:g} s already", timeout=1.5)
            return
        new = options[-1] if direction < 0 else options[0]
        try:
            self.feed.set_interval(new)
        except MonitorError as exc:
            self.notify(str(exc), title="Interval", severity="warning")
            return
        self.notify(f"sampling every {new:g} s", timeout=1.5)
        self._publish_header()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands, with tcpscope's "Screenshot" in place of its own (which
        wrote to a ~/Downloads that root seldom has, through symlinks, and failed unexplained)."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        yield SystemCommand(
            "Screenshot",
            "Save an SVG of the screen as a new file in the current directory",
            lambda: self.set_timer(0.1, self.action_screenshot_here),  # once the palette is gone
        )

    def action_screenshot_here(self) -> None:
        """Save the screen as SVG in the current directory and say where, or why not."""
        try:
            path = save_svg(self.export_screenshot(), Path.cwd(), datetime.now())
        except OSError as exc:
            # The directory is where tcpscope was started: someone else may have named it.
            where = printable(str(exc.filename)) if exc.filename else "the current directory"
            self.notify(
                f"{where}: {printable(exc.strerror or str(exc))}",
                title="Screenshot not saved",
                severity="error",
                markup=False,
            )
            return
        self.notify(printable(str(path)), title="Screenshot saved", markup=False)

    def action_help(self) -> None:
        """Show keys and colours, the current screen's keys first."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(
                HelpScreen(
                    replay=self.replay is not None,
                    remote=self.remote,
                    screen=self.current_mode,
                    close_off=self.close_off,
                    terminate_off=self.actions_off,
                )
            )

    def action_show_screen(self, name: str) -> None:
        """Switch to a registered screen."""
        if name in self.MODES and self.current_mode != name:
            self.switch_mode(name)

    def action_next_screen(self) -> None:
        """Tab: the next screen in the registry."""
        index = SCREEN_ORDER.index(self.current_mode) if self.current_mode in SCREEN_ORDER else -1
        self.switch_mode(SCREEN_ORDER[(index + 1) % len(SCREEN_ORDER)])

    def connections_screen(self) -> ConnectionsScreen | None:
        """The connections screen, wherever it is in the screen stacks."""
        try:
            stack = self.get_screen_stack("connections")
        except KeyError:  # not shown yet
            return None
        for screen in stack:
            if isinstance(screen, ConnectionsScreen):
                return screen
        return None

    def _connections_filter(self) -> Query:
        """The filter the connections screen applies now (the replay diff follows it)."""
        screen = self.connections_screen()
        return screen.table.index.query if screen is not None else EMPTY_QUERY

    async def action_conn(self, action: str) -> None:
        """Run a connections-screen action (the command palette's way in)."""
        self.action_show_screen("connections")
        screen = self.connections_screen()
        if screen is not None:
            await screen.run_action(action.removeprefix("action_"))

    def action_toggle_column(self, key: str) -> None:
        """Show or hide a table column."""
        screen = self.connections_screen()
        if screen is not None:
            screen.toggle_column(key)

    # --- preferences ------------------------------------------------------------------
    def update_prefs(self, **changes: Any) -> None:
        """Change and save preferences; a failed save is a warning, never a crash."""
        from dataclasses import replace

        self.prefs = replace(self.prefs, **changes)
        self._prefs_saver.save(self.prefs)  # written in a thread: a key never waits for a disk

    def _prefs_not_saved(self, problem: str) -> None:
        """A failed save's warning (called from the saving thread)."""
        with contextlib.suppress(RuntimeError):  # the app has already ended
            self.call_from_thread(
                self.notify, problem, title="Preferences", severity="warning", markup=False
            )

    async def on_unmount(self) -> None:
        """Preferences still being written are written before the app ends (a key's claim,
        such as the ``q`` that ended it, ends first: the collector runs again)."""
        self._key_claim.end()
        await asyncio.to_thread(self._prefs_saver.wait, PREFS_FLUSH_S)

    def watch_theme(self, theme: str) -> None:
        """Remember the theme across runs."""
        prefs: Prefs | None = getattr(self, "prefs", None)
        if prefs is not None and prefs.theme != theme and self.is_running:
            self.update_prefs(theme=theme)
