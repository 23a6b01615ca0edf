"""Make untrusted text safe to print: no terminal control sequences survive.

Process names, command lines, user names and peer-supplied strings are controlled by someone
else. Printed raw, an ESC or an OSC sequence would clear the screen or retitle the terminal.
Every control character (C0, DEL, C1) is replaced by a visible escape such as ``\\x1b``.
"""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as a ``\\xNN`` escape."""
    return _CONTROL.sub(_escape, text)
