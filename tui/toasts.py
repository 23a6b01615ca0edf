"""Esc's first job on a screen with a filter: take away the toasts shown, and nothing else;
when Esc does clear a filter, say which it was.

Why a module: a user presses Esc to get rid of a toast, as in most terminal programs; when
Esc also cleared the filter, the rows changed unseen under the next key (``x`` then aimed at
a connection the filter had kept out of sight). Textual draws toasts in its own rack
(``#textual-toastrack``); only those drawn count (hidden ones, as under a dialog, do not).
The connections and IPsec screens share both rules, so their Esc behaves and speaks alike.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import Notification, Notify
from textual.screen import Screen

from tui import format as fmt


def dismiss_toasts(screen: Screen[None]) -> bool:
    """Clear the app's toasts if ``screen`` shows one; True when it did (Esc is spent)."""
    if not any(toast.display for toast in screen.query("#textual-toastrack Toast")):
        return False
    screen.app.clear_notifications()
    return True


def say_filter_cleared(screen: Screen[None], was: str) -> None:
    """Say that the filter ``was`` (the user's text) is dropped, if there was one: every row
    is back, and a user who did not mean it sees why, and what to type again."""
    if was:
        said = f"was: {fmt.as_typed(was)}"
        screen.notify(said, title="Filter cleared", timeout=4, markup=False)


def notice(app: App[object], message: str, *, title: str, timeout: float) -> Notification:
    """A plain-text toast that :func:`withdraw` can take back before its timeout: a toast
    saying what is under way ("finding…") outlived the work it spoke of (Textual's
    ``notify`` gives nothing to take one toast back by)."""
    shown = Notification(message, title, "information", timeout, markup=False)
    app.post_message(Notify(shown))
    return shown


def withdraw(app: App[object], shown: Notification) -> None:
    """Take ``shown`` (from :func:`notice`) away, leaving the other toasts. Queued behind
    the message that shows it, so a toast taken back at once is not shown after."""
    app.call_later(app._unnotify, shown)
