"""A line on the terminal saying what a slow first ``--remote`` start is doing.

Why: on a slow link the first start takes long (the agent is ~375 kB: 47 s at 8 kB/s), and a
terminal that shows nothing for that long looks hung. Why only after a couple of seconds and
only on a terminal: a quick start, a script's stderr and a log file must stay as they were.
Why the clock starts only once ssh has taken the agent: before that ssh may be asking for a
password on the same terminal, and a line written then would overwrite its prompt. The line
is erased when the start ends, so an error or the app starts on a clean line.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import IO, Any, Final, Protocol

NOTICE_AFTER_S: Final = 2.0
"""A start quicker than this says nothing."""
_ERASE: Final = "\r\x1b[K"
QUITS: Final = " (Ctrl+C quits)"
"""After the stage: keys are not read before the app starts (ssh may still prompt on this
terminal, and taking it over for one key would risk its settings), so a ``q`` typed then is
only echoed; Ctrl+C works throughout."""


class Stages(Protocol):
    """Told what a start does now (the terminal's notice, a reconnection's header)."""

    def stage(self, text: str) -> None:
        """What happens now."""
        ...


class SlowStartNotice:
    """The current stage, shown on ``stream`` once the first stage is older than ``after_s``."""

    def __init__(self, stream: IO[Any] | None = None, after_s: float = NOTICE_AFTER_S) -> None:
        """Silent unless ``stream`` (stderr by default) is a terminal."""
        self._stream = sys.stderr if stream is None else stream
        try:
            self._on = self._stream.isatty()
        except (OSError, ValueError, AttributeError):
            self._on = False
        self._after_s = after_s
        self._text = ""
        self._shown = False
        self._closed = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def stage(self, text: str) -> None:
        """What happens now (the first call starts the clock)."""
        with self._lock:
            self._text = text
            if self._shown:
                self._write(_ERASE + f"tcpscope: {text}{QUITS}")
            elif self._on and self._timer is None and not self._closed:
                self._timer = threading.Timer(self._after_s, self._show)
                self._timer.daemon = True
                self._timer.start()

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self._shown = True
                self._write(_ERASE + f"tcpscope: {self._text}{QUITS}")

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._on = False

    def close(self) -> None:
        """Stop; erase the line if it was shown."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._shown:
                self._shown = False
                self._write(_ERASE)

    def __enter__(self) -> SlowStartNotice:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
