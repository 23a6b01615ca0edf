"""The parts of the app that protect it from what it shows and where it runs.

Why a base class of its own: these rules hold for every screen and are easy to lose in the
app's own code. Toasts carry filters, process names and daemon errors, so they never parse
markup (``state:[red]x`` is shown as typed). Ctrl+Z suspends the app to the shell and ``fg``
brings it back (Textual turns off the terminal's own signal keys). And the terminal size is
bounded (:func:`bound_terminal_size`): ``COLUMNS=100000`` once made the app allocate gigabytes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from typing import ClassVar, Final

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel

MAX_COLUMNS: Final = 1000
MAX_LINES: Final = 500
"""The largest screen drawn: beyond what any readable terminal shows (a 4K display at a
6-pixel font is ~640 columns), and small enough that a frame stays a few MB."""


def bound_terminal_size(environ: MutableMapping[str, str] = os.environ) -> None:
    """Clamp the size the app will use to :data:`MAX_COLUMNS` × :data:`MAX_LINES`.

    Textual takes the size from ``COLUMNS``/``LINES`` when set, else from the terminal; a bad
    or huge value is replaced by a bounded one (a real terminal larger than the bound is drawn
    at the bound).
    """
    try:
        measured = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        measured = os.terminal_size((80, 24))
    for name, limit, real in (
        ("COLUMNS", MAX_COLUMNS, measured.columns),
        ("LINES", MAX_LINES, measured.lines),
    ):
        text = environ.get(name)
        size = real
        if text is not None:
            if text.isascii() and text.isdigit() and len(text) <= 9 and int(text) > 0:
                size = int(text)
            else:
                del environ[name]  # not a size: the terminal's own size counts
        if size > limit:
            environ[name] = str(limit)


class GuardedApp(App[int]):
    """An App whose toasts are literal and that Ctrl+Z suspends."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, priority=True),
    ]

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a toast; its text is always literal (``markup`` is ignored on purpose)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)
