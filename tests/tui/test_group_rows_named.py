"""A process's group row on real sockets: its rate stays exact when a connection opens, and at
60 columns a long process name is cut before the counts are.

A child Python runs under a 30-character exec name (a symlink to the interpreter: the kernel
keeps 15 of it as comm, the process name read from /proc extends it from the command line),
holds loopback connections moving bytes both ways, and opens one more pair on a line on stdin.
The real app on the netlink source (tcp_info only for what the table follows), filtered to
the child's PID, grouped with ``g``.

Before the fix: the pair just opened, read once, had no rate yet, and the small group, every
member of which is followed, showed ``≥`` (a lower bound) for a sample; and at 60 columns the
long name pushed the State counts off the row (``… 5  1.2 KiB/s — Liste…``).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.integration.sockets import SocketBag
from tests.tui.test_actions import live_app, until
from tests.tui.test_app import table
from tui.app import TcpscopeApp

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink: Linux")

NAME = "a-process-with-thirty-letters!"
assert len(NAME) == 30

CHILD = (
    "import os,socket,sys,threading,time\n"
    "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(16)\n"
    "pairs=[]\n"
    "def pair():\n"
    "    c=socket.create_connection(s.getsockname()); a,_=s.accept(); pairs.append((c,a))\n"
    "pair(); pair()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "def commands():\n"
    "    for _ in sys.stdin:\n"
    "        pair(); print('opened', flush=True)\n"
    "    os._exit(0)\n"
    "threading.Thread(target=commands, daemon=True).start()\n"
    "while True:\n"
    "    for c,a in list(pairs):\n"
    "        c.sendall(b'x'*200); a.sendall(b'y'*100); a.recv(4096); c.recv(4096)\n"
    "    time.sleep(0.05)\n"
)
"""Two connected pairs moving bytes every 50 ms (a listener and 4 ends: 5 members); one more
pair per line read."""

RATE = re.compile(r" (\d+)  (≥?)\d+(?:\.\d)? (?:B|KiB|MiB|GiB)/s")
"""A group row's member count and rate (``≥``: a lower bound)."""


@pytest.fixture
def named(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """The child, running as ``NAME``."""
    exe = tmp_path / NAME
    exe.symlink_to(sys.executable)
    with SocketBag() as bag:
        child = subprocess.Popen(
            [os.fspath(exe), "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        bag.children.append(child)
        assert child.stdout is not None
        child.stdout.readline()  # its port: listening, both pairs connected
        with open(f"/proc/{child.pid}/comm", encoding="utf-8") as comm:
            assert comm.read().strip() == NAME[:15]  # the kernel's cut; the app extends it
        yield child


def group_line(app: TcpscopeApp, pid: int) -> str:
    t = table(app)
    position = t.position_of(f"group:{pid}")
    return t.render_line(position + 1).text if position is not None else ""


def rate_of(line: str) -> tuple[int, bool] | None:
    """(members, a lower bound) of a group line showing a rate."""
    found = RATE.search(line)
    return (int(found[1]), found[2] == "≥") if found else None


@contextlib.asynccontextmanager
async def grouped(
    named: subprocess.Popen[str], width: int
) -> AsyncIterator[tuple[TcpscopeApp, Pilot[int]]]:
    """The live app at ``width`` columns showing ``named``'s sockets grouped: one group row
    whose rate covers all 5 (its connections have moved bytes in two samples)."""
    pid = named.pid
    app = live_app()
    app.initial_filter = f"pid:{pid}"
    async with app.run_test(size=(width, 30)) as pilot:
        t = table(app)
        await until(pilot, lambda: t.row_count == 5)
        await pilot.press("g")
        await until(pilot, lambda: t.grouped and t.row_count == 1)
        await until(pilot, lambda: rate_of(group_line(app, pid)) == (5, False))
        yield app, pilot


def open_pair(named: subprocess.Popen[str]) -> None:
    """Has ``named`` open one more connected pair (2 new members)."""
    assert named.stdin is not None and named.stdout is not None
    named.stdin.write("open\n")
    named.stdin.flush()
    assert named.stdout.readline() == "opened\n"


async def test_a_connection_just_opened_leaves_a_small_groups_rate_exact(
    named: subprocess.Popen[str],
) -> None:
    pid = named.pid
    async with grouped(named, 120) as (app, pilot):
        assert NAME in group_line(app, pid)  # the whole name, from the command line
        open_pair(named)
        seen: list[str] = []

        def settled() -> bool:
            line = group_line(app, pid)
            if not seen or seen[-1] != line:
                seen.append(line)
            return rate_of(line) == (7, False) and "new" not in line

        await until(pilot, settled)
        # Every member of the group is followed: a sum of all those that have a rate, the
        # ones just opened said as new, never a bound.
        bounds = [line for line in seen if (rate_of(line) or (0, False))[1]]
        assert not bounds, seen
        assert any("(2 new, not yet measured)" in line for line in seen), seen


async def test_a_long_process_name_is_cut_before_its_groups_counts(
    named: subprocess.Popen[str],
) -> None:
    pid = named.pid
    async with grouped(named, 60) as (app, _pilot):
        line = group_line(app, pid).rstrip()
        assert len(line) <= 60, line
        # The counts are the answer: whole, at the row's end.
        assert line.endswith("— Listen 1  Established 4"), line
        assert f"({pid}) 5  " in line, line
        # The name gives way, and says it was cut.
        name = line.removeprefix("▸ ").split(f" ({pid})")[0]
        assert name.endswith("…") and NAME.startswith(name[:-1]), line


COUNTS = re.compile(r"\((\d+)\) (\d+) .* — Listen 1  Established (\d+)(?:$|  )")
"""A group row's PID, member count and State counts, each whole (the row may go on with a
note after two spaces)."""


@pytest.mark.parametrize("width", [60, 70])
async def test_a_new_connections_note_never_cuts_the_counts(
    named: subprocess.Popen[str], width: int
) -> None:
    # At 60 columns the note on the pair just opened cut the row's end:
    # "▸ a-process-w… (PID) 7  2.4 KiB/s — Listen 1  Established …".
    pid = named.pid
    async with grouped(named, width) as (app, pilot):
        open_pair(named)
        seen: list[str] = []

        def settled() -> bool:
            line = group_line(app, pid).rstrip()
            if not seen or seen[-1] != line:
                seen.append(line)
            return rate_of(line) == (7, False)

        await until(pilot, settled)
        await pilot.pause(1.5)  # a sample or two more: the pair's note comes and goes
        settled()
        for line in seen:
            found = COUNTS.search(line)
            assert found and found[1] == str(pid), seen
            assert int(found[2]) == 1 + int(found[3]), seen  # the listener and the rest
            assert len(line) <= width, seen
