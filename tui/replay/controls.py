"""Replay controls: a timeline bar under the header, keys to move in time, marks and a diff.

Why a separate module that plugs into the app: screens must not know whether data is live or
replayed. When the feed is :class:`core.sampling.feed.Seekable`, the app calls
:func:`install_replay`,
which mounts a :class:`ReplayBar` under every screen's header, binds the replay keys app-wide and
adds the seek prompt and the A/B diff screen. Everything time-related (positions, seeking,
the diff itself) is done by :mod:`core.recording.replay`; this module only presents it.

Keys: space pause/play (the app's own), ``,``/``.`` one sample back/forward (←/→ stay the
table's horizontal scroll),
``<``/``>`` one minute back/forward, ``[``/``]`` slower/faster (×0.25…×16), ``t`` seek to a time
(``HH:MM:SS``) or by an offset (``+90s``, ``-2m``), ``a``/``b`` mark A/B, ``d`` diff A → B.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final

from rich.text import Text
from textual.app import App, ComposeResult, ScreenStackError
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from core.errors import MonitorError
from core.recording.replay import SnapshotDiff, diff_between, next_speed, parse_seek
from core.sampling.feed import Seekable
from core.snapshot import Snapshot
from tui import format as fmt

if TYPE_CHECKING:
    from core.connections.model import TcpConnection

JUMP: Final = timedelta(minutes=1)
REPLAY_KEYS: Final[tuple[tuple[str, str], ...]] = (
    ("space", "pause / play"),
    (",", "one sample back"),
    (".", "one sample forward"),
    ("< >", "one minute back / forward"),
    ("[ ]", "slower / faster (×0.25 … ×16)"),
    ("t", "seek: HH:MM:SS, or an offset like +90s, -2m"),
    ("a b", "mark A / mark B"),
    ("d", "diff between the marks"),
)
"""The replay keys, for the help screen."""

_BINDINGS: Final[tuple[tuple[str, str, str, bool], ...]] = (
    ("comma", "replay_step(-1)", "Back", False),
    ("full_stop", "replay_step(1)", "Fwd", False),
    ("less_than_sign", "replay_jump(-60)", "-1m", False),
    ("greater_than_sign", "replay_jump(60)", "+1m", False),
    ("left_square_bracket", "replay_speed(-1)", "Slower", False),
    ("right_square_bracket", "replay_speed(1)", "Faster", False),
    ("t", "replay_seek_prompt", "Seek", True),
    ("a", "replay_mark('A')", "Mark A", True),
    ("b", "replay_mark('B')", "Mark B", True),
    ("d", "replay_diff", "Diff", True),
)


def _timeline(position: float, width: int) -> Text:
    """A bar ``width`` cells wide with a knob at ``position`` (0–1)."""
    width = max(4, width)
    knob = min(width - 1, max(0, round(position * (width - 1))))
    text = Text()
    text.append("━" * knob, style="bold")
    text.append("●", style="bold reverse")
    text.append("─" * (width - knob - 1), style="dim")
    return text


@dataclass
class Marks:
    """The two points in time the user marked (snapshots as recorded)."""

    a: Snapshot | None = None
    b: Snapshot | None = None


class ReplayBar(Static):
    """One line: ▶/⏸, speed, start, timeline, end, position, sample number, marks."""

    DEFAULT_CSS = """
    ReplayBar {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, feed: Seekable, marks: Marks, **kwargs: Any) -> None:
        """Show ``feed``'s position; ``marks`` are shared with the controls."""
        super().__init__(**kwargs)
        self.feed = feed
        self.marks = marks

    def on_mount(self) -> None:
        """Redraw on every snapshot the app shows, and on resize."""
        self.watch(self.app, "snapshot", lambda _snap: self.redraw(), init=True)

    def on_resize(self) -> None:
        """The timeline fills the width."""
        self.redraw()

    def redraw(self) -> None:
        """Draw from the feed's current state."""
        feed = self.feed
        paused = bool(getattr(feed, "paused", False))
        index = getattr(feed, "index", None)
        length = getattr(feed, "length", None)
        head = Text()
        head.append("⏸ " if paused else "▶ ", style="bold")
        head.append(f"×{feed.speed:g}  ", style="bold")
        head.append(fmt.clock(feed.start_time) + " ")
        tail = Text()
        tail.append(" " + fmt.clock(feed.end_time))
        tail.append(f"  at {fmt.clock(feed.position)}", style="bold")
        if index is not None and length is not None:
            tail.append(f" ({index + 1}/{length})")
        for name, snap in (("A", self.marks.a), ("B", self.marks.b)):
            if snap is not None:
                tail.append(f"  {name} {fmt.clock(snap.time)}", style="italic")
        span = (feed.end_time - feed.start_time).total_seconds()
        where = (feed.position - feed.start_time).total_seconds() / span if span > 0 else 1.0
        width = self.size.width - 2 - head.cell_len - tail.cell_len
        text = head + _timeline(where, max(8, width)) + tail
        self.update(text, layout=False)


class SeekScreen(ModalScreen[str | None]):
    """Asks where to go: ``HH:MM:SS`` or an offset."""

    DEFAULT_CSS = """
    SeekScreen { align: center middle; }
    SeekScreen > Vertical {
        width: 60; height: auto; padding: 1 2;
        background: $panel; border: round $primary;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        """A hint and the input."""
        with Vertical():
            yield Static("Seek to HH:MM:SS (UTC), or by an offset: +90s, -2m, +1h")
            yield Input(placeholder="09:00:15 or +90s", id="seek-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Return the text."""
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without seeking."""
        self.dismiss(None)


def _conn_line(conn: TcpConnection, snap: Snapshot) -> str:
    proc = snap.processes.get(conn.owning_process) if conn.owning_process is not None else None
    owner = fmt.safe(proc.name) if proc and proc.name else str(conn.owning_process or "-")
    local = f"{fmt.safe(conn.local_address)}:{conn.local_port}"
    remote = f"{fmt.safe(conn.remote_address)}:{conn.remote_port}"
    return f"{conn.state.name:<12} {local:<30} → {remote:<32} {owner}"


def _counter_lines(diff: SnapshotDiff) -> tuple[list[tuple[str, str]], int]:
    """(line, style) for counters that moved or reset, and how many did not move."""
    lines: list[tuple[str, str]] = []
    still = 0
    for d in diff.counters:
        if not d.delta and not d.reset:
            still += 1
            continue
        before = "–" if d.before is None else str(d.before)
        after = "–" if d.after is None else str(d.after)
        change = "reset (went down)" if d.reset else f"{d.delta:+d}"
        style = "bold red" if d.reset else "bold"
        lines.append(
            (f"  {d.provider:<10} {d.counter:<24} {before:>12} → {after:<12} {change}", style)
        )
    return lines, still


def diff_text(diff: SnapshotDiff) -> Text:
    """The diff as text: a summary, IPsec counters that moved, then the connections."""
    text = Text()
    a, b = diff.a, diff.b
    text.append(
        f"A {fmt.clock(a.time)} (sample {a.seq}) → B {fmt.clock(b.time)} (sample {b.seq}), "
        f"{diff.elapsed.total_seconds():g} s\n",
        style="bold",
    )
    counter_lines, still = _counter_lines(diff)
    text.append(
        f"{len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.state_changed)} state-changed; "
        f"{len(counter_lines)} IPsec counters moved\n\n"
    )
    text.append(f"IPsec counters ({len(diff.counters)})\n", style="bold")
    if not diff.counters:
        text.append("  no IPsec view at both marks\n")
    for line, style in counter_lines:
        text.append(line + "\n", style=style)
    if still:
        text.append(f"  {still} counters unchanged\n", style="dim")
    text.append("\n")
    sections = (
        ("Added", [_conn_line(c, b) for c in diff.added], "green"),
        ("Removed", [_conn_line(c, a) for c in diff.removed], "red"),
        (
            "State changed",
            [f"{c.before.state.name:<12} → {_conn_line(c.after, b)}" for c in diff.state_changed],
            "yellow",
        ),
    )
    for title, lines, style in sections:
        text.append(f"{title} ({len(lines)})\n", style=f"bold {style}")
        for line in lines:
            text.append(f"  {line}\n")
        text.append("\n")
    return text


class DiffScreen(Screen[None]):
    """What differs between mark A and mark B."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,d,q", "close", "Close", id="replay.diff.close"),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-title { height: 1; background: $primary-background; padding: 0 1; }
    DiffScreen #diff-body { padding: 0 1; }
    """

    def __init__(self, diff: SnapshotDiff) -> None:
        """Show ``diff``."""
        super().__init__()
        self.diff = diff

    def compose(self) -> ComposeResult:
        """Title, the diff, footer."""
        yield Static("tcpscope replay — diff between marks", id="diff-title")
        with VerticalScroll():
            yield Static(diff_text(self.diff), id="diff-body")
        yield Footer()

    def action_close(self) -> None:
        """Back to where the user was."""
        self.dismiss(None)


class ReplayControls:
    """The replay actions; installed on the app by :func:`install_replay`."""

    def __init__(self, app: App[Any], feed: Seekable) -> None:
        """Control ``feed`` from ``app``."""
        self.app = app
        self.feed = feed
        self.marks = Marks()

    def _redraw(self) -> None:
        for bar in self.app.screen.query(ReplayBar):
            bar.redraw()

    def action_replay_step(self, samples: int) -> None:
        """One sample back or forward (pauses)."""
        self.feed.step(samples)
        self._sync_paused()

    def action_replay_jump(self, seconds: int) -> None:
        """A minute back or forward in recorded time."""
        self.feed.seek(self.feed.position + timedelta(seconds=seconds))
        self._redraw()

    def action_replay_speed(self, direction: int) -> None:
        """Slower or faster playback."""
        self.feed.set_speed(next_speed(self.feed.speed, direction))
        self.app.notify(f"replay speed ×{self.feed.speed:g}", timeout=1.5)
        self._redraw()

    def action_replay_seek_prompt(self) -> None:
        """Ask for a time or an offset, then seek."""
        self.app.push_screen(SeekScreen(), self.seek_to)

    def seek_to(self, text: str | None) -> None:
        """Seek to what the user typed (a warning when it is not a time)."""
        if not text:
            return
        try:
            when = parse_seek(text, self.feed.position)
        except MonitorError as exc:
            self.app.notify(str(exc), title="Seek", severity="warning")
            return
        self.feed.seek(when)
        self._redraw()

    def action_replay_mark(self, name: str) -> None:
        """Remember the sample shown now as mark A or B."""
        snap: Snapshot | None = getattr(self.app, "snapshot", None)
        if snap is None:
            return
        if name == "A":
            self.marks.a = snap
        else:
            self.marks.b = snap
        self.app.notify(f"mark {name} at {fmt.clock(snap.time)} (sample {snap.seq})", timeout=2)
        self._redraw()

    def action_replay_diff(self) -> None:
        """Show the diff between the marks (both must be set)."""
        a, b = self.marks.a, self.marks.b
        if a is None or b is None:
            self.app.notify("mark A and B first (keys a and b)", title="Diff", severity="warning")
            return
        if b.time < a.time:
            a, b = b, a
        self.app.push_screen(DiffScreen(diff_between(a, b)))

    def _sync_paused(self) -> None:
        # step() pauses the feed; tell the app so its footer and header say so.
        if hasattr(self.app, "paused"):
            self.app.paused = bool(getattr(self.feed, "paused", True))
        self._redraw()

    def ensure_bar(self) -> None:
        """Mount a ReplayBar under the header of the current screen if it has none."""
        try:
            screen = self.app.screen
        except ScreenStackError:  # the app is shutting down
            return
        if screen.query(ReplayBar) or isinstance(screen, (ModalScreen, DiffScreen)):
            return
        bar = ReplayBar(self.feed, self.marks, id="replay-bar")
        headers = screen.query("#header")
        if headers:
            screen.mount(bar, after=headers.first())
        elif screen.children:
            screen.mount(bar, before=screen.children[0])


def install_replay(app: App[Any]) -> ReplayControls | None:
    """Add the replay controls to ``app`` when its feed is seekable (else do nothing)."""
    feed = getattr(app, "feed", None)
    if not isinstance(feed, Seekable):
        return None
    controls = ReplayControls(app, feed)
    for name in dir(controls):
        if name.startswith("action_replay_"):
            # Textual looks actions up by name on the app; the controls own them.
            setattr(app, name, getattr(controls, name))
    for keys, action, description, show in _BINDINGS:
        app.bind(keys, action, description=description, show=show)
    controls.ensure_bar()
    # Screens (the IPsec one, modes switched to later) get their bar when they show.
    app.set_interval(0.2, controls.ensure_bar)
    app.replay_controls = controls  # type: ignore[attr-defined]
    return controls


install = install_replay
"""The name the app looks for (``tui.replay.controls.install(app)``)."""
