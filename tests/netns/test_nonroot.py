"""Other network namespaces as a user who is not root (``nobody``): what an unprivileged user
can learn of a namespace whose processes are another user's, for real.

Root creates the namespaces (``ip netns add``) and a listener inside; tcpscope then runs as
``nobody`` (setpriv), which cannot read those processes' ``/proc/PID/ns/net`` nor enter a
namespace, and reads them from ``/proc/PID/net/tcp``. The namespace's inode is shown only when
known (a netns id ties the process to its ``/run/netns`` file), never a stand-in for it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sockets import SYSTEM_PYTHON
from tests.netns import containers
from tests.netns.lab import free_port, listener, needs_netns, netns, nobody_env, unique

REPO = Path(__file__).resolve().parents[2]
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
SAME_PYTHON = os.path.exists(SYSTEM_PYTHON) and subprocess.run(
    [SYSTEM_PYTHON, "-c", f"import sys; sys.exit(sys.version_info[:2] != {sys.version_info[:2]})"],
    check=False,
).returncode == 0  # fmt: skip
"""The test runner's interpreter may live under /root; nobody runs the system's, with the
runner's site-packages (same version) on its path."""

pytestmark = [
    needs_netns,
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)"),
    pytest.mark.skipif(not SAME_PYTHON, reason=f"needs {SYSTEM_PYTHON} of this Python version"),
]


def as_nobody(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python3 ARGV`` run by user nobody, with this checkout's code."""
    home = tempfile.mkdtemp(prefix="tcpscope-nobody-")
    try:
        os.chmod(home, 0o777)
        env = nobody_env(home)
        return subprocess.run(
            [*NOBODY, SYSTEM_PYTHON, *argv],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)


def tcpscope(*args: str) -> subprocess.CompletedProcess[str]:
    return as_nobody("-m", "tui", *args)


def inode(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


@pytest.fixture
def served() -> Iterator[tuple[str, str, int, int]]:
    """A namespace with root's listener in it, and an empty one: (name, empty, port, pid)."""
    port = free_port()
    with (
        netns(unique("nsrA")) as name,
        netns(unique("nsrE")) as empty,
        listener(name, port) as proc,
    ):
        yield name, empty, port, proc.pid


VIEW = """
import dataclasses, json
from datetime import UTC, datetime
from core.connections.sources import get_source
from core.netns.select import namespace_dumps
source = get_source("netlink", tcp_info=False, namespaces=namespace_dumps("all", tcp_info=False))
try:
    view = source.sample(datetime.now(UTC), first=True).namespaces
    print(json.dumps([dataclasses.asdict(i) for i in view.namespaces]))
finally:
    source.close()
"""


def views() -> list[dict[str, object]]:
    """Every namespace nobody's ``--netns all`` sample describes (NamespaceInfo fields)."""
    done = as_nobody("-c", VIEW)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def rows(done: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def namespace(doc: dict[str, object]) -> dict[str, object]:
    return doc["tcpscope"]["namespace"]  # type: ignore[index,no-any-return]


def test_an_unmatched_namespace_shows_no_made_up_inode_and_is_counted_once(
    served: tuple[str, str, int, int],
) -> None:
    """No netns id ties root's process to its file: its namespace has no inode to show (the
    stand-in key was shown as one), and its file and the empty one are not counted again
    with a false "no process is in" reason."""
    name, empty, port, pid = served
    done = tcpscope("connections", "--json", "--local-port", str(port))
    (doc,) = rows(done)
    ns = namespace(doc)
    assert ns["read_by"] == "procfs"
    assert ns["inode"] is None
    assert "cannot be read" in str(ns["inode_not_reported"])
    assert ns["via_pid"] == pid
    assert "not read and not counted" in done.stderr
    view = {v["name"]: v for v in views() if v["name"] in (name, empty)}
    # Both files: not counted again, and no false "no process is in" (one of them has one).
    for file in (name, empty):
        assert view[file]["unmatched"] and view[file]["read_by"] == "unreadable", view
        assert "no process is in" not in str(view[file]["reason"]), view
    (stand_in,) = [v for v in views() if v["via_pid"] == pid]
    assert stand_in["stand_in"] and stand_in["read_by"] == "procfs"
    table = tcpscope("connections", "--local-port", str(port))
    assert table.returncode == 0, table.stderr
    assert f"ns of pid {pid}" in table.stdout
    assert str(inode(name)) not in table.stdout


def test_a_netns_id_gives_the_namespace_its_inode_and_name(
    served: tuple[str, str, int, int],
) -> None:
    """With an id (``ip netns set NAME auto``, as a veth peer gets), the process's namespace
    and the file's are one: shown by its true inode and name, read once."""
    name, _empty, port, _pid = served
    subprocess.run(["ip", "netns", "set", name, "auto"], check=True)
    (doc,) = rows(tcpscope("connections", "--json", "--local-port", str(port)))
    ns = namespace(doc)
    assert (ns["inode"], ns["name"], ns["read_by"]) == (inode(name), name, "procfs")
    assert ns["inode_not_reported"] is None
    done = tcpscope("connections", "--netns", name, "--local-port", str(port))
    assert done.returncode == 0, done.stderr
    assert f"127.0.0.1:{port}" in done.stdout
    assert name not in done.stderr  # read, not "not counted"


def test_a_named_namespace_that_cannot_be_read_fails(served: tuple[str, str, int, int]) -> None:
    """``--netns NAME`` printed an empty table and exit 0: a check could not tell "no
    connections" from "could not read". Now: exit 1 and one line saying why."""
    name, _empty, _port, _pid = served
    done = tcpscope("connections", "--netns", name)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert not done.stdout
    errors = [line for line in done.stderr.splitlines() if not line.startswith("tcpscope: note")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"tcpscope: network namespace {name} could not be read: ")
    assert "Traceback" not in done.stderr


def test_metrics_and_record_fail_at_start_on_a_namespace_nobody_cannot_read(
    served: tuple[str, str, int, int],
) -> None:
    """As nobody, ``--netns ns:INODE metrics`` served and ``record`` wrote error samples
    (exit 0) where ``connections`` fails: now they fail the same way, at start."""
    _name, empty, _port, _pid = served
    out = Path(tempfile.mkdtemp(prefix="tcpscope-nobody-rec-"))
    try:
        os.chmod(out, 0o777)
        for argv in (
            ["--netns", f"ns:{inode(empty)}", "metrics", "--listen", "127.0.0.1:0"],
            ["--netns", empty, "record", str(out / "x.tsr"), "--samples", "2"],
        ):
            done = as_nobody("-m", "tui", *argv, timeout=30)
            assert (done.returncode, done.stdout) == (1, ""), (argv, done.stderr)
            (line,) = done.stderr.splitlines()
            assert line.startswith(f"tcpscope: network namespace {empty} could not be read: ")
        assert not list(out.iterdir())
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_an_inode_nobody_cannot_identify_is_a_privilege_limit_either_way() -> None:
    """The bare inode of root's ``unshare -n`` namespace was "is no process, network
    namespace inode or container id here" (exit 2) while ``ns:INODE`` was exit 1 with a hint
    ``pid:N`` of the first hidden namespace: maybe another namespace, chosen if typed."""
    holder = subprocess.Popen(["unshare", "-n", "sleep", "60"])
    try:
        ino = 0
        for _ in range(100):  # until sleep runs in the new namespace
            ino = os.stat(f"/proc/{holder.pid}/ns/net").st_ino
            if ino != os.stat("/proc/self/ns/net").st_ino:
                break
            time.sleep(0.05)
        tail = "cannot be read (another user's processes): give the PID of a process in it"
        for word in (str(ino), f"ns:{ino}"):
            done = tcpscope("connections", "--netns", word)
            assert (done.returncode, done.stdout) == (1, ""), (word, done.stderr)
            (line,) = [x for x in done.stderr.splitlines() if not x.startswith("tcpscope: note")]
            assert "this user can identify; the inodes of " in line and line.endswith(tail), line
            assert "pid:" not in line, line
    finally:
        holder.kill()
        holder.wait()


def test_a_pid_in_another_users_namespace_is_read_as_the_default_run_reads_it(
    served: tuple[str, str, int, int],
) -> None:
    """``--netns PID`` opened ``/proc/PID/ns/net``, which nobody may not: "Permission denied",
    exit 2, though the default run lists that namespace (read through /proc/PID/net/tcp)."""
    _name, _empty, port, pid = served
    for word in (str(pid), f"pid:{pid}", f"ns of pid {pid}", f"/proc/{pid}/ns/net"):
        done = tcpscope("connections", "--netns", word, "--local-port", str(port))
        assert done.returncode == 0, (word, done.stderr)
        assert f"127.0.0.1:{port}" in done.stdout and f"ns of pid {pid}" in done.stdout, word


def test_a_container_is_chosen_by_its_label_and_a_name_nobody_cannot_read_is_said_so(
    tmp_path: Path,
) -> None:
    """As nobody, ``--netns podman:ID`` (the label the table shows) was "no container named";
    its name, which only root can read, was the same bad-input error (exit 2): it is a
    privilege limit (exit 1) and says which label to give instead."""
    with containers.podman_container(tmp_path) as (cname, cid, _pid):
        label = f"podman:{cid[:12]}"
        table = tcpscope("connections", "--local-port", "8080")
        assert table.returncode == 0 and label in table.stdout, (table.stdout, table.stderr)
        done = tcpscope("connections", "--netns", label, "--local-port", "8080")
        assert done.returncode == 0, done.stderr
        assert ":8080" in done.stdout and label in done.stdout
        named = tcpscope("connections", "--netns", cname, "--local-port", "8080")
        assert named.returncode == 1, (named.stdout, named.stderr)
        assert not named.stdout
        (error,) = [x for x in named.stderr.splitlines() if not x.startswith("tcpscope: note")]
        assert error.startswith(
            f"tcpscope: --netns: no network namespace or container named '{cname}' that this "
            "user can see: "
        )
        assert "have no name readable without root" in error and "Traceback" not in error


APP_OPENED = """
import asyncio, io, sys
from rich.console import Console
from textual.widgets import Static
from core.commands.feeds import FeedOptions, make_feed
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable

def text(widget):
    console = Console(file=io.StringIO(), width=300, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()

async def main(port):
    options = FeedOptions(netns="all", ipsec=False, interval_s=0.2, every_tcp_info=False)
    app = TcpscopeApp(make_feed(options), hostname="testhost")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("slash", *f"port:{port}", "enter")
        table = app.screen.query_one(ConnTable)
        for _ in range(300):
            if app.snapshot is not None and table.row_count == 1:
                break
            await pilot.pause(0.02)
        await then(app, pilot, table)

asyncio.run(main(int(sys.argv[1])))
"""
"""A script nobody runs: the app filtered to ``port`` until its one row shows, then ``then``
(which the test's script defines above this text) and its output."""

APP = (
    """
async def then(app, pilot, table):
    await pilot.press("escape", "enter")
    for _ in range(100):
        await pilot.pause(0.05)  # a few samples: the reason must not be "next sample"
    ids = ("#detail-summary", "#detail-more")
    print("\\n".join(text(app.screen.query_one(i, Static)) for i in ids))
"""
    + APP_OPENED
)


def test_the_detail_pane_says_why_a_procfs_namespace_has_no_tcp_info(
    served: tuple[str, str, int, int],
) -> None:
    """The Health line and TCP internals said "not reported in this sample … the next sample
    has it" forever for a namespace read from /proc, and the namespace's inode was the
    stand-in."""
    _name, _empty, port, pid = served
    done = as_nobody("-c", APP, str(port), timeout=90)
    assert done.returncode == 0, done.stderr
    pane = done.stdout
    assert f"127.0.0.1:{port}" in pane, pane
    assert "next sample" not in pane, pane
    assert pane.count("read from /proc/PID/net/tcp") >= 2, pane  # Health, TCP internals
    assert "the kernel gives no tcp_info there" in pane, pane
    assert f"PID {pid}" in pane and "inode not readable" in pane, pane


OWNING = """
async def then(app, pilot, table):
    await pilot.press("escape", "enter")
    await pilot.pause(0.3)
    print(text(app.screen.query_one("#detail-more", Static)))
""" + APP_OPENED.replace('netns="all", ', "")


def test_the_owning_process_section_says_why_in_words_not_a_token() -> None:
    """Root's listener, seen by nobody: the Owning-process section read ``process  no
    owning process known (needs-privilege)``, an internal token (and "no owning process"
    is what a socket nobody holds reads). Now what the rest of the pane says: not known,
    needs root, and why."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        done = as_nobody("-c", OWNING, str(server.getsockname()[1]), timeout=90)
    assert done.returncode == 0, done.stderr
    pane = " ".join(done.stdout.split())
    assert "needs-privilege" not in pane and "no owning process" not in pane, pane
    assert "process owner not known: needs root" in pane, pane
    assert "why reading their /proc/<pid>/fd needs CAP_SYS_PTRACE" in pane, pane


GROUPED = (
    """
async def then(app, pilot, table):
    await pilot.press("g", "g")  # by process, then by container (namespace)
    await pilot.pause(0.5)
    assert table.group_by == "container", table.group_by
    print("\\n".join(table.render_line(y).text for y in range(4)))
"""
    + APP_OPENED
)


def test_a_stand_in_is_shown_nowhere_as_an_inode(served: tuple[str, str, int, int]) -> None:
    """The grouped view's row read ``▸ ns of pid N (netns 4026532535)``, the stand-in (the
    inode of /proc/N/net/tcp) as the namespace's inode; the InstanceID said ``ns4026532535/``
    too. Now: no number on the row, and the InstanceID names the PID it was found through."""
    _name, _empty, port, pid = served
    done = as_nobody("-c", GROUPED, str(port), timeout=90)
    assert done.returncode == 0, done.stderr
    (group,) = [line for line in done.stdout.splitlines() if f"ns of pid {pid}" in line]
    assert "netns" not in group, group
    stand_in = os.stat(f"/proc/{pid}/net/tcp").st_ino
    (doc,) = rows(tcpscope("connections", "--json", "--local-port", str(port)))
    assert str(doc["InstanceID"]).startswith(f"tcpscope:nspid{pid}/"), doc["InstanceID"]
    assert str(stand_in) not in json.dumps(doc)
    assert namespace(doc)["inode"] is None


NARROW = """
async def then(app, pilot, table):
    await pilot.pause(0.5)
    print("\\n".join(table.render_line(y).text for y in range(2)))
""" + APP_OPENED.replace('netns="all", ', "").replace("(160, 50)", "(WIDTH, 24)")


@pytest.mark.parametrize(
    ("width", "said"), [(60, "(no priv)"), (68, "(no priv)"), (80, "(needs root)")]
)
def test_a_narrow_tables_process_cell_says_why_no_owner_in_whole_words(
    width: int, said: str
) -> None:
    """At 60 to 69 columns the Process column has 10 cells: root's listener, seen by nobody,
    read ``(needs roo…``. Now a shorter word, whole; the whole label where it fits."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        done = as_nobody("-c", NARROW.replace("WIDTH", str(width)), str(port), timeout=90)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[-2:]
    assert "Process" in header and f"127.0.0.1:{port}" in row, done.stdout
    assert said in row and "…" not in row, done.stdout
