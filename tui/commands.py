"""Command palette entries for the same actions as the keys (Ctrl+P).

Each entry runs an App action by name, so the palette and the key bindings can never drift
apart: both end in the same ``action_*`` method.
"""

from __future__ import annotations

from functools import partial
from typing import Final

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.connections.columns import BY_KEY, SORTABLE, TOGGLEABLE
from tui.shell import shell_of

_ACTIONS: Final = (
    ("Filter connections", "Type a filter (state:, port:, proc: …)", "conn('action_filter')"),
    (
        "Toggle detail pane",
        "Open or close the selected connection's detail",
        "conn('action_toggle_detail')",
    ),
    ("Sort by next column", "Cycle the sort column", "conn('action_next_sort')"),
    ("Reverse sort", "Ascending ↔ descending", "conn('action_reverse_sort')"),
    (
        "Group by process, then container / namespace",
        "g: one row per owning process, then per container or namespace (rows from several),"
        " then no groups",
        "conn('action_toggle_group')",
    ),
    (
        "Host names (reverse DNS)",
        "n: host names instead of addresses, looked up in the background; again: numbers",
        "conn('action_toggle_dns')",
    ),
    (
        "Not reported properties",
        "u: in the detail pane, show or fold the properties Linux does not report",
        "conn('action_toggle_missing')",
    ),
    (
        "Clear filter / close pane",
        "As Esc (which first dismisses the notifications shown)",
        "conn('action_back')",
    ),
    ("Pause / resume", "Stop or restart sampling", "toggle_pause"),
    ("Sample faster", "Shorter interval", "interval(-1)"),
    ("Sample slower", "Longer interval", "interval(1)"),
    ("Connections screen", "Show the connection table", "show_screen('connections')"),
    ("IPsec screen", "Show the IPsec counters", "show_screen('ipsec')"),
    ("Help", "Keys, colours and markers", "help"),
)
"""The keys' actions by name. No "Quit": Textual's own palette commands have it (two entries
read as two different ways out)."""
SORTS: Final = tuple(
    (
        f"Sort by {BY_KEY[key].title}",
        "Order the table by this column",
        f"conn(\"sort_by('{key}')\")",
    )
    for key in SORTABLE
    if key != "marker"
)
"""One "Sort by …" entry per sortable column."""
ACTS: Final = (
    ("Close connection", "Close the selected connection (asks first)", "conn('close_connection')"),
    (
        "Terminate process",
        "SIGTERM, then SIGKILL offered (asks first)",
        "conn('terminate_process')",
    ),
)
"""Acting on the selected row: listed only where it is possible (live, not --redact; Close
also needs CAP_NET_ADMIN)."""
COMMANDS: Final = (
    _ACTIONS
    + SORTS
    + tuple(
        (
            f"Toggle column: {BY_KEY[key].title}",
            "Show or hide this column",
            f"toggle_column('{key}')",
        )
        for key in TOGGLEABLE
    )
)


class TcpscopeCommands(Provider):
    """tcpscope's actions by name."""

    def _hit_all(self) -> list[tuple[str, str, str]]:
        shell = shell_of(self.app)
        off = {"conn('close_connection')": shell.close_off}
        acts = tuple(a for a in ACTS if off.get(a[2], shell.actions_off) is None)
        return [*COMMANDS, *acts]

    async def discover(self) -> Hits:
        """Every command, when the palette opens empty."""
        for title, help_text, action in self._hit_all():
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        """Commands whose title matches ``query``."""
        matcher = self.matcher(query)
        for title, help_text, action in self._hit_all():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, action),
                    help=help_text,
                )
