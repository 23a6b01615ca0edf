"""A user's own network namespace, read by that user (``nobody``): every socket in it is
theirs, so no owner is unknown for lack of privilege and nothing may say one is.

Why: ``tcpscope connections --netns PID`` of nobody's ``unshare -rn`` process showed every
row with its PID and still noted "owners (OwningProcess) of sockets held by other users'
processes: reading their /proc/<pid>/fd needs CAP_SYS_PTRACE …" (root's fd tables, which
nobody cannot read, hold none of those sockets), and the app's sample carried that line
too."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.integration.sockets import SYSTEM_PYTHON
from tests.netns.lab import needs_netns
from tests.netns.test_nonroot import NOBODY, SAME_PYTHON, as_nobody, tcpscope

pytestmark = [
    needs_netns,
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)"),
    pytest.mark.skipif(not SAME_PYTHON, reason=f"needs {SYSTEM_PYTHON} of this Python version"),
]
SERVE = """
import socket, sys, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
port = server.getsockname()[1]
client = socket.create_connection(("127.0.0.1", port))
accepted, _ = server.accept()
print(port, flush=True)
time.sleep(120)
"""
"""A listener on port argv[1] (0: any) and both ends of a connection to it; prints the port
once they are up."""
OWNERS_NOTE = "owners (OwningProcess)"


@pytest.fixture
def own() -> Iterator[int]:
    """Nobody's process in nobody's own user and network namespace, holding a listener and
    both ends of a connection: its PID."""
    holder = subprocess.Popen(
        [*NOBODY, "unshare", "-rn", "sh", "-c",
         'ip link set lo up && exec "$0" -c "$1" 7030', SYSTEM_PYTHON, SERVE],
        stdout=subprocess.PIPE, text=True, cwd="/",
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "7030"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_no_owner_note_when_every_shown_owner_is_known(own: int) -> None:
    pid = own
    done = tcpscope("connections", "--json", "--netns", str(pid))
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert len(docs) == 3, docs
    assert all(d["OwningProcess"] == pid for d in docs), docs
    assert OWNERS_NOTE not in done.stderr, done.stderr


APP = """
import asyncio, json, sys
from core.commands.feeds import FeedOptions, make_feed
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable

async def main(netns):
    options = FeedOptions(netns=netns, ipsec=False, interval_s=0.2, every_tcp_info=False)
    app = TcpscopeApp(make_feed(options), hostname="testhost")
    async with app.run_test(size=(200, 40)) as pilot:
        table = app.screen.query_one(ConnTable)
        for _ in range(300):
            if app.snapshot is not None and table.row_count == 3:
                break
            await pilot.pause(0.02)
        await pilot.pause(1)  # a few samples more: later ones must not say it either
        print(json.dumps([table.row_count, app.snapshot.privilege.hidden]))

asyncio.run(main(sys.argv[1]))
"""


def test_the_app_has_no_owner_note_of_a_users_own_namespace(own: int) -> None:
    """The header's "privileged cells hidden" stays, rightly, for the tcp_info that entering
    the namespace would give (a separate line): only the owners' line was untrue."""
    done = as_nobody("-c", APP, str(own), timeout=90)
    assert done.returncode == 0, done.stderr
    rows, hidden = json.loads(done.stdout.splitlines()[-1])
    assert rows == 3, done.stdout
    assert not [line for line in hidden if line.startswith(OWNERS_NOTE)], hidden


def test_the_owner_note_follows_the_rows_shown() -> None:
    """In the host's namespace, where root's sockets are in the sample too: the note is told
    of root's listener, whose owner nobody cannot know, and not of nobody's own rows alone
    (``--local-port`` of nobody's listener printed it over rows that all had their PID)."""
    with socket.create_server(("127.0.0.1", 0)) as roots:
        root_port = roots.getsockname()[1]
        mine = subprocess.Popen(
            [*NOBODY, SYSTEM_PYTHON, "-c", SERVE, "0"],
            stdout=subprocess.PIPE, text=True, cwd="/",
        )  # fmt: skip
        try:
            assert mine.stdout is not None
            own_port = int(mine.stdout.readline())
            done = tcpscope("connections", "--json", "--local-port", str(own_port))
            docs = json.loads(done.stdout)
            assert docs and all(d["OwningProcess"] == mine.pid for d in docs), docs
            assert OWNERS_NOTE not in done.stderr, done.stderr
            done = tcpscope("connections", "--json", "--local-port", str(root_port))
            (doc,) = json.loads(done.stdout)
            assert doc["OwningProcess"] is None, doc
            assert OWNERS_NOTE in done.stderr, done.stderr
        finally:
            mine.kill()
            mine.wait()
