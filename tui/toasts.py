"""Esc's first job on a screen with a filter: take away the toasts shown, and nothing else.

Why a module: a user presses Esc to get rid of a toast, as in most terminal programs; when
Esc also cleared the filter, the rows changed unseen under the next key (``x`` then aimed at
a connection the filter had kept out of sight). Textual draws toasts in its own rack
(``#textual-toastrack``); only those drawn count (hidden ones, as under a dialog, do not).
"""

from __future__ import annotations

from textual.screen import Screen


def dismiss_toasts(screen: Screen[None]) -> bool:
    """Clear the app's toasts if ``screen`` shows one; True when it did (Esc is spent)."""
    if not any(toast.display for toast in screen.query("#textual-toastrack Toast")):
        return False
    screen.app.clear_notifications()
    return True
