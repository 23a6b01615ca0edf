"""Run tcpscope with its output on a real pseudo-terminal of a given size.

Why: what is printed for a terminal (wrapped to its width) differs from what is printed
into a pipe; only a real terminal shows the first.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def in_terminal(columns: int, *argv: str, code: int = 0) -> str:
    """``tcpscope`` run with its output on a real pseudo-terminal of ``columns`` columns
    (its exit code must be ``code``)."""
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "tui", *argv], cwd=REPO, stdout=child, env=env)
    os.close(child)
    text = read_terminal(parent, 60)
    os.close(parent)
    assert proc.wait(timeout=60) == code
    return text


def read_terminal(parent: int, timeout_s: float) -> str:
    """What the program on the other end of pseudo-terminal ``parent`` wrote, until it closed
    the terminal or ``timeout_s`` passed (line ends as ``\n``)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([parent], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(parent, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
