"""PID and Process cells of a socket without a PID, as ``nobody`` against root's real sockets:
"no owner" (a TimeWait: ``-``) and "owner not known" (root's listener: ``?`` and why) read
differently, in the one-shot table (piped: the stderr note is lost) and in the app's table,
and the same in both."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from core.connections.model import OwnerStatus, TcpState
from core.recording.reader import Recording
from core.recording.replay import open_replay
from tests.integration.sockets import SYSTEM_PYTHON, SocketBag
from tests.tui.detail_summary import static_text
from tests.tui.test_app import line_text, table
from tui.app import TcpscopeApp

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path(SYSTEM_PYTHON).exists(),
    reason="needs root (to run tcpscope as nobody) and a system python3 nobody can run",
)


def as_nobody(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``tcpscope ARGS`` as user nobody (this namespace only: tests/test_cli.py says why)."""
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            SYSTEM_PYTHON, "-m", "tui", "--netns", "current", *args]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(argv, capture_output=True, timeout=60, env=env, cwd="/")


@pytest.fixture
def roots_sockets() -> Iterator[tuple[int, int]]:
    """(port of root's listener, client port of a TimeWait to it): both root's, one owned
    by a process nobody may not look into, the other by no process at all."""
    with SocketBag() as bag:
        listener = bag.listener()
        client_port, port = bag.time_wait(listener)
        yield port, client_port


def table_row(stdout: str, local: str) -> list[str]:
    (line,) = [row for row in stdout.splitlines() if re.match(rf"\S+\s+{re.escape(local)}\s", row)]
    return line.split(None, 4)


def test_oneshot_table_tells_no_owner_from_not_known(roots_sockets: tuple[int, int]) -> None:
    port, client_port = roots_sockets
    done = as_nobody("connections", "--filter", f"port:{port}")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    state, _local, _remote, pid, process = table_row(out, f"127.0.0.1:{port}")
    assert (state, pid, process) == ("Listen", "?", "(needs root)")
    state, _local, _remote, pid, process = table_row(out, f"127.0.0.1:{client_port}")
    assert (state, pid, process) == ("TimeWait", "-", "-")


async def test_app_table_reads_the_same(
    roots_sockets: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sample nobody recorded, in the app: the same cells as the one-shot table."""
    port, client_port = roots_sockets
    path = tmp_path / "nobody.tsr"
    done = as_nobody("--no-ipsec", "record", "-", "--samples", "1")
    assert done.returncode == 0, done.stderr
    path.write_bytes(done.stdout)
    snap = Recording(path).snapshot(0)
    ids = {}
    for conn in snap.connections.values():
        if conn.local_port in (port, client_port) and conn.local_address == "127.0.0.1":
            ids[conn.state] = conn.instance_id
            assert conn.owning_process is None
    assert snap.connections[ids[TcpState.LISTEN]].owner_status is OwnerStatus.NEEDS_PRIVILEGE
    assert snap.connections[ids[TcpState.TIME_WAIT]].owner_status is OwnerStatus.NO_OWNER
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    async with replayed(path, port) as (app, pilot):
        await pilot.pause()
        listen = line_text(app, ids[TcpState.LISTEN])
        time_wait = line_text(app, ids[TcpState.TIME_WAIT])
    assert re.search(r"0\.0\.0\.0:0\s+\?\s+\(needs root\)\s", listen), listen
    assert re.search(rf":{port}\s+-\s+-\s", time_wait), time_wait


@asynccontextmanager
async def replayed(path: Path, port: int) -> AsyncIterator[tuple[TcpscopeApp, Pilot[int]]]:
    """The recording at ``path`` replayed (paused), filtered to ``port``, once its table is
    up."""
    feed = open_replay(path)
    feed.pause()
    app = TcpscopeApp(feed, hostname="h", filter_text=f"port:{port}")
    async with app.run_test(size=(160, 30)) as pilot:
        for _ in range(200):
            if app.snapshot is not None and app.screen.query("ConnTable"):
                break
            await pilot.pause()
        yield app, pilot


async def test_group_view_tells_hidden_owners_from_no_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As nobody, root's listener and its connection (owner hidden: root's fd table is
    unreadable) and a TimeWait (no owner at all) group apart: one group row says the owner is
    not known and which capabilities would show it, the other "(no owner)"; each expands on
    its own, and the hidden owner's detail names both capabilities."""
    with SocketBag() as bag:
        listener = bag.listener()
        client_port, port = bag.time_wait(listener)
        bag.pair(listener)  # an Established pair, both ends root's
        done = as_nobody("--no-ipsec", "record", "-", "--samples", "1")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "nobody.tsr"
    path.write_bytes(done.stdout)
    snap = Recording(path).snapshot(0)
    mine = [c for c in snap.connections.values() if port in (c.local_port, c.remote_port)]
    time_wait = next(c for c in mine if c.local_port == client_port)
    listen = next(c for c in mine if c.state is TcpState.LISTEN)
    assert time_wait.owner_status is OwnerStatus.NO_OWNER
    assert listen.owner_status is OwnerStatus.NEEDS_PRIVILEGE
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    async with replayed(path, port) as (app, pilot):
        await pilot.press("g")
        await pilot.pause()
        t = table(app)
        groups = [t.row_id_at(i) for i in range(t.row_count)]
        lines = [t.render_line(i + 1).text for i in range(len(groups))]
        assert len(groups) == 2, lines
        hidden, no_owner = lines  # the busiest first: Listen 1, Established 2
        assert "(owner not known: needs root) 3" in hidden, hidden
        assert "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH" in hidden, hidden
        assert "Listen 1" in hidden and "Established 2" in hidden and "TimeWait" not in hidden
        assert "(no owner) 1" in no_owner and "TimeWait 1" in no_owner, no_owner
        assert "CAP_" not in no_owner
        # Collapsing is per group: the TimeWait's group opens alone.
        t.move_cursor_to(groups[1])
        await pilot.press("enter")
        assert t.row_count == 3
        assert t.row_id_at(2) == time_wait.instance_id
        t.move_cursor_to(groups[0])
        await pilot.press("enter")
        assert t.row_count == 6
        row = line_text(app, listen.instance_id)
        assert re.search(r"0\.0\.0\.0:0\s+\?\s+\(needs root\)\s", row), row
        await pilot.press("enter")
        box = app.screen.query_one("#detail-summary", Static)
        for _ in range(200):
            if "Process" in static_text(box):
                break
            await pilot.pause(0.02)
        summary = static_text(box)
    # The detail names both capabilities (the narrow cell only says "needs root").
    (process,) = [line for line in summary.splitlines() if line.startswith("Process")]
    assert "needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH" in process, summary
