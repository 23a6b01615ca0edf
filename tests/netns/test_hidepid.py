"""A /proc mounted with ``hidepid``, as hardened servers mount it, for ``nobody``, for real.

Under ``hidepid=2`` other users' ``/proc/PID`` are not listed at all, so the owner scan is
denied nothing: root's sockets read ``? (not found)`` (as if closed meanwhile) with no
privilege note. Each run here is nobody's in a mount namespace of its own with a fresh proc
mount (the host's /proc is never remounted).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.integration.sockets import SYSTEM_PYTHON, SocketBag, fill
from tests.netns.lab import LISTENER, free_port, listener, netns, nobody_env, ready, unique
from tests.netns.test_nonroot import APP_OPENED as APP_OPENED_ALL
from tests.netns.test_nonroot import NOBODY, REPO
from tests.netns.test_nonroot import pytestmark as nonroot_marks

pytestmark = [
    *nonroot_marks,
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)"),
]


APP_OPENED = APP_OPENED_ALL.replace('netns="all", ', "")
"""The app in tcpscope's own namespace only: the sockets these tests open are there, and a
namespace another test made at the same time can hold a socket on the same port."""


def hidden(option: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python3 ARGV`` run by nobody with this checkout's code, in its own mount namespace
    whose /proc is a new proc mount with ``-o OPTION``."""
    home = tempfile.mkdtemp(prefix="tcpscope-hidepid-")
    try:
        os.chmod(home, 0o777)
        env = nobody_env(home)
        script = f'mount -t proc -o {option} proc /proc && exec "$@"'
        return subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
             *NOBODY, SYSTEM_PYTHON, *argv],
            capture_output=True, text=True, timeout=60, env=env, cwd=REPO, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def nobodys_listener(port: int) -> Iterator[subprocess.Popen[str]]:
    """A process of nobody's listening on 127.0.0.1:``port``."""
    with ready([*NOBODY, SYSTEM_PYTHON, "-c", LISTENER, str(port)]) as proc:
        yield proc


def row(table: str, port: int) -> str:
    (line,) = [x for x in table.splitlines() if f"127.0.0.1:{port} " in x]
    return line


@pytest.mark.parametrize("option", ["hidepid=2", "hidepid=invisible", "hidepid=1"])
def test_other_users_sockets_under_hidepid_need_root_and_the_note_says_why(option: str) -> None:
    """Root's listener read ``? (not found)`` with no note under hidepid (nothing was
    *denied*: root's processes are not listed). Now ``? (needs root)``, a note naming
    hidepid; nobody's own listener still shows its PID."""
    with socket.socket() as root_sock:
        root_sock.bind(("127.0.0.1", 0))
        root_sock.listen()
        root_port = root_sock.getsockname()[1]
        own_port = free_port()
        with nobodys_listener(own_port) as own:
            done = hidden(option, "-m", "tui", "connections", "--netns", "current")
    assert done.returncode == 0, done.stderr
    theirs = row(done.stdout, root_port)
    assert re.search(r"\?\s+\(needs root\)", theirs), theirs
    assert str(own.pid) in row(done.stdout, own_port), done.stdout
    notes = [x for x in done.stderr.splitlines() if x.startswith("tcpscope: note: owners")]
    assert len(notes) == 1, done.stderr
    level = "1 (noaccess)" if option == "hidepid=1" else "2 (invisible)"
    assert f"/proc is mounted with hidepid={level}" in notes[0], notes[0]
    assert "gid=0" in notes[0], notes[0]  # the group that would see past it


def test_a_named_namespace_whose_processes_are_hidden_is_not_said_to_have_none() -> None:
    """``--netns NAME`` of a namespace holding root's listener said "entering a namespace no
    process is in needs CAP_SYS_ADMIN": a process is in it, hidden by hidepid."""
    port = free_port()
    with netns(unique("nsH")) as name, listener(name, port):
        done = hidden("hidepid=2", "-m", "tui", "connections", "--netns", name)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    (error,) = [x for x in done.stderr.splitlines() if not x.startswith("tcpscope: note")]
    assert error.startswith(f"tcpscope: network namespace {name} could not be read: "), error
    assert "no process is in" not in error, error
    assert "hidepid=2 (invisible)" in error and "CAP_SYS_ADMIN" in error, error


PANE = (
    """
async def then(app, pilot, table):
    await pilot.press("escape", "enter")
    await pilot.pause(0.3)
    print(text(app.screen.query_one("#detail-more", Static)))
"""
    + APP_OPENED
)


def test_the_detail_pane_says_hidepid_hides_the_owner() -> None:
    """The detail pane of root's listener said only that other users' fd tables are
    unreadable: under hidepid their processes are not even listed."""
    with socket.socket() as root_sock:
        root_sock.bind(("127.0.0.1", 0))
        root_sock.listen()
        done = hidden("hidepid=2", "-c", PANE, str(root_sock.getsockname()[1]))
    assert done.returncode == 0, done.stderr
    pane = " ".join(done.stdout.split())
    assert "process owner not known: needs root" in pane, pane
    assert "/proc is mounted with hidepid=2 (invisible)" in pane, pane


FIRST_SCREEN = """
async def then(app, pilot, table):
    await pilot.press("escape", "enter")
    box = app.screen.query_one("#detail-summary", Static)
    for _ in range(100):
        await pilot.pause(0.05)
        if "Health" in text(box):
            break
    await pilot.pause(0.2)
    console = Console(file=io.StringIO(), width=box.region.width, record=True, color_system=None)
    console.print(box.content)
    print(console.export_text())
    print("bottom", box.region.bottom, app.size.height)
""" + APP_OPENED.replace("size=(160, 50)", "size=(80, 24)")


def test_the_detail_panes_process_line_names_hidepid_on_the_first_screen() -> None:
    """The first screen's Process line said "other users' processes are unreadable; reading
    their /proc/<pid>/fd needs …", as if nobody were denied their fd tables: under hidepid
    their processes are not even listed, and it now says so, above the footer at 80x24."""
    with socket.socket() as root_sock:
        root_sock.bind(("127.0.0.1", 0))
        root_sock.listen()
        done = hidden("hidepid=2", "-c", FIRST_SCREEN, str(root_sock.getsockname()[1]))
    assert done.returncode == 0, done.stderr
    *lines, bottom = done.stdout.rstrip().splitlines()
    *_, pane_bottom, height = bottom.split()
    assert int(pane_bottom) <= int(height) - 1, done.stdout  # above the footer, unscrolled
    words = " ".join(" ".join(lines).split())
    process = words[words.index("Process ") : words.index(" Offload ")]
    assert "/proc is mounted with hidepid=2 (invisible)" in process, process
    assert "unreadable" not in process, process
    assert "Health" in words, words


GROUP_NOTE = """
async def then(app, pilot, table):
    await pilot.press("g")  # by process
    await pilot.pause(0.5)
    assert table.group_by == "process", table.group_by
    print("\\n".join(table.render_line(y).text for y in range(4)))
""" + APP_OPENED.replace("size=(160, 50)", "size=(240, 30)")


def test_the_grouped_views_ownerless_group_names_hidepid() -> None:
    """The group of root's listener said "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH show the
    owners": under hidepid the owners' processes are hidden, and its note says so."""
    with socket.socket() as root_sock:
        root_sock.bind(("127.0.0.1", 0))
        root_sock.listen()
        done = hidden("hidepid=1", "-c", GROUP_NOTE, str(root_sock.getsockname()[1]))
    assert done.returncode == 0, done.stderr
    (group,) = [x for x in done.stdout.splitlines() if "(owner not known: needs root)" in x]
    assert "/proc is mounted with hidepid=1 (noaccess)" in group, group
    assert "gid=0" in group, group  # the group that would list them


END_IT = (
    """
async def then(app, pilot, table):
    await pilot.press("K")
    await pilot.pause(0.3)
    for note in app._notifications:
        print("NOTE", note.message)
"""
    + APP_OPENED
)


def test_terminating_an_owner_hidden_by_hidepid_says_hidepid_hides_it() -> None:
    """K on root's listener said "its owner is not known: other users' processes are
    unreadable; needs CAP_SYS_PTRACE …": under hidepid nothing is unreadable, the processes
    are hidden, and the refusal says so as the detail pane does."""
    with socket.socket() as root_sock:
        root_sock.bind(("127.0.0.1", 0))
        root_sock.listen()
        done = hidden("hidepid=2", "-c", END_IT, str(root_sock.getsockname()[1]))
    assert done.returncode == 0, done.stderr
    (note,) = [x for x in done.stdout.splitlines() if x.startswith("NOTE ")]
    assert note.startswith("NOTE its owner is not known: "), note
    assert "/proc is mounted with hidepid=2 (invisible)" in note, note
    assert "unreadable" not in note, note


def test_close_under_hidepid_without_cap_net_admin_refuses_before_listing() -> None:
    """``tcpscope close`` as nobody under hidepid listed root's listener with an owner label
    and then refused it; without CAP_NET_ADMIN it now refuses in one line before listing or
    asking (the owner labels under hidepid are the listing's: see the test above)."""
    with socket.socket() as root_sock:
        root_sock.bind(("127.0.0.1", 0))
        root_sock.listen()
        port = root_sock.getsockname()[1]
        done = hidden(
            "hidepid=2", "-m", "tui", "close", "--netns", "current",
            "--filter", f"lport:{port}", "--state", "Listen", "--yes",
        )  # fmt: skip
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == "", done.stdout
    (refusal,) = done.stderr.splitlines()
    assert "closing a socket needs CAP_NET_ADMIN" in refusal, refusal
    assert "nothing closed" in refusal, refusal


ESTABLISHED_FIRST_SCREEN = FIRST_SCREEN.replace('f"port:{port}"', 'f"rport:{port}"').replace(
    '    print("bottom"',
    '    print("OWNER", " ".join(text(app.screen.query_one("#detail-more", Static)).split()))\n'
    '    print("bottom"',
)


def test_an_established_connections_first_screen_fits_80x24_under_hidepid() -> None:
    """The hidepid Process line takes more lines than the old reason: an ESTABLISHED
    connection with the most first-screen lines (a Send-Q stalled on the peer's zero window,
    its Bytes) must still end with its Health and queue lines above the footer at 80x24. The
    Process line said the whole hidepid reason in five lines, which the owner section's "why"
    row then said again word for word: the Process line now says it short."""
    with SocketBag() as bag:
        listener = bag.listener()
        client = bag.keep(socket.socket())
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(listener.getsockname())
        server = bag.keep(listener.accept()[0])
        assert fill(server) > 0
        port = client.getsockname()[1]  # the server's remote port: its row alone
        done = hidden("hidepid=2", "-c", ESTABLISHED_FIRST_SCREEN, str(port))
    assert done.returncode == 0, done.stderr
    *lines, owner, bottom = done.stdout.rstrip().splitlines()
    *_, pane_bottom, height = bottom.split()
    assert int(pane_bottom) <= int(height) - 1, done.stdout  # above the footer, unscrolled
    words = " ".join(" ".join(lines).split())
    assert "Established" in words and "Health" in words and "Bytes" in words, words
    assert "Send-Q" in words, words  # the queue line under Health
    process = words[words.index("Process ") : words.index(" Offload ")]
    assert "/proc is mounted with hidepid=2 (invisible)" in process, process
    # The owner section's "why" says it whole; the Process line does not repeat it.
    why = owner[owner.index(" why ") + 5 : owner.index(" TCP internals")]
    assert "/proc is mounted with hidepid=2 (invisible)" in why and "gid=0" in why, owner
    assert "CAP_DAC_READ_SEARCH" in why and "CAP_DAC_READ_SEARCH" not in process, process
