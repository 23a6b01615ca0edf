"""The filter line: always shows the active filter; ``/`` opens an input to change it.

Parsing and matching live in :mod:`core.connections.query`; this widget edits text, says what
is wrong with it while it is typed (``validate``), completes the word under the cursor on Tab
(``complete``) and hands what was submitted to its screen (``submitted``, called from the Enter
itself: the screen closes the bar and moves the focus before the keys read with the Enter
are handled, see :mod:`tui.ordered_input`). Tab never leaves the input: without a completer
it does nothing, so the letters typed next stay in the filter instead of acting as commands.
A filter that does not parse stays in the input with the error shown, and the active filter
is left unchanged. What this bar shows is the user's text or names already made printable,
shown as typed (:func:`tui.format.as_typed`): a backslash is not doubled again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Final

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Static

from core.connections import Completion
from tui import format as fmt
from tui.ordered_input import OrderedInput

HINT = "state:est,listen port:80,443 -port:22 addr:10.0.0.0/8 — Tab completes, Enter applies"

Validate = Callable[[str], str | None]
"""Returns a one-line error for the text, or None when it is fine."""
Complete = Callable[[str, int], Completion]
"""Completes the text at the cursor."""


class FilterInput(OrderedInput):
    """The filter's input: its footer names Enter (apply) and hides the keys typed into it.

    Why: while the filter was typed the footer showed only ``/ Filter``, a key that cannot work
    there (``/`` is typed into the input), and not Enter, Esc or Tab, the keys that do.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply", tooltip="Apply the filter and close the input"),
    ]

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """As Input: printable keys are typed here, ``/`` included (Textual finds no character
        for the key name ``slash``, so a screen's ``/`` binding stayed in the footer)."""
        return super().check_consume_key(key, character or _TYPED.get(key))


_TYPED: Final = {"slash": "/"}
"""Key names whose character Textual's footer filter does not find."""


class FilterBar(Horizontal):
    """Label + input (+ inline error or choices) while editing; the active filter otherwise."""

    DEFAULT_CSS = """
    FilterBar { height: auto; max-height: 3; }
    FilterBar #filter-input { display: none; height: 1; border: none; padding: 0; width: 1fr; }
    FilterBar.-editing #filter-input { display: block; }
    FilterBar.-editing #filter-status { display: none; }
    FilterBar #filter-label { width: auto; }
    FilterBar #filter-status { width: 1fr; height: auto; max-height: 3; }
    FilterBar #filter-hint {
        display: none; width: auto; max-width: 60%; height: auto; max-height: 3;
    }
    FilterBar.-editing #filter-hint { display: block; }
    FilterBar #filter-hint.-error { color: $error; text-style: bold; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(
        self,
        *,
        submitted: Callable[[str], object],
        validate: Validate | None = None,
        complete: Complete | None = None,
        escape: str | None = None,
        id: str | None = None,
    ) -> None:
        """A bar whose input checks itself with ``validate``, completes with ``complete`` and
        gives the text entered to ``submitted`` (which closes the bar and moves the focus
        at once, or leaves it open); ``escape``: the screen's action that Esc runs while
        editing (named in the footer)."""
        super().__init__(id=id)
        self._submitted = submitted
        self._validate = validate
        self._complete = complete
        # Shown in the footer only where the key does something while the filter is typed.
        if escape is not None:
            self._bindings.key_to_bindings["escape"] = [
                Binding("escape", escape, "Clear", tooltip="Clear the filter")
            ]
        if complete is not None:
            self._bindings.key_to_bindings["tab"] = [
                Binding("tab", "complete", "Complete", tooltip="Complete the word")
            ]

    def compose(self) -> ComposeResult:
        """Label, status text, the (hidden) input and its hint."""
        yield Static("filter: ", id="filter-label")
        yield Static("", id="filter-status")
        yield FilterInput(
            placeholder=HINT, id="filter-input", select_on_focus=False, submitted=self._submitted
        )
        yield Static("", id="filter-hint")

    def on_mount(self) -> None:
        """Start showing "none"."""
        self.show_active("")

    def show_active(self, text: str, error: str | None = None) -> None:
        """Show ``text`` as the active filter (and an error, if the last input failed)."""
        status = Text()
        if text:
            status.append(fmt.as_typed(text), style="bold")
        else:
            status.append("none (press / to filter)", style="dim")
        if error:
            status.append(f"  ✗ {fmt.as_typed(error)}", style="bold")
        self.query_one("#filter-status", Static).update(status)
        self._hint(error, error=True)

    def _hint(self, text: str | None, *, error: bool) -> None:
        hint = self.query_one("#filter-hint", Static)
        hint.set_class(error and bool(text), "-error")
        shown = fmt.as_typed(text or "")
        hint.update(Text(f" ✗ {shown}" if error and text else shown))

    def edit(self, current: str) -> None:
        """Open the input with ``current`` in it, focused."""
        field = self.query_one("#filter-input", Input)
        field.value = current
        self.add_class("-editing")
        # Focused at once, not after a refresh: keys read with the `/` go to it (see
        # TcpscopeApp._typed_elsewhere) and not to the table as commands.
        self.screen.set_focus(field)
        field.cursor_position = len(current)

    def close(self) -> None:
        """Hide the input."""
        self.remove_class("-editing")

    @property
    def editing(self) -> bool:
        """True while the input is open."""
        return self.has_class("-editing")

    @property
    def error(self) -> str:
        """The error shown next to the input ("" when the text parses)."""
        hint = self.query_one("#filter-hint", Static)
        return str(hint.render()).removeprefix(" ✗ ") if hint.has_class("-error") else ""

    def action_complete(self) -> None:
        """Tab: complete the word under the cursor; the focus stays in the input."""
        if not self.editing or self._complete is None:
            return
        field = self.query_one("#filter-input", Input)
        done = self._complete(field.value, field.cursor_position)
        if done.text != field.value:
            field.value = done.text
            field.cursor_position = done.cursor
        if len(done.choices) > 1:
            self._hint("  ".join(done.choices), error=False)
        elif not done.choices:
            self._hint("no completion here", error=False)

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        # Say what is wrong while it is typed, not only on Enter.
        problem = self._validate(event.value) if self._validate is not None else None
        self._hint(problem, error=True)
