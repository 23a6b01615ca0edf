"""A screen with another pushed over it (help, a dialog, a counter's detail, the command
palette) draws nothing new beneath it, and shows the latest when it is on top again.

Why: Textual draws a modal screen over the one beneath it (dimmed, through its margins), so a
line redrawn beneath is a region of the screen on top to draw again, and every line of that
is written to the terminal again as it was. Over an idle table the help (``?``) was written
whole at each sample and clock tick, 7.6 KB/s at 80x24 (13.6 KB/s over the IPsec counters),
97% of it as it was: over a slow link most of what was sent. Nobody reads the dimmed lines
beneath; the screen on top answers keys at once.

Held: the screen's own drawing of new samples (its :meth:`CoverHeld.uncovered` draws the
latest), and its widgets that redraw on their own (:class:`Holds`: the header's clock, the
replay bar). What a screen forwards to the one over it (the IPsec screen feeds an open
counter's detail) goes on. Another mode's screen is not covered: it is not drawn at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual import events
from textual.screen import Screen

# A mixin, not a Screen subclass: Textual takes a screen's CSS from its first base that is a
# widget class, so a CounterDetailScreen(CoverHeld, ModalScreen) lost ModalScreen's (its
# see-through background: the list beneath went blank).
if TYPE_CHECKING:
    _Base = Screen[None]
else:
    _Base = object


@runtime_checkable
class Holds(Protocol):
    """A widget that redraws without being asked by its screen (a clock, a feed's position)."""

    def hold(self, held: bool) -> None:
        """Stop redrawing (``held``), or draw the latest now."""


class CoverHeld(_Base):
    """A screen that holds still while another is pushed over it (see the module): put
    before the screen class in the bases."""

    _held = False
    """True while its :class:`Holds` widgets are held."""

    @property
    def covered(self) -> bool:
        """Another screen is on top of this one in its stack (then draw nothing new)."""
        stack = self.app.screen_stack
        return self in stack and stack[-1] is not self

    def on_screen_suspend(self, _event: events.ScreenSuspend) -> None:
        """Another screen over this one (not another mode's: this one is not drawn then)."""
        if self.covered and not self._held:
            self._hold(True)

    def on_screen_resume(self, _event: events.ScreenResume) -> None:
        """On top again: the widgets held draw again, then the latest data (:meth:`uncovered`)."""
        if self._held:
            self._hold(False)
        self.uncovered()

    def _hold(self, held: bool) -> None:
        self._held = held
        for widget in self.query("*"):
            if isinstance(widget, Holds):
                widget.hold(held)

    def uncovered(self) -> None:
        """Draw what came while covered (the latest sample), if it is not drawn yet; also
        called when the screen is shown again after another mode's. Screens that draw
        samples override it."""
