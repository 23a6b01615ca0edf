"""Help (``?``) opens on the keys of the screen it was opened on, each section saying its screen.

Why: opened on the IPsec screen it began with the connections screen's keys, unlabelled
(``/ filter (not saved): state: port: …``, ``n host names…``), where ``/`` filters counters by
name and ``n`` opens the native counters; the IPsec keys came three PgDn later.
"""

from __future__ import annotations

import re

import pytest
from textual.binding import Binding

from tests.tui.test_ipsec_screen import drawn_lines, make, open_ipsec
from tui.connections.screen import ConnectionsScreen
from tui.ipsec.screen import IpsecScreen
from tui.screens.help import HelpScreen

SHOWN_AS = {
    "slash": "/",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
    "ctrl+d": "Ctrl+D",
    "ctrl+u": "Ctrl+U",
    "greater_than_sign": ">",
    "less_than_sign": "<",
}
MOVES = frozenset({"↑", "↓", "←", "→", "PgUp", "PgDn", "Home", "End"})


def own_keys(screen: type[ConnectionsScreen | IpsecScreen]) -> set[str]:
    """The keys ``screen`` binds for itself (not the App's, which it repeats for its
    footer), as help names them."""
    return {
        SHOWN_AS.get(key, key)
        for binding in screen.BINDINGS
        if isinstance(binding, Binding) and not binding.action.startswith("app.")
        for key in binding.key.split(",")
    }


def help_lines(lines: list[str]) -> list[str]:
    """The text inside the help's frame, as drawn."""
    inside = [ln for ln in lines if ln.count("│") >= 2]
    return [ln[ln.index("│") + 2 : ln.rindex("│")].rstrip(" ▂▅▇█") for ln in inside]


def first_section(lines: list[str]) -> tuple[str, list[set[str]]]:
    """The help's title and the keys of each row under it, up to the next heading."""
    title, *rest = lines
    rows: list[set[str]] = []
    for line in rest:
        if not line or line.startswith(" "):
            continue  # a blank line or a row's continuation
        cells = re.split(r"\s{2,}", line, maxsplit=1)
        if len(cells) == 1:
            break  # a heading
        rows.append(key_names(cells[0]))
    return title, rows


def key_names(cell: str) -> set[str]:
    """The keys a help row names: ``s / S`` → s, S; ``PgUp/PgDn`` → PgUp, PgDn; ``/`` → /."""
    words = cell.split()
    if len(words) > 1:
        words = [word for word in words if word != "/"]  # "a / b": a separator
    return {key for word in words for key in (word.split("/") if word != "/" else [word])}


@pytest.mark.parametrize(
    ("key", "screen", "name"),
    [("1", ConnectionsScreen, "connections"), ("2", IpsecScreen, "IPsec")],
    ids=["connections", "ipsec"],
)
async def test_help_at_80x24_opens_on_the_keys_of_the_screen_it_is_opened_on(
    key: str, screen: type[ConnectionsScreen | IpsecScreen], name: str
) -> None:
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ipsec(pilot, app, feed, 2)
        await pilot.press(key, "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = help_lines(drawn_lines(app))
        title, rows = first_section(lines)
        assert title.startswith("tcpscope — keys") and f"{name} screen" in title, lines
        bound = own_keys(screen) | MOVES | ({"Tab"} if name == "connections" else set())
        assert rows, lines
        for keys in rows:
            assert keys <= bound, (keys, lines)
        if screen is IpsecScreen:  # few enough to be seen whole without scrolling
            assert own_keys(screen) <= set().union(*rows), lines
