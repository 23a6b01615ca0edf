"""The filter line: always shows the active filter; ``/`` opens an input to change it.

Parsing and matching live in :mod:`core.connections.query`; this widget only edits text and reports
what
was submitted. A filter that does not parse stays in the input with the error shown, and the
active filter is left unchanged.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from tui import format as fmt

HINT = "state:est port:443 proc:nginx !user:root — Enter applies, Esc clears"


class FilterBar(Horizontal):
    """Label + input while editing; the active filter text otherwise."""

    DEFAULT_CSS = """
    FilterBar { height: 1; }
    FilterBar #filter-input { display: none; height: 1; border: none; padding: 0; width: 1fr; }
    FilterBar.-editing #filter-input { display: block; }
    FilterBar.-editing #filter-status { display: none; }
    FilterBar #filter-label { width: auto; }
    FilterBar #filter-status { width: 1fr; }
    """

    class Submitted(Message):
        """The user entered a filter line."""

        def __init__(self, text: str) -> None:
            """Carry the text."""
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        """Label, status text and the (hidden) input."""
        yield Static("filter: ", id="filter-label")
        yield Static("", id="filter-status")
        yield Input(placeholder=HINT, id="filter-input", select_on_focus=False)

    def on_mount(self) -> None:
        """Start showing "none"."""
        self.show_active("")

    def show_active(self, text: str, error: str | None = None) -> None:
        """Show ``text`` as the active filter (and an error, if the last input failed)."""
        status = Text()
        if text:
            status.append(fmt.safe(text), style="bold")
        else:
            status.append("none (press / to filter)", style="dim")
        if error:
            status.append(f"  ✗ {fmt.safe(error)}", style="bold")
        self.query_one("#filter-status", Static).update(status)

    def edit(self, current: str) -> None:
        """Open the input with ``current`` in it, focused."""
        field = self.query_one("#filter-input", Input)
        field.value = current
        self.add_class("-editing")
        field.focus()
        field.cursor_position = len(current)

    def close(self) -> None:
        """Hide the input."""
        self.remove_class("-editing")

    @property
    def editing(self) -> bool:
        """True while the input is open."""
        return self.has_class("-editing")

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))
