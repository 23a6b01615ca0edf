"""An Input whose editing keys take effect in the order they were typed.

Why: Textual's Input types a printable key as soon as it gets it, but Backspace, Ctrl+U, the
arrows, Home/End and Enter are bindings, which run only when the key has bubbled back up to
the app. Keys read in one go (typed fast over a slow SSH link, pasted) were therefore applied
out of order: ``port:81⌫0`` gave ``port:81`` (the ``0`` was typed, then the Backspace ran),
and ``text⏎x`` submitted ``textx``. Here a key that is not typed runs its binding at once,
through the same chain Textual would walk a moment later, and goes no further.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """A single-line input that keeps a burst of keys in order."""

    async def _on_key(self, event: events.Key) -> None:
        await super()._on_key(event)  # types a printable key (and restarts the blink)
        if event.is_printable:
            return
        # App._check_bindings is Textual's own step for a key that bubbled up (the focused
        # widget's bindings, its ancestors', the screen's, the app's); no public equivalent.
        if await self.app._check_bindings(event.key):
            event.stop()
            event.prevent_default()
