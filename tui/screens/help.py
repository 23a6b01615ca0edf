"""The help screen: every key, what each colour and marker means, and the filter syntax.

A modal over the current screen; ``Esc``, ``q`` or ``?`` closes it. The keys of the screen it
opens over come first, and each section names the screen it is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Final

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from core.connections import FILTER_KEYS
from tui.footer import KeysFooter
from tui.key_scroll import VerticalKeyScroll
from tui.replay.controls import REPLAY_KEYS

KEYS: Final = (
    ("/", "filter (not saved): " + " ".join(f"{key}:" for key in FILTER_KEYS)),
    ("", "  port:80,443 (or)  -state:listen (not)  addr:10.0.0.0/8  port:1024-65535  port:https"),
    ("Tab", "in the filter: complete the field or value under the cursor"),
    ("Enter", "open/close the detail pane (on a process row: expand/collapse it)"),
    ("Ctrl+D / Ctrl+U", "page the detail pane down / up (the cursor stays in the table)"),
    (
        "Esc",
        "dismiss the notifications shown; else close the filter input or the detail pane, "
        "else clear the filter (a notification says which)",
    ),
    ("s / S", "sort by the next column / reverse the direction"),
    ("< / >", "sort by the column left / right of the sorted one (or click a title)"),
    ("T / O / P", "sort by State / OffloadState / PID (again: reverse)"),
    ("u", "detail pane: show / fold the properties not reported"),
    ("n", "host names for addresses (reverse DNS in the background; off by default)"),
    (
        "g",
        "group by owning process (Enter expands a group); again: by container or "
        "namespace when several are shown; again: no groups",
    ),
    ("x", "close the selected connection, as ss -K does (asks first; live only)"),
    ("K", "terminate the selected process: SIGTERM, then SIGKILL offered (asks first)"),
    ("↑ ↓ PgUp PgDn Home End", "move the cursor (it stays on its connection)"),
)
"""The connections screen's own keys."""

COMMON_KEYS: Final = (
    ("space", "pause / resume sampling"),
    ("+ / -", "sample more / less often (0.25 s to 60 s)"),
    ("1 / 2 / Tab", "connections screen / IPsec screen / switch"),
    ("Ctrl+P", "command palette (the same actions by name)"),
    ("?", "this help"),
    ("q / Ctrl+C", "quit"),
)
"""The keys that act alike on every screen."""

IN_A_REPLAY: Final[dict[str, str | None]] = {
    "< / >": None,  # a minute back / forward there (listed under Replay)
    "space": None,  # pause / play (listed under Replay)
    "+ / -": "live only: a replay keeps the recording's interval ([ ] change its speed)",
    "x": "close the selected connection (live only)",
    "K": "terminate the selected process (live only)",
}
"""What the keys of :data:`KEYS` do in a replay where that differs (None: left out, the
Replay section says what they do there): ``< / >`` were listed as sorting in a replay."""


OVER_REMOTE: Final[dict[str, str]] = {
    "x": "close the selected connection (not available with --remote in the TUI: "
    "tcpscope --remote HOST close)",
    "K": "terminate the selected process (not available with --remote)",
}
"""What :data:`KEYS` says of the keys the footer leaves out over ``--remote``."""


def keys_for(
    keys: tuple[tuple[str, str], ...],
    replay: bool,
    remote: bool = False,
    close_off: str | None = None,
    terminate_off: str | None = None,
) -> list[tuple[str, str]]:
    """``keys`` (of :data:`KEYS` or :data:`COMMON_KEYS`) as they act live, in a replay
    (:data:`IN_A_REPLAY`) or over ``--remote`` (:data:`OVER_REMOTE`); live, ``x`` and ``K``
    say why they are off where they are (``close_off``, ``terminate_off``: the reasons the
    keys give, e.g. no CAP_NET_ADMIN).

    Why: the footer dims ``x`` and the key refuses with its reason, while help listed it as
    if it worked."""
    if replay:
        rows = [(key, IN_A_REPLAY.get(key, what)) for key, what in keys]
        return [(key, what) for key, what in rows if what is not None]
    if remote:
        return [(key, OVER_REMOTE.get(key, what)) for key, what in keys]
    off = {"x": close_off, "K": terminate_off}
    return [(key, _off_here(what, off.get(key))) for key, what in keys]


def _off_here(what: str, why: str | None) -> str:
    """A key's line, saying it is off here and ``why`` when it is."""
    return what if why is None else f"{what}. Off here: {why}"


IPSEC_KEYS: Final = (
    (
        "Enter",
        "open the counter's detail (description, sources, grade, peak); Enter or Esc closes it",
    ),
    ("n", "native counters and the SA list / back to the 21 counters"),
    ("/", "filter counters by name (not saved)"),
    ("Esc", "dismiss the notifications shown; else clear the filter"),
    (
        "PgUp/PgDn/Home/End",
        "move the cursor with the view (its provider is shown reversed on the providers line)",
    ),
    (
        "← → Home End",
        "native view: the SA column left / right (a page at most); Home: the first row"
        " and column; End: the last row, with the last columns of the rows on screen",
    ),
)
"""The IPsec screen's own keys."""

IPSEC_MEANINGS: Final = (
    ("N/s", "running total: rate per second since the last sample"),
    ("N now", "gauge: the current value"),
    ("—", "not reported: the row says why (privilege, daemon absent, no honest source)"),
    ("≥N", "a lower bound: events were missed (the listener lost the daemon); detail says why"),
    ("1.23 T", "a count too wide for its cell, cut down to 3 digits (k M G T P E); detail exact"),
    ("⟲ reset", "the total went down (daemon restart, counter reset, wrap): no rate"),
    (
        "╎",
        "a gap in the sparkline: no value or a reset there (a bar in its colour: a reset"
        " among the samples of that column, the bar their peak)",
    ),
    ("exact close approx none", "how well the source matches the Windows counter"),
)

MEANINGS: Final = (
    ("+", "conn-table--new", "new: appeared in the last few seconds (green)"),
    ("~", "conn-table--changed", "State changed in the last few seconds (yellow)"),
    ("x", "conn-table--ghost", "closed: dimmed ghost with its last state, gone after the TTL"),
    ("≥", "", "Age: open before tcpscope started, so only a lower bound"),
)


SCREEN_NAMES: Final = {"connections": "connections", "ipsec": "IPsec"}
"""The App's screen (mode) → its name in the section headings."""

HEADER_TEXT: Final = (
    "\nThe header shows host, source, interval, the last sample's time and age"
    " (under a pop-up such as this one: held under pop-up, the screen beneath holding"
    " still), PAUSED, and whether cells are hidden for lack of privilege. A red banner"
    " means the sampler failed; the table then shows the last good sample. With"
    " --remote it says why the link is down (the header: since when)."
)


def _grid(rows: Iterable[tuple[str, str]]) -> Static:
    """``rows`` of key (or marker) and what it does, in two columns."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in rows:
        table.add_row(key, what)
    return Static(table)


def _heading(text: str) -> Static:
    """A section's heading, a blank line above it."""
    return Static(Text("\n" + text, style="bold u"))


class HelpScreen(ModalScreen[None]):
    """Keys, colours, markers; the keys of the screen it was opened on first; in a replay,
    the keys as they act there.

    Its own footer says how to close it: the table's showed through, none of its keys
    worked here, and its ``q Quit`` closed help."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="close-help", key_display="esc/q/?"),
    ]

    def __init__(
        self,
        replay: bool = False,
        remote: bool = False,
        screen: str = "",
        close_off: str | None = None,
        terminate_off: str | None = None,
    ) -> None:
        """List the keys as they act live, in a replay when ``replay``, or over ``--remote``
        when ``remote``; ``screen``: the App's screen it opens over (``connections`` or
        ``ipsec``), whose keys come first; ``close_off``, ``terminate_off``: why ``x`` and
        ``K`` are off (see :func:`keys_for`)."""
        super().__init__()
        self.replay = replay
        self.remote = remote
        self.close_off = close_off
        self.terminate_off = terminate_off
        self.screen_name = screen if screen in SCREEN_NAMES else "connections"

    def _connections(self) -> tuple[list[Static], list[Static]]:
        """The connections screen's keys, and what its rows and header show."""
        rows = keys_for(KEYS, self.replay, self.remote, self.close_off, self.terminate_off)
        keys = [_grid(rows)]
        shown = [
            _heading(
                "Connections screen: row colours and markers (markers also work with NO_COLOR)"
            ),
            _grid((marker, what) for marker, _, what in MEANINGS),
            Static(Text(HEADER_TEXT)),
        ]
        return keys, shown

    @staticmethod
    def _ipsec() -> tuple[list[Static], list[Static]]:
        """The IPsec screen's keys, and what its cells show."""
        shown = [_heading("IPsec screen: what the cells show"), _grid(IPSEC_MEANINGS)]
        return [_grid(IPSEC_KEYS)], shown

    def compose(self) -> ComposeResult:
        """One scrollable text block: the keys of the screen it opened over, then the keys of
        every screen, what that screen shows, then the other screen's, and the replay's.

        Why that order: opened on the IPsec screen, it began with the connections screen's
        keys (``n`` host names, where ``n`` there opens the native counters). The footer
        last: how to close it."""
        here = self.screen_name
        sections = {"connections": self._connections(), "ipsec": self._ipsec()}
        keys, shown = sections.pop(here)
        ((other, (other_keys, other_shown)),) = sections.items()
        with VerticalKeyScroll(id="help-body"):  # a held ↓ scrolls a line a key
            yield Static(Text(f"tcpscope — keys on the {SCREEN_NAMES[here]} screen", "bold u"))
            yield from keys
            yield _heading("Keys on every screen")
            yield _grid(keys_for(COMMON_KEYS, self.replay, self.remote))
            yield from shown
            name = SCREEN_NAMES[other]
            yield _heading(f"{name[:1].upper()}{name[1:]} screen — keys")
            yield from other_keys
            yield from other_shown
            yield _heading("Replay (tcpscope --replay FILE)")
            yield _grid(REPLAY_KEYS)
        yield KeysFooter(compact=True)

    def action_close(self) -> None:
        """Back to the previous screen."""
        self.dismiss(None)
