"""The parts of the app that protect it from what it shows and where it runs.

Why a base class of its own: these rules hold for every screen and are easy to lose in the
app's own code. Toasts carry filters, process names and daemon errors, so they never parse
markup (``state:[red]x`` is shown as typed). Ctrl+Z suspends the app to the shell and ``fg``
brings it back (Textual turns off the terminal's own signal keys). SIGINT, SIGTERM and SIGHUP
end the app the way ``q`` does, so the terminal is restored (by default SIGTERM killed it
mid-frame and left the terminal in the app's screen mode), ended anyway after a short grace.
And the terminal size is bounded (:func:`bound_terminal_size`): ``COLUMNS=100000`` once made
the app allocate gigabytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import MutableMapping
from typing import ClassVar, Final, NoReturn

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.events import Mount
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
    """An App whose toasts are literal, that Ctrl+Z suspends and SIGINT/TERM/HUP quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, priority=True),
    ]

    @on(Mount)
    def _exit_on_termination_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._quit_soon, sig)

    def _quit_soon(self, sig: int) -> None:
        """Quit as ``q`` does (the feed is closed, so no worker thread holds the exit up);
        if that has not ended the process within :data:`QUIT_GRACE_S`, or on a second
        signal, end it at once with the terminal put back in its normal screen."""
        if getattr(self, "_quitting", False):
            _abandon(128 + sig)
        self._quitting = True
        self.call_later(self.run_action, "quit")
        timer = threading.Timer(QUIT_GRACE_S, _abandon, (128 + sig,))
        timer.daemon = True
        timer.start()

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


QUIT_GRACE_S: Final = 0.8
"""How long a signalled app may take to quit cleanly before it is ended anyway (a quit
normally takes 0.2-0.5 s; a worker thread blocked on a stalled daemon can hold it up)."""


def _abandon(code: int) -> None:
    """End the process now: leave the alternate screen, show the cursor, exit."""
    with contextlib.suppress(Exception):
        os.write(sys.__stderr__.fileno(), b"\x1b[?1049l\x1b[?25h\x1b[0m\r\n")  # type: ignore[union-attr]
    os._exit(code)


def end_process(code: int) -> NoReturn:
    """Exit now, skipping the interpreter's teardown.

    Why: freeing a Textual session's heap at exit takes 0.2-0.6 s of CPU, after the app has
    restored the terminal, saved preferences and closed the feed. Skipping it keeps ``q``,
    SIGINT and SIGTERM within a second; stdout and stderr are flushed first.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
