"""An Input whose editing keys take effect in the order they were typed.

Why: Textual's Input types a printable key as soon as it gets it, but Backspace, Ctrl+U, the
arrows, Home/End and Enter are bindings, which run only when the key has bubbled back up to
the app. Keys read in one go (typed fast over a slow SSH link, pasted) were therefore applied
out of order: ``port:81⌫0`` gave ``port:81`` (the ``0`` was typed, then the Backspace ran),
and ``text⏎x`` submitted ``textx``. Here a key that is not typed runs its binding at once,
through the same chain Textual would walk a moment later, and goes no further.

Keys read with the Enter or Escape that closes the input are already queued for it: its
owner's ``submitted`` callback runs from the Enter itself (not from a queued Submitted
message), so the input is closed and the focus moved before the next key is handled, and a
key reaching an input that no longer has the focus is handed on to the widget that has it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.widget import Widget
from textual.widgets import Input


class OrderedInput(Input):
    """A single-line input that keeps a burst of keys in order."""

    def __init__(self, *args: Any, submitted: Callable[[str], object] | None = None, **kwargs: Any):
        """An Input; ``submitted`` (given: in place of the Submitted message) gets the text on
        Enter, and should close the input and move the focus at once."""
        super().__init__(*args, **kwargs)
        self._submitted = submitted

    async def action_submit(self) -> None:
        """Enter: the owner's callback now, else Textual's Submitted message."""
        if self._submitted is None:
            await super().action_submit()
        else:
            self._submitted(self.value)

    async def _on_key(self, event: events.Key) -> None:
        focused = self.app.focused
        if focused is not self:  # closed by a key read before this one: not for it any more
            event.stop()
            event.prevent_default()
            self._hand_on(event, focused)
            return
        await super()._on_key(event)  # types a printable key (and restarts the blink)
        if event.is_printable:
            return
        # App._check_bindings is Textual's own step for a key that bubbled up (the focused
        # widget's bindings, its ancestors', the screen's, the app's); no public equivalent.
        if await self.app._check_bindings(event.key):
            event.stop()
            event.prevent_default()

    def _hand_on(self, key: events.Key, focused: Widget | None) -> None:
        """Send ``key`` on as Textual sends a key to the focused widget (to the screen when
        none is), marked as sent there as the App marks the keys it hands on (an input that
        an earlier key opens meanwhile still gets it: ``TcpscopeApp._typed_elsewhere``)."""
        target = focused if focused is not None else self.app.screen
        again = events.Key(key.key, key.character)
        again._tcpscope_sent_to = target  # type: ignore[attr-defined]  # see TcpscopeApp
        again.set_sender(self.app)
        target._forward_event(again)
