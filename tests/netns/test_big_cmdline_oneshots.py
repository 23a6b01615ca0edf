"""Another user's huge command line in ``connections --json``/``--csv``: cut, and said so.

Why: both repeated the whole command line in every row of its process (300 listeners of a
process with a 1.8 MB command line: 542 MB of JSON, 445 MB of memory). Now each row holds at
most ``CMDLINE_LIMIT`` bytes of it and says how long it was. A real process with a long argv
and several listeners, in a namespace the test creates; the real CLI.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from core.connections import CMDLINE_LIMIT
from tests.netns.lab import needs_netns
from tests.netns.test_big_cmdline import PORTS, big

pytestmark = needs_netns
REPO = Path(__file__).resolve().parents[2]
__all__ = ["big"]  # the fixture


_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _unescape(text: str) -> str:
    """What :func:`core.textsafe.printable` escaped, back (a byte that was not UTF-8 as
    ``os.fsdecode`` holds it)."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code == "\\":
            return code
        value = int(code[1:], 16)
        return chr(0xDC00 + value) if code[0] == "x" and value >= 0x80 else chr(value)

    return _ESCAPE.sub(one, text)


def tcpscope(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True, timeout=120, cwd=REPO, check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


def test_json_and_csv_cut_each_rows_command_line(big: tuple[str, list[bytes]]) -> None:
    name, argv = big
    size = len(b" ".join(argv))
    done = tcpscope("connections", "--json", "--netns", name)
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert sorted(d["LocalPort"] for d in docs) == list(PORTS)
    assert len(done.stdout) < len(PORTS) * (4 * CMDLINE_LIMIT + 8000), len(done.stdout)
    for doc in docs:
        process = doc["tcpscope"]["process"]
        assert process["cmdline_truncated"] == size
        kept = b" ".join(os.fsencode(_unescape(a)) for a in process["cmdline"])
        assert len(kept) <= CMDLINE_LIMIT
        assert len(kept) > CMDLINE_LIMIT - 4  # cut at a character, not an argument
        assert list(process)[:5] == ["pid", "name", "username", "cmdline", "cmdline_truncated"]
    done = tcpscope("connections", "--csv", "--netns", name)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) < len(PORTS) * (4 * CMDLINE_LIMIT + 2000), len(done.stdout)
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert len(rows) == len(PORTS)
    for row in rows:
        head, marker = row["ProcessCommandLine"].rsplit("…", 1)
        written = len(os.fsencode(_unescape(head)))
        assert marker == f"[{size - written} more bytes]", marker
        assert CMDLINE_LIMIT - 4 < written <= CMDLINE_LIMIT
