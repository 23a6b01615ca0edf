"""How wide the terminal under an output stream is, for command-line text that wraps to it.

Why one place: ``explain`` and ``ipsec`` print paragraphs and table cells that read badly
when an 80-column SSH session breaks 100-column lines again at column 80; piped output keeps
its fixed layout (scripts and ``grep`` see the same lines on every terminal).
"""

from __future__ import annotations

import os
from typing import IO, Any


def columns(stream: IO[Any]) -> int | None:
    """The columns of the terminal ``stream`` writes to; None when it is not a terminal."""
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError, AttributeError):  # closed, no descriptor, or not a tty
        return None
