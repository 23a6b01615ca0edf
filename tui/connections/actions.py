"""Close the selected connection or end its process: confirm exactly what, ask core, toast.

Why a module of its own: the screen only binds keys; the dialogs' screens, the look-up's
waiting screen, the SIGTERM → SIGKILL dialogue and the result toasts live here (what the
dialogs say: :mod:`tui.connections.dialog_bodies`), and every socket or signal goes through
:mod:`core.connections.actions` (in a thread: /proc walks and waits never block a frame).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar, Final, TypeVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import Notification, SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Static

from core import connections
from core.connections import (
    Outcome,
    Snapshot,
    TcpConnection,
    TcpState,
)
from tui import toasts
from tui.connections.conn_table import ConnTable
from tui.connections.dialog_bodies import close_body, state_now, terminate_body
from tui.footer import KeysFooter
from tui.widgets.hanging_text import HangingText

FINDING: Final = "finding the processes that hold it…"
"""Said at once on ``x``/``K``: the walk over every /proc/*/fd before the dialog takes seconds
on a busy host."""
FINDING_S = 8.0
"""How long the :data:`FINDING` toast stays at most: taken away when the look-up ends."""
FILTER_PENDING: Final = "the table is still applying the filter; try again in a moment"
"""``x``/``K`` while a new filter's rows are made in slices: the rows shown are the old one's."""


class DialogBody(VerticalScroll):
    """A dialog's body: as tall as its text, scrolled when the room left is less, and its
    dialog's bottom border saying so (a one-cell scrollbar alone is easily missed, and what
    is out of sight may be a warning). Not focusable: Tab stays between the two buttons, and
    the dialog's arrows scroll it whichever has the focus."""

    can_focus = False

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._cue)

    def on_resize(self) -> None:
        """The terminal or the text changed size: more or less may be out of sight."""
        self._cue()

    def _cue(self) -> None:
        below = round(self.scroll_y) < self.max_scroll_y
        above = round(self.scroll_y) > 0
        cue = "↓ more: ↑↓ scroll" if below else "↑ more above" if above else ""
        if isinstance(self.parent, Widget):
            self.parent.border_subtitle = cue


class AnswerButton(Button):
    """A dialog's button whose Enter the footer lists (Button's own is left out of it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Yes")]


class CancelButton(Button):
    """The dialog's Cancel: Enter on it cancels, as the footer says."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Cancel")]


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question that states exactly what will happen; Cancel has the focus.

    The title stays at the top and the buttons at the bottom of the dialog whatever its body:
    at 60x16 (the smallest the table takes) a listener's ``x`` and a ``K`` grew to the
    screen's height and their buttons were cut off. A body taller than the room left scrolls
    between them (the arrows, PgUp/PgDn, the wheel), its border saying more is below or above.

    Its own footer, over the table's, lists the keys that work here: the table's showed
    through (``? Help / Filter ⏎ Detail s Sort … space Pause``), none of them did what it
    said (``⏎`` cancelled, Cancel having the focus), and ``y``/``n`` showed only on the
    buttons. ``⏎`` is listed as what the focused button does.

    No toast is drawn over it: at 80x24 the toast of a refused ``x`` (six lines, eight
    seconds) covered the next dialog's buttons and its last lines. :func:`ask` drops the
    toasts shown before the first of a chain of questions opens (their news was read); one
    that comes while a question is up is hidden, not dropped, and shows on the table once the
    last question is answered (if not timed out).
    """

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen Toast { display: none; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 1; background: $panel; border: round $error;
        border-subtitle-color: $text-warning;
    }
    ConfirmScreen #confirm-title { dock: top; text-style: bold; margin-bottom: 1; }
    ConfirmScreen DialogBody { height: auto; max-height: 100%; scrollbar-size-vertical: 1; }
    ConfirmScreen Horizontal {
        dock: bottom; height: auto; margin-top: 1; align-horizontal: right;
    }
    ConfirmScreen Button { margin-left: 2; }
    """
    AUTO_FOCUS = "#no"
    """Enter on an untouched dialog cancels."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="confirm.no", key_display="n/esc"),
        Binding("tab", "app.focus_next", "Other button"),
        Binding("shift+tab", "app.focus_previous", "Other button", show=False),
        Binding("down", "scroll_body('down')", "Scroll", show=False),
        Binding("up", "scroll_body('up')", "Scroll", show=False),
        Binding("pagedown", "scroll_body('page_down')", "Scroll", show=False),
        Binding("pageup", "scroll_body('page_up')", "Scroll", show=False),
    ]

    def __init__(self, title: str, body: Text | HangingText, yes: str) -> None:
        """``title`` and ``body`` are shown as plain text (never markup)."""
        super().__init__()
        self._title = title
        self._body = body
        self._yes = yes

    def compose(self) -> ComposeResult:
        """Title, what will happen, the two buttons (the body scrolls between the others);
        the keys that work here in the footer."""
        with Vertical():
            yield Static(Text(self._title), id="confirm-title")
            with DialogBody():
                yield Static(self._body, id="confirm-body")
            with Horizontal():
                yield AnswerButton(f"{self._yes} (y)", variant="error", id="yes")
                yield CancelButton("Cancel (n)", id="no")
        yield KeysFooter(compact=True)

    def action_scroll_body(self, way: str) -> None:
        """The arrows and PgUp/PgDn scroll the body, whichever button has the focus."""
        body = self.query_one(DialogBody)
        scroll = {
            "up": body.scroll_up,
            "down": body.scroll_down,
            "page_up": body.scroll_page_up,
            "page_down": body.scroll_page_down,
        }[way]
        scroll(animate=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Yes closes with True, Cancel with False."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """``y`` / ``n`` / ``Esc``."""
        self.dismiss(yes)


async def ask(screen: Screen[None], question: ConfirmScreen, *, follow_up: bool = False) -> bool:
    """Put ``question`` up and wait for the answer, the toasts shown dropped first: dropped
    once the dialog is up, the table's toast stayed drawn beside and below it.

    ``follow_up``: a question that follows one just answered (Kill after Terminate) drops
    none: the toasts on hand came while the first was up, unseen under it, and dropping them
    lost their news (they show once this one is answered; none is drawn over it)."""
    if not follow_up:
        screen.app.clear_notifications()
    # The toasts ``screen`` drew between two questions stay drawn under the next one (a
    # screen's toasts are refreshed only while it is on top): hidden until it is answered.
    screen.add_class("-asked")
    try:
        return await screen.app.push_screen_wait(question)
    finally:
        screen.remove_class("-asked")


_T = TypeVar("_T")


class FindingScreen(ModalScreen[None]):
    """Up (see-through, under the toast that says so) while the processes holding a socket
    are looked up before its dialog: the keys typed meanwhile come here, not to the table.

    Why: the walk over every /proc/*/fd took 1.5-2.2 s on a busy host with nothing shown, and
    the keys typed meanwhile went to the table (an ``n`` toggled host names; the ``y`` meant
    for the dialog was lost there). Not passed on to the dialog either: a ``y`` typed before
    the dialog says what it closes is not an answer. ``Esc`` gives up the question and ``q``
    quits, as the screen's own footer (drawn over the table's, whose keys do nothing here)
    says.
    """

    DEFAULT_CSS = """
    FindingScreen { background: transparent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "give_up", "Give up", id="finding.cancel"),
        Binding("q", "app.quit", "Quit", id="finding.quit", tooltip="Quit tcpscope"),
    ]

    def __init__(self, title: str, notice: Notification) -> None:
        """Up until the look-up ends (or ``Esc``); ``title``: the question's, for the toast
        that says it was given up; ``notice``: the toast saying what is looked up."""
        super().__init__()
        self._title = title
        self._notice = notice
        self.given_up = False
        """``Esc``: no dialog wanted."""
        self.ended = False
        """The look-up has ended: off the screen stack as soon as it is on top."""

    def compose(self) -> ComposeResult:
        """The keys that work here, over the table's footer."""
        yield KeysFooter(compact=True)

    def on_key(self, event: events.Key) -> None:
        """Any key but this screen's own: kept from the table below (not an answer to the
        dialog to come). Its own go on up to the app, where Textual runs the bindings (a key
        stopped here ran none: ``Esc`` did nothing and the dialog opened anyway)."""
        if event.key not in self.active_bindings:
            event.stop()

    def action_give_up(self) -> None:
        """``Esc``: the look-up's result is not wanted (it ends in its thread unseen)."""
        self.given_up = True
        self.withdraw_notice()
        self.notify("gave up: nothing was done", title=self._title, markup=False)
        self.dismiss()

    def withdraw_notice(self) -> None:
        """The look-up is over or given up: its "finding…" toast stayed its full 8 s, beside
        the "gave up" one or after a walk that failed."""
        toasts.withdraw(self.app, self._notice)

    def on_screen_resume(self) -> None:
        """On top again after the look-up ended under another screen (help): not wanted now.
        Only if still on top: a look-up that ended before this screen first came up has
        dismissed it already, and a second dismiss popped the screen below (the table)."""
        if self.ended and self.app.screen is self:
            self.given_up = True
            self.dismiss()


def finding(screen: Screen[None], title: str) -> FindingScreen:
    """Put a :class:`FindingScreen` up now, with a toast saying what it waits for: at once,
    from the key's handler (from the worker, a key typed with it still reached the table)."""
    shown = FindingScreen(title, toasts.notice(screen.app, FINDING, title=title, timeout=FINDING_S))
    screen.app.push_screen(shown)
    return shown


async def looked_up(screen: Screen[None], up: FindingScreen, work: Callable[[], _T]) -> _T | None:
    """``work()`` (core's walk over /proc, in a thread) while ``up`` keeps the keys typed
    meanwhile from the table; None when it was given up (``Esc``)."""
    try:
        result = await asyncio.to_thread(work)
    finally:
        up.ended = True
        up.withdraw_notice()
        if screen.app.screen is up:
            await up.dismiss()
    return None if up.given_up or up.is_attached else result


def _toast(screen: Screen[None], outcome: Outcome, title: str) -> None:
    severity: SeverityLevel = (
        "information" if outcome.done else "error" if outcome.refusal else "warning"
    )
    screen.notify(outcome.message, title=title, severity=severity, markup=False, timeout=8)


async def close_flow(
    screen: Screen[None], conn: TcpConnection, snap: Snapshot, up: FindingScreen
) -> None:
    """Confirm, then close ``conn``'s socket and say what happened (``up``: see
    :func:`finding`)."""
    from core.netns import sock_diag_in

    targets = await looked_up(
        screen, up, lambda: connections.close_targets([conn], dumper_in=sock_diag_in)
    )
    if targets is None:
        return
    (target,) = targets
    refused = connections.refused_now(target)
    if refused is not None:  # no dialog for what is gone, or what the kernel cannot close
        screen.notify(f"not closed: {refused}", severity="warning", markup=False)
        return
    what = "listener" if state_now(target) is TcpState.LISTEN else "connection"
    question = ConfirmScreen(f"Close this {what}?", close_body(target, snap), "Close")
    if not await ask(screen, question):
        return
    ((_, outcome),) = await asyncio.to_thread(connections.close_connections, [conn], sock_diag_in)
    _toast(screen, outcome, "Close connection")


async def terminate_flow(screen: Screen[None], pid: int, snap: Snapshot, up: FindingScreen) -> None:
    """Confirm, SIGTERM, and offer SIGKILL if the process survives (``up``: see
    :func:`finding`)."""
    conns = list(snap.connections.values())
    target = await looked_up(
        screen, up, lambda: connections.process_target(pid, conns, snap.processes)
    )
    if target is None:
        return
    question = ConfirmScreen(
        f"Terminate {target.label}?", terminate_body(target, snap.namespaces), "Terminate"
    )
    if not await ask(screen, question):
        return
    outcome = await asyncio.to_thread(connections.terminate, target)
    if outcome.done or outcome.refusal is not None:
        _toast(screen, outcome, "Terminate process")
        return
    body = Text(f"{outcome.message}.\n\n")
    body.append("SIGKILL cannot be caught: the process gets no chance to clean up.")
    question = ConfirmScreen(f"Kill {target.label}?", body, "Kill")
    if await ask(screen, question, follow_up=True):
        _toast(screen, await asyncio.to_thread(connections.kill, target), "Kill process")
    else:
        screen.notify(f"{target.label} left running", markup=False)


def start(screen: Screen[None], table: ConnTable, snap: Snapshot | None, kind: str) -> None:
    """Run the ``close`` or ``terminate`` dialogue for the row under ``table``'s cursor."""
    if table.filter_pending:  # the cursor's row may be one the new filter leaves out
        screen.notify(FILTER_PENDING, severity="warning")
        return
    conn = table.cursor_connection
    group = table.cursor_group
    if snap is None or (conn is None and group is None):
        screen.notify("no connection selected", severity="warning")
        return
    if conn is not None and conn.instance_id in table.index.ghosts:
        screen.notify("this connection has closed already", severity="warning")
        return
    if kind == "close":
        if conn is None:
            screen.notify("select a connection (Enter expands the process)", severity="warning")
            return
        refused = connections.unclosable(conn.state)
        if refused is not None:  # no dialog for what the kernel cannot do
            screen.notify(f"not closed: {refused} (K)", severity="warning", markup=False)
            return
        work = close_flow(screen, conn, snap, finding(screen, "Close connection"))
    else:
        pid = conn.owning_process if conn is not None else group.pid if group else None
        if pid is None:
            # Why, from how the owner was looked up: an owner unread is not "no owner". A
            # PID-less process group holds one such answer; a container's says it row by row.
            status = conn.owner_status if conn is not None else group.owner if group else None
            why = (
                connections.no_process_to_end(status, snap.privilege.hidepid_short)
                if status is not None
                else "no PID to terminate in this group (each row's detail says why)"
            )
            screen.notify(why, severity="warning", markup=False)
            return
        work = terminate_flow(screen, pid, snap, finding(screen, "Terminate process"))
    screen.run_worker(work, group="conn-action", exclusive=True, exit_on_error=False)
