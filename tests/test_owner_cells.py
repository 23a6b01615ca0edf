"""PID and Process cells of a socket without a PID, as ``nobody`` against root's real sockets:
"no owner" (a TimeWait: ``-``) and "owner not known" (root's listener: ``?`` and why) read
differently, in the one-shot table (piped: the stderr note is lost) and in the app's table,
and the same in both."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.connections.model import OwnerStatus, TcpState
from core.recording.reader import Recording
from core.recording.replay import open_replay
from tests.integration.sockets import SYSTEM_PYTHON, SocketBag
from tests.tui.test_app import line_text
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
    feed = open_replay(path)
    feed.pause()
    app = TcpscopeApp(feed, hostname="h", filter_text=f"port:{port}")
    async with app.run_test(size=(160, 30)) as pilot:
        for _ in range(200):
            if app.snapshot is not None and app.screen.query("ConnTable"):
                break
            await pilot.pause()
        await pilot.pause()
        listen = line_text(app, ids[TcpState.LISTEN])
        time_wait = line_text(app, ids[TcpState.TIME_WAIT])
    assert re.search(r"0\.0\.0\.0:0\s+\?\s+\(needs root\)\s", listen), listen
    assert re.search(rf":{port}\s+-\s+-\s", time_wait), time_wait
