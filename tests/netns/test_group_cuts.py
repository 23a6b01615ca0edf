"""Namespace group rows at 60 columns on real namespaces: every count whole, and two names
the width cuts still read apart.

Two ``ip netns`` namespaces, each with a child holding a listener and two loopback pairs that
move bytes (a rate; ``Listen 1  Established 4``). The real app reads both, grouped by
namespace (``g g``), at 60x24.

Before the fix: a namespace shown as ``?`` (kept by its inode, its name not read) with a rate
read ``▸ ? (netns 4026532174) 5  1.2 KiB/s — Listen 1  …``: its Established count, the one
that matters, was a lone ``…``. And two namespaces named alike up to the width read the
same, ``wf…-web-fro…`` twice (their inodes gave way: the names differ).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

import core.connections.row_index as row_index
from core.connections import NamespaceInfo, NamespaceView, TcpConnection
from core.connections.namespaces import namespace_finder
from tests.netns.lab import free_port, needs_netns, netns, ready, unique
from tests.netns.test_tui import app_for
from tests.tui.test_actions import until
from tests.tui.test_app import table
from tui.app import TcpscopeApp

pytestmark = needs_netns

CHILD = (
    "import socket,time\n"
    "s=socket.socket(); s.bind(('127.0.0.1',PORT)); s.listen(16)\n"
    "pairs=[]\n"
    "for _ in range(2):\n"
    "    c=socket.create_connection(s.getsockname()); a,_=s.accept(); pairs.append((c,a))\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    for c,a in pairs:\n"
    "        c.sendall(b'x'*200); a.sendall(b'y'*100); a.recv(4096); c.recv(4096)\n"
    "    time.sleep(0.05)\n"
)
"""A listener and two pairs moving bytes every 50 ms: 5 members, one with a rate."""

COUNTS = "— Listen 1  Established 4"
RATE = re.compile(r" 5  \d+(?:\.\d)? (?:B|KiB|MiB)/s ")


@pytest.fixture
def alike() -> Iterator[tuple[str, str]]:
    """Two namespaces whose names differ only in their last letters, each with a child."""
    stem = unique("wf")
    port = free_port()
    with (
        netns(f"{stem}-web-frontend-api") as a,
        netns(f"{stem}-web-frontend-adm") as b,
        ready(["ip", "netns", "exec", a, sys.executable, "-c", CHILD.replace("PORT", str(port))]),
        ready(["ip", "netns", "exec", b, sys.executable, "-c", CHILD.replace("PORT", str(port))]),
    ):
        yield a, b


def group_lines(app: TcpscopeApp) -> list[str]:
    t = table(app)
    lines = (t.render_line(y).text.rstrip() for y in range(1, t.row_count + 1))
    return [line for line in lines if line.startswith("▸ ")]


async def by_namespace(pilot: Pilot[int], app: TcpscopeApp) -> list[str]:
    """The two namespace group rows, once each shows its rate."""
    t = table(app)
    await until(pilot, lambda: t.row_count == 10)
    await pilot.press("g", "g")
    await until(pilot, lambda: t.grouped and t.group_by == "container" and t.row_count == 2)
    await until(pilot, lambda: all(RATE.search(line) for line in group_lines(app)))
    return group_lines(app)


async def test_two_names_cut_alike_still_read_apart(alike: tuple[str, str]) -> None:
    a, b = alike
    app = app_for(f"{a},{b}")
    async with app.run_test(size=(60, 24)) as pilot:
        lines = await by_namespace(pilot, app)
        assert len(lines) == 2, lines
        names = [line.removeprefix("▸ ").split(" 5  ")[0] for line in lines]
        assert names[0] != names[1], lines  # what tells them apart stays
        for line, name in zip(lines, names, strict=True):
            assert len(line) <= 60 and line.endswith(COUNTS), lines
            assert "…" in name, lines  # cut: 60 columns hold no 30-letter name
            own = a if name.endswith(a[-3:]) or "api" in name else b
            head, tail = name.split("…")[0], name.split("…")[-1]
            assert own.startswith(head) and own.endswith(tail), (name, own)


async def test_a_namespace_not_read_keeps_every_count_beside_its_rate(
    alike: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = alike
    # The app never reads one namespace's name (its NamespaceInfo is missing from the view):
    # a fault the kernel cannot be made to give on cue, so the view is made to miss it.
    hidden: list[int] = []

    def missing_one(view: NamespaceView | None):  # type: ignore[no-untyped-def]
        find = namespace_finder(view)

        def of(conn: TcpConnection) -> NamespaceInfo | None:
            info = find(conn)
            if info is not None and info.name == a:
                hidden[:] = [info.inode]
                return None
            return info

        return of

    monkeypatch.setattr(row_index, "namespace_finder", missing_one)
    app = app_for(f"{a},{b}")
    async with app.run_test(size=(60, 24)) as pilot:
        lines = await by_namespace(pilot, app)
        unread = [line for line in lines if line.startswith("▸ ? ")]
        assert len(unread) == 1 and hidden, lines
        line = unread[0]
        assert len(line) <= 60 and line.endswith(COUNTS), line  # every count whole
        assert str(hidden[0])[-5:] in line, line  # its inode tells it apart
