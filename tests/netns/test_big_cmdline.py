"""Another user's huge command line: the detail pane shows a bounded start of it.

Why: a listener whose argv held two 100,000-byte arguments of random bytes (escaped, with no
space to break a line at) froze the app for seconds a frame once its detail pane was open:
the pane handed the whole escaped command line to Rich to lay out. Now it shows the first
``PANE_CMDLINE_CELLS`` cells and how many bytes it left out. A real process with such an
argv, in a namespace the test creates.
"""

from __future__ import annotations

import io
import os
import random
import sys
from collections.abc import Iterator

import pytest
from rich.console import Console, Group
from rich.measure import Measurement
from textual.widgets import Static

from core.textsafe import printable
from tests.netns.lab import needs_netns, netns, ready, unique
from tests.netns.test_tui import app_for, rows_when
from tests.tui.test_app import pane_text
from tui.connections.detail import PANE_CMDLINE_CELLS, DetailPane

pytestmark = needs_netns

PORTS = (4545, 4546, 4547, 4548, 4549)
ARG_BYTES = 40_000
SERVER = (
    "import socket,sys,time\n"
    "held=[]\n"
    "for port in sys.argv[1:6]:\n"
    "    s=socket.socket(); s.bind(('127.0.0.1', int(port))); s.listen(); held.append(s)\n"
    "print('ready', flush=True); time.sleep(120)\n"
)


def noise(seed: int) -> bytes:
    """Bytes 0x21-0xff: no space or NUL; mostly not UTF-8, so each escapes to ``\\xNN``."""
    pick = random.Random(seed)
    return bytes(pick.randrange(0x21, 0x100) for _ in range(ARG_BYTES))


@pytest.fixture
def big() -> Iterator[tuple[str, list[bytes]]]:
    """(namespace, the listener's argv)."""
    argv = [os.fsencode(sys.executable), b"-c", SERVER.encode()]
    argv += [str(p).encode() for p in PORTS] + [noise(1), noise(2)]
    command = ["ip", "netns", "exec"]
    with (
        netns(unique("bigc")) as name,
        ready([*command, name, *map(os.fsdecode, argv)]),
    ):
        yield name, argv


async def test_the_pane_shows_a_bounded_start_of_a_huge_command_line(
    big: tuple[str, list[bytes]],
) -> None:
    name, argv = big
    size = len(b" ".join(argv))  # /proc/PID/cmdline, NULs as spaces, less the last
    app = app_for(name)
    async with app.run_test(size=(100, 30)) as pilot:
        await rows_when(pilot, app, len(PORTS))
        await pilot.press("enter")
        pane = app.screen.query_one(DetailPane)
        for _ in range(200):
            text = pane_text(pane, width=100)
            if "Owning process" in text:
                break
            await pilot.pause(0.05)
        # What the pane hands Rich to lay out each frame: its widest line unwrapped.
        more = pane.query_one("#detail-more", Static).content
        assert isinstance(more, Group)
        console = Console(file=io.StringIO(), width=100)
        widest = Measurement.get(console, console.options.update_width(10**8), more).maximum
        assert widest < PANE_CMDLINE_CELLS + 100, widest
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("cmdline "))
        end = next(i for i in range(start, len(lines)) if "more bytes" in lines[i])
        assert end - start < 40, end - start  # a few screen lines, not thousands
        shown = "".join(line for line in lines[start:end]).removeprefix("cmdline").split("…")[0]
        # The shown part is the command line's start, escaped; the note says what is left.
        body = shown.replace(" ", "")
        assert len(body) <= PANE_CMDLINE_CELLS
        joined = " ".join(os.fsdecode(a) for a in argv)
        escaped = ""
        cut = 0
        while len(escaped) < len(body):
            escaped += printable(joined[cut]).replace(" ", "")
            cut += 1
        assert escaped == body, (escaped[-80:], body[-80:])
        left = size - len(os.fsencode(joined[:cut]))
        assert f"{left:,} more bytes" in lines[end], (lines[end], left)
