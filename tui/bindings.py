"""The keys the App and its screens both bind: help, the screen keys and Tab, declared once.

Why shared: the App binds them so they work on every screen; a screen binds one again only to
place it in its own footer (Textual lists a screen's keys before the App's) or to shadow one of
Textual's screen defaults (Tab). Key, action, label and id are one fact each, so a key or label
changed here changes everywhere, and a keymap entry (by id) remaps the App's and the screens'
binding together. The actions say ``app.``: the App runs them wherever they are bound.
"""

from __future__ import annotations

from typing import Final

from textual.binding import Binding

HELP: Final = Binding("question_mark", "app.help", "Help", id="help", tooltip="Keys and colours")

SCREEN_KEYS: Final = {
    "connections": ("1", "Conns", "Connections screen (Tab also switches)"),
    "ipsec": ("2", "IPsec", "IPsec screen"),
}
"""Screen name (the App's mode) → its key, footer label and tooltip."""


def show_screen(name: str, *, footer: bool) -> Binding:
    """The key that shows screen ``name``; in the footer of the screens that name it."""
    key, label, tooltip = SCREEN_KEYS[name]
    action = f"app.show_screen({name!r})"
    return Binding(key, action, label, id=f"screen-{key}", tooltip=tooltip, show=footer)


def next_screen() -> Binding:
    """Tab: the next screen. Never in the footer (a screen names the other one's key there).

    Not a priority binding: one runs as the key arrives, before the keys read with it are
    handled, so the `/` of ``/sta⇥`` read in one go opened the other screen's filter. Bound
    in its turn, Tab completes in an input opened by an earlier key and switches screens
    elsewhere; a screen binds it to shadow Textual's own Tab (focus next).
    """
    return Binding(
        "tab",
        "app.next_screen",
        "Switch",
        id="switch",
        tooltip="Connections ↔ IPsec",
        show=False,
    )
