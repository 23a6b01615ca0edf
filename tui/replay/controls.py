"""Replay controls: a timeline bar under the header, keys to move in time, marks and a diff.

Why a separate module that plugs into the app: screens must not know whether data is live or
replayed. When the feed is :class:`core.sampling.feed.Seekable`, the App owns a
:class:`ReplayControls`, enables the replay keys (:data:`REPLAY_BINDINGS`, actions in
:class:`ReplayActions`) and every screen composes a :class:`ReplayBar` under its header.
Everything time-related (positions, seeking, the diff itself) is done by
:mod:`core.recording.replay`; this module only presents it.

Keys: space pause/play (the app's own), ``,``/``.`` one sample back/forward (←/→ stay the
table's horizontal scroll),
``<``/``>`` one minute back/forward, ``[``/``]`` slower/faster (×0.25…×16), ``t`` seek to a time
(``HH:MM:SS``) or by an offset (``+90s``, ``-2m``), ``a``/``b`` mark A/B, ``d`` diff A → B.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from core.connections import EMPTY_QUERY, Query, Snapshot, TcpConnection, TcpState
from core.errors import MonitorError
from core.sampling import Seekable
from tui import bindings
from tui import format as fmt
from tui.footer import KeysFooter
from tui.key_scroll import VerticalKeyScroll
from tui.ordered_input import OrderedInput

if TYPE_CHECKING:
    # Imported where used: a live run never replays, and the module costs 75 ms at start-up.
    from core.recording import SnapshotDiff

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


def _timeline(position: float, width: int) -> Text:
    """A bar ``width`` cells wide with a knob at ``position`` (0–1)."""
    width = max(4, width)
    knob = min(width - 1, max(0, round(position * (width - 1))))
    text = Text()
    text.append("━" * knob, style="bold")
    text.append("●", style="bold reverse")
    text.append("─" * (width - knob - 1), style="dim")
    return text


MIN_TIMELINE: Final = 8
"""The timeline's fewest cells: below it, optional parts of the bar are left out."""
LEAST_NEEDED: Final = ("start", "end", "at", "numbers")
"""The bar's optional parts, the first left out first when the line is too narrow: the
timeline's start and end times (the position's own time and number stay), the word "at"
before the position, then the marks' sample numbers. Parts are left out whole, never cut:
at 80 columns mark B's time was cut off at the end of a replay. The numbers tell marks apart
when samples share a clock second (the diff names them "sample 2"), as the position's own
number does."""


@dataclass
class Marks:
    """The two points in time the user marked (snapshots as recorded) and their positions
    in the recording (1-based, as the bar counts)."""

    a: Snapshot | None = None
    b: Snapshot | None = None
    a_number: int = 0
    b_number: int = 0


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

    held = False
    """Set by :meth:`hold` while a screen over this one hides it."""

    def on_mount(self) -> None:
        """Redraw on every snapshot the app shows, and on resize."""
        self.watch(self.app, "snapshot", lambda _snap: self.redraw(), init=True)

    def hold(self, held: bool) -> None:
        """Stop redrawing (``held``), or redraw now. Why: as :meth:`HeaderBar.hold`."""
        self.held = held
        if not held:
            self.redraw()

    def on_resize(self) -> None:
        """The timeline fills the width."""
        self.redraw()

    def redraw(self) -> None:
        """Draw from the feed's current state, fitted to the width (see :data:`LEAST_NEEDED`)."""
        if self.held:
            return
        feed = self.feed
        span = (feed.end_time - feed.start_time).total_seconds()
        where = (feed.position - feed.start_time).total_seconds() / span if span > 0 else 1.0
        room = self.size.width - 2
        for dropped in range(len(LEAST_NEEDED) + 1):
            head, tail = self._parts(frozenset(LEAST_NEEDED[:dropped]))
            width = room - head.cell_len - tail.cell_len
            if width >= MIN_TIMELINE:
                break
        self.update(head + _timeline(where, max(MIN_TIMELINE, width)) + tail, layout=False)

    def _parts(self, left_out: frozenset[str]) -> tuple[Text, Text]:
        """The text before and after the timeline, without the optional parts ``left_out``."""
        feed = self.feed
        paused, index, length = feed.paused, feed.index, feed.length
        number, total = feed.number, feed.total
        head = Text()
        head.append("⏸ " if paused else "▶ ", style="bold")
        head.append(f"×{feed.speed:g}  ", style="bold")
        if "start" not in left_out:
            head.append(fmt.clock(feed.start_time) + " ")
        tail = Text()
        if "end" not in left_out:
            tail.append(" " + fmt.clock(feed.end_time))
        at = "" if "at" in left_out else "at "
        tail.append(f"  {at}{fmt.clock(feed.position)}", style="bold")
        tail.append(f" ({number}/{total})")
        if paused and index == length - 1:
            tail.append(" end", style="bold")
        if getattr(feed, "ends_early", None):
            tail.append(" cut", style="bold red")
        elif total != length:
            tail.append(" gaps", style="bold red")
        marks = self.marks
        for name, snap, number in (("A", marks.a, marks.a_number), ("B", marks.b, marks.b_number)):
            if snap is not None:
                tail.append(f"  {name} {fmt.clock(snap.time)}", style="italic")
                if number and "numbers" not in left_out:
                    tail.append(f" ({number})", style="italic")
        return head, tail


class SeekInput(OrderedInput):
    """The seek prompt's input, its Enter in the footer (Input's is left out of it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Seek")]


class SeekScreen(ModalScreen[str | None]):
    """Asks where to go: ``HH:MM:SS`` or an offset; its own footer says Enter seeks and Esc
    cancels (the replay's showed through, none of its keys working here)."""

    DEFAULT_CSS = """
    SeekScreen { align: center middle; }
    SeekScreen > Vertical {
        width: 60; height: auto; padding: 1 2;
        background: $panel; border: round $primary;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        """A hint and the input; the footer."""
        with Vertical():
            yield Static("Seek to HH:MM:SS (UTC), or by an offset: +90s, -2m, +1h")
            # Dismissed from the Enter itself: the keys read with it act on the replay.
            yield SeekInput(placeholder="09:00:15 or +90s", id="seek-input", submitted=self.dismiss)
        yield KeysFooter(compact=True)

    def action_cancel(self) -> None:
        """Close without seeking."""
        self.dismiss(None)


STATE_CELLS: Final = max(len(fmt.state_name(s)) for s in TcpState)
"""The longest State name (SynReceived): the State column of the diff's connection lines."""
OWNER_CELLS: Final = 16
"""At most this much of a line for the process name: the rest of the width is the
endpoints', which are cut (in the middle of the address) before the process is."""
INDENT: Final = "  "
ARROW: Final = " → "
LISTED: Final = 100
"""At most this many connections of each kind (added, removed, state-changed) are listed,
the rest counted on a line under them: a few screens to read, laid out at once. Why: a
recording with 21k connections opened between the marks laid out a 21,128-line text at every
redraw, and the app froze for minutes (the filter narrows the lists to what matters)."""


@dataclass(frozen=True)
class _ConnRow:
    """One connection of a diff section, its cells not yet fitted to a width."""

    lead: str
    """Before the State: the State at mark A for a state change, else nothing."""
    state: str
    local: str
    remote: str
    owner: str


def _conn_row(conn: TcpConnection, snap: Snapshot, lead: str = "") -> _ConnRow:
    """``conn`` as the sample ``snap`` knew it: the seed's State name (as everywhere else in
    the app, not the kernel's CLOSE_WAIT) and its process's name, else its PID."""
    proc = snap.processes.get(conn.owning_process) if conn.owning_process is not None else None
    owner = fmt.safe(proc.name) if proc and proc.name else str(conn.owning_process or "-")
    return _ConnRow(
        lead,
        fmt.state_name(conn.state),
        fmt.endpoint(conn.local_address, conn.local_port),
        fmt.endpoint(conn.remote_address, conn.remote_port),
        owner,
    )


def _split(room: int, local: int, remote: int) -> tuple[int, int]:
    """Cells for the two endpoint columns out of ``room``: what they need when it fits,
    else half each, the shorter column's spare cells going to the other."""
    if local + remote <= room:
        return local, remote
    local_cells = min(local, max(room - remote, room // 2))
    return local_cells, max(0, min(remote, room - local_cells))


def _conn_lines(rows: list[_ConnRow], width: int) -> list[str]:
    """``rows`` as aligned lines of at most ``width`` cells: State and process whole, the
    endpoints cut to what is left (a line wider than the screen wrapped, and the process
    landed alone on the next line)."""
    if not rows:
        return []
    lead = max(cell_len(r.lead) for r in rows)
    owner = min(OWNER_CELLS, max(cell_len(r.owner) for r in rows))
    fixed = len(INDENT) + lead + STATE_CELLS + 1 + len(ARROW) + 1 + owner
    local, remote = _split(
        max(0, width - fixed),
        max(len(r.local) for r in rows),
        max(len(r.remote) for r in rows),
    )
    return [
        f"{INDENT}{fmt.fit(r.lead, lead)}{r.state:<{STATE_CELLS}} "
        f"{fmt.fit_endpoint(r.local, local)}{ARROW}{fmt.fit_endpoint(r.remote, remote)} "
        f"{fmt.fit(r.owner, owner)}".rstrip()
        for r in rows
    ]


def _counter_lines(diff: SnapshotDiff) -> tuple[list[tuple[str, str]], int]:
    """(line, style) for counters that moved or reset, and how many did not move. Columns
    as wide as their values (fixed 12-cell numbers made each line 81 cells or more)."""
    moved = [d for d in diff.counters if d.delta or d.reset]
    cells = [
        (
            d.provider,
            d.counter,
            "–" if d.before is None else str(d.before),
            "–" if d.after is None else str(d.after),
            "reset (went down)" if d.reset else f"{d.delta:+d}",
        )
        for d in moved
    ]
    widths = [max((len(row[i]) for row in cells), default=0) for i in range(4)]
    lines = [
        (
            f"{INDENT}{provider:<{widths[0]}} {counter:<{widths[1]}} "
            f"{before:>{widths[2]}}{ARROW}{after:<{widths[3]}} {change}",
            "bold red" if d.reset else "bold",
        )
        for d, (provider, counter, before, after, change) in zip(moved, cells, strict=True)
    ]
    return lines, len(diff.counters) - len(moved)


def diff_text(diff: SnapshotDiff, width: int = 80) -> Text:
    """The diff as text: a summary, IPsec counters that moved, then the connections, each
    connection on one line of at most ``width`` cells (the first :data:`LISTED` of each kind,
    then how many more)."""
    text = Text()
    a, b = diff.a, diff.b
    na, nb = (f" (sample {n})" for n in diff.numbers) if diff.numbers else ("", "")
    la, lb = diff.labels
    text.append(
        f"{la} {fmt.clock(a.time)}{na} → {lb} {fmt.clock(b.time)}{nb}, "
        f"{fmt.duration(diff.elapsed.total_seconds())}\n",
        style="bold",
    )
    counter_lines, still = _counter_lines(diff)
    text.append(scope_text(diff))
    text.append(
        f": {len(diff.added)} added, {len(diff.removed)} removed, "
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
    changed = [
        _conn_row(c.after, b, f"{fmt.state_name(c.before.state)}{ARROW}")
        for c in diff.state_changed[:LISTED]
    ]
    sections = (
        ("Added", "added", "green", [_conn_row(c, b) for c in diff.added[:LISTED]], diff.added),
        (
            "Removed",
            "removed",
            "red",
            [_conn_row(c, a) for c in diff.removed[:LISTED]],
            diff.removed,
        ),
        ("State changed", "changed", "yellow", changed, diff.state_changed),
    )
    for title, kind, style, rows, every in sections:
        text.append(f"{title} ({len(every)})\n", style=f"bold {style}")
        for line in _conn_lines(rows, width):
            text.append(f"{line}\n")
        if len(every) > len(rows):
            more = f"… and {len(every) - len(rows)} more {kind}"
            text.append(
                f"{INDENT}{more} (filter them with / on the connections screen)\n", style="dim"
            )
        text.append("\n")
    return text


def scope_text(diff: SnapshotDiff) -> Text:
    """Which connections the lists cover: the connections screen's filter, or all."""
    if not diff.filter:
        return Text("All connections (no filter)")
    text = Text("Connections matching the filter ")
    text.append(fmt.safe(diff.filter), style="bold")
    return text


class DiffBody:
    """The diff as a Rich renderable: laid out for the width it is drawn at (the screen's,
    known only then), and again when the terminal is resized."""

    def __init__(self, diff: SnapshotDiff) -> None:
        """Lay out ``diff`` when drawn."""
        self.diff = diff

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The diff's text for ``options.max_width`` cells."""
        yield diff_text(self.diff, options.max_width)


class DiffScreen(Screen[None]):
    """What differs between mark A and mark B."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,d,q", "close", "Close", id="replay.diff.close"),
        bindings.next_screen(),  # as on the screens it covers (not Textual's focus next)
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
        title = Text("tcpscope replay — diff between marks")
        if self.diff.filter:
            title.append(" · filter ")
            title.append(fmt.safe(self.diff.filter))
        yield Static(title, id="diff-title")
        with VerticalKeyScroll():  # a held ↓ scrolls a line a key
            yield Static(DiffBody(self.diff), id="diff-body")
        yield KeysFooter()

    def action_close(self) -> None:
        """Back to where the user was."""
        self.dismiss(None)


class ReplayControls:
    """The replay state and its operations: the feed's position, speed and the two marks.

    Owned by the App when its feed is seekable; :class:`ReplayActions` turns keys into calls.
    """

    def __init__(
        self,
        app: App[Any],
        feed: Seekable,
        connections_filter: Callable[[], Query] = lambda: EMPTY_QUERY,
    ) -> None:
        """Control ``feed`` from ``app``; ``connections_filter`` gives the connections
        screen's filter now (the diff follows it)."""
        self.app = app
        self.feed = feed
        self.marks = Marks()
        self.connections_filter = connections_filter

    def _redraw(self) -> None:
        for bar in self.app.screen.query(ReplayBar):
            bar.redraw()

    def step(self, samples: int) -> None:
        """One sample back or forward (pauses)."""
        self.feed.step(samples)
        self._redraw()

    def jump(self, seconds: int) -> None:
        """A minute back or forward in recorded time (clamped to the recording)."""
        feed = self.feed
        try:
            when = feed.position + timedelta(seconds=seconds)
        except OverflowError:  # a crafted recording's times next to year 9999 (or 1)
            when = feed.end_time if seconds > 0 else feed.start_time
        feed.seek(when)
        self._redraw()

    def change_speed(self, direction: int) -> None:
        """Slower or faster playback."""
        from core.recording import next_speed

        self.feed.set_speed(next_speed(self.feed.speed, direction))
        self.app.notify(f"replay speed ×{self.feed.speed:g}", timeout=1.5)
        self._redraw()

    def seek_prompt(self) -> None:
        """Ask for a time or an offset, then seek."""
        self.app.push_screen(SeekScreen(), self.seek_to)

    def seek_to(self, text: str | None) -> None:
        """Seek to what the user typed (a warning when it is not a time)."""
        if not text:
            return
        try:
            from core.recording import parse_seek

            when = parse_seek(text, self.feed.position)
        except MonitorError as exc:
            self.app.notify(str(exc), title="Seek", severity="warning", markup=False)
            return
        self.feed.seek(when)
        self._redraw()

    def mark(self, name: str) -> None:
        """Remember the sample at the replay's position as mark A or B.

        Why the feed's, not the App's snapshot: keys read in one go (a slow SSH link) run
        before the stream shows the steps and seeks read with them; ``. . a`` marked the
        sample still shown before the steps.
        """
        snap = self.feed.current()
        number = self.feed.number_of(snap)
        if name == "A":
            self.marks.a, self.marks.a_number = snap, number
        else:
            self.marks.b, self.marks.b_number = snap, number
        self.app.notify(f"mark {name} at {fmt.clock(snap.time)} (sample {number})", timeout=2)
        self._redraw()

    def show_diff(self) -> None:
        """Show the diff between the marks (both must be set)."""
        a, b = self.marks.a, self.marks.b
        numbers = (self.marks.a_number, self.marks.b_number)
        labels = ("A", "B")
        if a is None or b is None:
            self.app.notify("mark A and B first (keys a and b)", title="Diff", severity="warning")
            return
        if b.time < a.time:
            # Forward in time, as added/removed and the counters' deltas read; each time keeps
            # its own mark's letter (it said "A" for mark B's time).
            a, b, numbers, labels = b, a, (numbers[1], numbers[0]), ("B", "A")
        from core.recording import diff_between

        diff = diff_between(a, b, self.connections_filter(), numbers, labels)
        self.app.push_screen(DiffScreen(diff))

    def announce(self) -> None:
        """Say once, at the start, which samples were damaged and skipped and how the file
        ends when it was cut or damaged."""
        notes: list[str] = getattr(self.feed, "notes", [])
        if notes:
            text = "\n".join(notes)
            self.app.notify(text, title="Replay", severity="warning", timeout=10, markup=False)


REPLAY_BINDINGS: Final[list[BindingType]] = [
    Binding(keys, f"replay_{action}", description, show=show, id=f"replay.{name}")
    for name, keys, action, description, show in (
        ("back", "comma", "step(-1)", "Back", False),
        ("forward", "full_stop", "step(1)", "Fwd", False),
        ("minus1m", "less_than_sign", "jump(-60)", "-1m", False),
        ("plus1m", "greater_than_sign", "jump(60)", "+1m", False),
        ("slower", "left_square_bracket", "speed(-1)", "Slower", False),
        ("faster", "right_square_bracket", "speed(1)", "Faster", False),
        ("seek", "t", "seek_prompt", "Seek", True),
        ("mark-a", "a", "mark('A')", "Mark A", True),
        ("mark-b", "b", "mark('B')", "Mark B", True),
        ("diff", "d", "diff", "Diff", True),
    )
]
"""The replay keys; the App enables them (``check_action``) only when it has a replay."""


class ReplayActions:
    """The App's replay actions, mixed into the App class (static, so the footer shows them).

    Each action delegates to :attr:`replay`; the App's ``check_action`` disables them all
    when the feed is live, so they never run without controls.
    """

    replay: ReplayControls | None
    snapshot: Snapshot | None
    paused: bool

    def _controls(self) -> ReplayControls:
        assert self.replay is not None, "replay actions are disabled without a replay"
        return self.replay

    def action_replay_step(self, samples: int) -> None:
        """One sample back or forward (pauses)."""
        controls = self._controls()
        controls.step(samples)
        self.paused = controls.feed.paused

    def action_replay_jump(self, seconds: int) -> None:
        """A minute back or forward in recorded time."""
        self._controls().jump(seconds)

    def action_replay_speed(self, direction: int) -> None:
        """Slower or faster playback."""
        self._controls().change_speed(direction)

    def action_replay_seek_prompt(self) -> None:
        """Ask for a time or an offset, then seek."""
        self._controls().seek_prompt()

    def action_replay_mark(self, name: str) -> None:
        """Remember the sample at the replay's position as mark A or B."""
        self._controls().mark(name)

    def action_replay_diff(self) -> None:
        """Show the diff between the marks."""
        self._controls().show_diff()
