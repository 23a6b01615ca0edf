"""The parts of the app that protect it from what it shows and where it runs.

Why a base class of its own: these rules hold for every screen and are easy to lose in the app's
own code. Toasts carry filters, process names and daemon errors, so they never parse markup
(``state:[red]x`` is shown as typed) and never pass a control character to the terminal (an
escape sequence, a bidi control): each is escaped, a last line of defence behind the
:func:`~core.textsafe.printable` each message's untrusted parts get where they are built. Ctrl+Z
suspends the app to the shell and ``fg`` brings it back (Textual turns off the terminal's own
signal keys). SIGINT, SIGTERM and SIGHUP end the app the way ``q`` does, so the terminal is
restored (by default SIGTERM killed it mid-frame and left the terminal in the app's screen
mode), ended anyway after a short grace. A terminal that hangs up without a SIGHUP reaching the
app (started under ``runuser`` or ``su``, whose session leader keeps it) ends it the same way:
Textual's input thread otherwise spins on the end of input at a core's full speed, forever.
And the size drawn at never exceeds the terminal (:func:`bound_terminal_size`):
``COLUMNS=100000`` once made the app allocate gigabytes, then draw an unreadable screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import sys
import termios
import threading
import time
from collections.abc import MutableMapping
from typing import Any, ClassVar, Final, NoReturn

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.events import Mount
from textual.notifications import SeverityLevel

from core.textsafe import is_digits, typed

MAX_COLUMNS: Final = 1000
MAX_LINES: Final = 500
"""The largest screen drawn when no terminal can be measured: beyond what any readable
terminal shows (a 4K display at a 6-pixel font is ~640 columns), and small enough that a frame
stays a few MB."""


def bound_terminal_size(
    environ: MutableMapping[str, str] = os.environ,
    measured: os.terminal_size | None = None,
) -> None:
    """Keep the size the app draws at within the terminal it draws on.

    Textual takes the size from ``COLUMNS``/``LINES`` when set, else from the terminal. A
    size larger than the terminal (a stale export, or ``COLUMNS=100000``) would draw lines the
    terminal wraps and scrolls into an unreadable screen, and a huge one allocates gigabytes:
    such a value is replaced by the terminal's own size (by :data:`MAX_COLUMNS` ×
    :data:`MAX_LINES` when there is no terminal to measure). A smaller size is kept (a demo
    recorded at 80x24 in a bigger window); a value that is not a size is dropped.
    ``measured`` is the terminal's size, read from stdout when not given.
    """
    if measured is None:
        try:
            measured = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            measured = None
    for name, bound, real in (
        ("COLUMNS", MAX_COLUMNS, measured.columns if measured else 0),
        ("LINES", MAX_LINES, measured.lines if measured else 0),
    ):
        limit = min(bound, real) if real > 0 else bound
        text = environ.pop(name, "")
        given = is_digits(text) and len(text) <= 9 and int(text) > 0
        size = int(text) if given else real  # not a size: the terminal's own size counts
        if size > limit:
            environ[name] = str(limit)
        elif given:
            environ[name] = text


class GuardedApp(App[int]):
    """An App whose toasts are literal, that Ctrl+Z suspends and SIGINT/TERM/HUP quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, priority=True),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _DEADLINE.terminal_before = _terminal_modes()  # before the driver makes it raw

    @on(Mount)
    def _exit_on_termination_signals(self) -> None:
        loop = asyncio.get_running_loop()

        def handle(sig: int, _frame: object) -> None:
            # Runs in the main thread between two bytecodes, even while the loop is busy, so
            # the deadline starts at the signal. It only hands over: no lock, no new thread.
            _DEADLINE.arm(sig)
            with contextlib.suppress(RuntimeError):  # the loop has ended: the deadline ends it
                loop.call_soon_threadsafe(self._quit_now)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                signal.signal(sig, handle)
        _DEADLINE.start()
        terminal = _input_terminal()
        if terminal is not None and not self.is_headless:
            self.set_interval(HANGUP_CHECK_S, lambda: self._quit_if_hung_up(terminal))

    def _quit_if_hung_up(self, fd: int) -> None:
        """Quit as on SIGHUP once the terminal has hung up (see the module docstring)."""
        if terminal_hung_up(fd) and not _DEADLINE.signalled:
            _DEADLINE.arm(signal.SIGHUP)
            self._quit_now()

    def _quit_now(self) -> None:
        """Quit as ``q`` does: preferences saved, feed closed, terminal restored."""
        self.call_later(self.run_action, "quit")

    async def run_async(self, **kwargs: Any) -> int | None:
        """Run the app; once signalled, end the process as soon as it has quit.

        Why: after the app, asyncio joins its worker threads, and one blocked on a stalled
        daemon would hold that up to its read timeout (the terminal is already restored).
        """
        result = await super().run_async(**kwargs)
        if _DEADLINE.signalled:
            end_process(exit_code(self, result))
        return result

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a toast; its text is always literal (``markup`` is ignored on purpose) and
        its control characters escaped (text already escaped is shown unchanged)."""
        super().notify(
            _no_controls(message),
            title=_no_controls(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )


def _no_controls(text: str) -> str:
    """``text`` with every control character escaped, line breaks kept: :func:`typed` leaves
    backslashes alone, so a message made of :func:`~core.textsafe.printable` text is unchanged."""
    return "\n".join(typed(line) for line in text.split("\n"))


HANGUP_CHECK_S: Final = 1.0
"""How often the app asks whether its terminal has hung up (one ioctl)."""


def _input_terminal() -> int | None:
    """The descriptor the app reads keys from (Textual's driver reads stdin), if a terminal."""
    try:
        fd = sys.__stdin__.fileno()  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return None
    return fd if os.isatty(fd) else None


def terminal_hung_up(fd: int) -> bool:
    """Whether the terminal on ``fd`` has hung up (its other end closed: an SSH session cut,
    a tmux pane killed). A hung-up terminal answers every ioctl with EIO."""
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] in (errno.EIO, errno.ENXIO, errno.EBADF)
    return False


QUIT_GRACE_S: Final = 0.6
"""How long after the signal the app may take to quit cleanly before it is ended anyway (a
quit normally takes 0.2-0.5 s; a worker thread blocked on a stalled daemon can hold it up).
Below a second with room for a loaded machine: the promise is "ended within a second"."""

FEED_CLOSE_GRACE_S: Final = 0.25
"""How long a quit waits for the feed to close (sources, daemon sessions): a close normally
takes milliseconds, one behind a thread blocked on a stalled daemon would wait out its read
timeout, and the quit must restore the terminal well within :data:`QUIT_GRACE_S`."""

_LEAVE_APP_MODE: Final = (
    b"\x1b[?2004l\x1b[?7h\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # paste, wrap, mouse
    b"\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l\x1b[0m\r\n"  # kitty keys, alt screen, cursor, focus
)
"""What Textual's driver writes when it stops, for an exit that cannot wait for it."""


class _QuitDeadline:
    """Ends the process :data:`QUIT_GRACE_S` after a termination signal, or at a second one.

    Why a thread of its own, started before any signal: a worker thread blocked on a stalled
    daemon holds the interpreter's exit (asyncio joins its threads), a busy loop would delay
    a timer, and starting a thread inside a signal handler can deadlock.
    """

    def __init__(self) -> None:
        self.terminal_before: list[Any] | None = None
        self._signalled = threading.Event()
        self._code = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tcpscope-quit", daemon=True)
            self._thread.start()

    @property
    def signalled(self) -> bool:
        return self._signalled.is_set()

    def arm(self, sig: int) -> None:
        if self._signalled.is_set():
            _abandon(128 + sig, self.terminal_before)  # a second signal: now
        self._code = 128 + sig
        self._signalled.set()

    def _run(self) -> None:
        self._signalled.wait()
        time.sleep(QUIT_GRACE_S)
        _abandon(self._code, self.terminal_before)


def _terminal_modes() -> list[Any] | None:
    """The terminal's line settings now (None when stdin is no terminal)."""
    try:
        return termios.tcgetattr(sys.__stdin__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError, termios.error):
        return None


def _abandon(code: int, terminal_before: list[Any] | None) -> NoReturn:
    """End the process now, with the terminal as the app found it (line settings, screen,
    cursor, mouse and key modes), as Textual's driver would have left it."""
    with contextlib.suppress(Exception):
        if terminal_before is not None:
            termios.tcsetattr(sys.__stdin__.fileno(), termios.TCSANOW, terminal_before)  # type: ignore[union-attr]
        os.write(sys.__stderr__.fileno(), _LEAVE_APP_MODE)  # type: ignore[union-attr]
    os._exit(code)


def exit_code(app: App[Any], result: object) -> int:
    """The process's exit code once ``app`` has run and returned ``result``: Textual's return
    code after an unhandled exception (1; it has printed the traceback on stderr), else the
    app's own result (0 when it gave none). A crash once ended the process with 0, as a quit."""
    if app.return_code:
        return app.return_code
    return result if isinstance(result, int) else 0


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


_DEADLINE: Final = _QuitDeadline()
