"""End to end: the real ``python -m tui`` in a tmux pane, on the real kernel's sockets.

The test opens real listeners on loopback, drives the app with keys through tmux and reads
the pane with ``capture-pane``. One listener belongs to a real process whose name and command
line carry Rich markup and terminal escape sequences: the pane must show them as literal text
and the terminal must keep its title and contents.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.sockets import WITHOUT_PTRACE, listener_held_by_nobody

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink source: Linux"),
]

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

EVIL_ARGS = ("[red]x[/red]", "[link=http://x]", "\x1b[2J", "\x1b]0;pwned\x07")
EVIL_COMM = "[red]x\x1b[2J"
"""Process name (comm, at most 15 bytes) with markup and an escape sequence."""

CHILD = r"""
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(300)
"""


class Pane:
    """One tmux session running one command, on a tmux server of its own.

    Why its own server (``tmux -L``): on the shared default server, a test whose last session
    ends stops that server while a parallel test's ``new-session`` is connecting to it ("server
    exited unexpectedly")."""

    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.name = f"tcpscope-e2e-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        subprocess.run(
            [
                *self.tmux,
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
        )
        # Its socket file outlives kill-server: removed in kill() (thousands were left in /tmp).
        self.socket = subprocess.run(
            [*self.tmux, "display-message", "-p", "#{socket_path}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        # A detached session may take the server's default size; insist on ours.
        subprocess.run(
            [*self.tmux, "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)],
            check=True,
        )
        size = subprocess.run(
            [
                *self.tmux,
                "display-message",
                "-p",
                "-t",
                self.name,
                "#{window_width}x#{window_height}",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert size == f"{width}x{height}", size

    def capture(self) -> str:
        out = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return out.stdout

    def title(self) -> str:
        out = subprocess.run(
            [*self.tmux, "display-message", "-p", "-t", self.name, "#{pane_title}"],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def keys(self, *keys: str, literal: bool = False) -> None:
        cmd = [*self.tmux, "send-keys", "-t", self.name]
        if literal:
            cmd.append("-l")
        subprocess.run([*cmd, *keys], check=True)
        time.sleep(0.3)  # like a person typing: let the app take the key before the next one

    def wait_for(self, check: Callable[[str], bool], what: str, timeout_s: float = 30) -> str:
        deadline = time.monotonic() + timeout_s
        text = ""
        while time.monotonic() < deadline:
            text = self.capture()
            if check(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"pane never showed {what}; last capture:\n{text}")

    def kill(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        if self.socket:
            Path(self.socket).unlink(missing_ok=True)


def row_with(text: str, needle: str) -> str:
    """The first line of a capture that contains ``needle`` ("" when none does)."""
    return next((line for line in text.splitlines() if needle in line), "")


@pytest.fixture
def app_pane(tmp_path: Path) -> Iterator[Pane]:
    command = (
        # COLUMNS/LINES from the test runner would override the pane size.
        f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
        f"{PYTHON} -m tui --source netlink --no-ipsec --interval 0.5; "
        "echo EXITED:$?; sleep 60"
    )
    pane = Pane(command)
    try:
        yield pane
    finally:
        pane.kill()


def test_listener_appears_filter_detail_and_quit(app_pane: Pane) -> None:
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        # The header says what a live view covers: every namespace by default (others may
        # exist while tests run; the host alone is "this network namespace"), once the first
        # whole sample is in (a first page on a busy host says nothing of it yet).
        scope = re.compile(r"(this network namespace|\d+ network namespaces?)  source")
        app_pane.wait_for(
            lambda t: " last " in t and any(scope.search(ln) for ln in t.splitlines()),
            "a whole sample's header",
        )
        app_pane.keys("/")
        app_pane.wait_for(lambda t: "Enter applies" in t, "the filter input")
        app_pane.keys(f"lport:{port}", literal=True)
        app_pane.keys("Enter")
        # The whole filtered state, not the first frame with the new filter in its header (a
        # table of more than a few thousand rows is filtered in slices after that frame).
        text = app_pane.wait_for(
            lambda t: f"127.0.0.1:{port}" in t and f"lport:{port}" in t and "Listen 1/" in t,
            "the filtered listener",
        )
        row = next(line for line in text.splitlines() if f"127.0.0.1:{port}" in line)
        assert "Listen" in row
        assert "Listen 1/" in text  # the state bar counts the filtered set
        app_pane.keys("Enter")
        text = app_pane.wait_for(lambda t: "All 32 properties" in t, "detail")
        assert f"127.0.0.1:{port}" in text and "Waiting for a connection request" in text
        app_pane.keys("Escape")
        app_pane.wait_for(lambda t: "Local address:port" in t, "the table again")
        app_pane.keys("q")
        app_pane.wait_for(lambda t: "EXITED:0" in t, "a clean exit")
    finally:
        listener.close()


def test_detail_shows_tcp_info_fetched_on_demand(app_pane: Pane) -> None:
    """The live app does not dump tcp_info; opening the detail pane asks for that socket's."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        client.sendall(b"z" * 4000)
        assert accepted.recv(8192)
        lport, rport = accepted.getsockname()[1], client.getsockname()[1]
        app_pane.wait_for(lambda t: "source netlink" in t, "the header")
        app_pane.keys("/")
        app_pane.wait_for(lambda t: "Enter applies" in t, "the filter input")
        app_pane.keys(f"lport:{lport} rport:{rport}", literal=True)
        app_pane.keys("Enter")

        def the_accepted_end_alone(t: str) -> bool:
            """Filtered, not a frame with the filter in its header only."""
            rows = [line for line in t.splitlines() if f"127.0.0.1:{rport}" in line]
            return len(rows) == 1 and f"127.0.0.1:{lport}" in rows[0]

        app_pane.wait_for(the_accepted_end_alone, "the accepted end")
        app_pane.keys("Enter")
        app_pane.wait_for(lambda t: "All 32 properties" in t, "detail")

        def at_the_end(t: str) -> bool:
            app_pane.keys("End")  # the pane grows when tcp_info arrives: go to its end again
            return "bytes in (received)" in t and "rtt" in t

        text = app_pane.wait_for(at_the_end, "tcp_info in the detail pane")
        received = next(line for line in text.splitlines() if "bytes in (received)" in line)
        assert "not reported" not in received and "3.9 KiB" in received, received
    finally:
        for sock in (accepted, client, listener):
            sock.close()


def test_untrusted_process_text_is_shown_literally(app_pane: Pane) -> None:
    child = subprocess.Popen(
        ["[red]x[/red][link=http://x]", "-c", CHILD, EVIL_COMM, *EVIL_ARGS],
        executable=PYTHON,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        app_pane.wait_for(lambda t: "source netlink" in t, "the header")
        app_pane.keys("/")
        app_pane.wait_for(lambda t: "Enter applies" in t, "the filter input")
        app_pane.keys(f"lport:{port}", literal=True)
        app_pane.keys("Enter")
        # A new socket's row may come a frame before its owner ("…" while it is looked up):
        # wait for the owner's name, literally (cut to the column width).
        text = app_pane.wait_for(
            lambda t: "[red]x\\" in row_with(t, f"127.0.0.1:{port}"), "the evil listener's name"
        )
        assert "\x1b" not in text
        app_pane.keys("Enter")
        text = app_pane.wait_for(lambda t: "All 32 properties" in t, "detail")
        # Scroll the pane to the process section.
        for _ in range(60):
            if "cmdline" in text:
                break
            app_pane.keys("PageDown")
            time.sleep(0.1)
            text = app_pane.capture()
        assert "[red]x\\x1b[2J" in text  # name
        assert "[red]x[/red]" in text and "[link=http://x]" in text
        assert "\\x1b]0;pwned\\x07" in text
        assert "tcpscope" in text.splitlines()[0]  # \x1b[2J did not clear the screen
        assert "pwned" not in app_pane.title()  # the OSC did not retitle the terminal
        app_pane.keys("Escape")
        app_pane.keys("q")
        app_pane.wait_for(lambda t: "EXITED:0" in t, "a clean exit")
    finally:
        child.kill()
        child.wait()


@pytest.mark.root
def test_unprivileged_user_gets_the_app_with_hidden_cells_explained(tmp_path: Path) -> None:
    """As ``nobody`` (the usual SSH case): the app runs, says which cells need privilege, and a
    root-owned listener shows no PID, with the reason in its detail."""
    if shutil.which("setpriv") is None or not hasattr(__import__("os"), "geteuid"):
        pytest.skip("needs setpriv")
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root to switch to nobody")
    config = tmp_path / "config"
    config.mkdir()
    config.chmod(0o777)
    command = (
        f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={config} TERM=xterm-256color "
        "setpriv --reuid=65534 --regid=65534 --clear-groups "
        # This namespace only: the app would also read every other namespace's text tables,
        # as large as whatever else the host runs (tests/test_cli.py says more).
        f"{PYTHON} -m tui --source netlink --no-ipsec --interval 0.5 --netns current; "
        "echo EXITED:$?; sleep 60"
    )
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    pane = Pane(command, width=160, height=40)
    try:
        pane.wait_for(lambda t: "privileged cells hidden" in t, "the privilege note in the header")
        pane.keys("/")
        pane.wait_for(lambda t: "Enter applies" in t, "the filter input")
        pane.keys(f"lport:{port}", literal=True)
        pane.keys("Enter")
        # Past the frame where its owner is still looked up ("…"): then "?", or a PID.
        text = pane.wait_for(
            lambda t: bool(re.search(r"0\.0\.0\.0:0\s+[^…\s]", row_with(t, f"127.0.0.1:{port}"))),
            "the root-owned listener, its owner looked up",
        )
        row = row_with(text, f"127.0.0.1:{port}")
        assert "Listen" in row and f" {os.getpid()} " not in row
        # PID and process: not known, and why ("-" is for sockets no process holds)
        assert re.search(r"0\.0\.0\.0:0\s+\?\s+\(needs root\)\s", row), row
        pane.keys("Enter")
        # The summary's Process line says why there is no owner, on the first screen.
        text = pane.wait_for(lambda t: "CAP_SYS_PTRACE" in t, "the OwningProcess reason")
        assert "Traceback" not in text
        pane.keys("Escape")
        pane.keys("q")
        pane.wait_for(lambda t: "EXITED:0" in t, "a clean exit")
    finally:
        pane.kill()
        listener.close()


def test_journey_at_80x24_open_find_understand(tmp_path: Path) -> None:
    """A person on an 80x24 SSH window: open tcpscope, find one connection with a composed
    filter typed with Tab completion, and read the answer on the detail pane's first screen."""
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    command = (
        f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
        f"{PYTHON} -m tui --source netlink --no-ipsec --interval 0.5; "
        "echo EXITED:$?; sleep 60"
    )
    pane = Pane(command, width=80, height=24)
    try:
        client.sendall(b"q" * 3000)
        assert accepted.recv(8192)
        lport, cport = server.getsockname()[1], client.getsockname()[1]
        pane.wait_for(lambda t: "Local address:port" in t, "the table")
        # The footer's keys whole at 80 columns, from Help to Pause (no palette key to cover
        # the last one: Ctrl+P still works, the help lists it).
        pane.wait_for(
            lambda t: "? Help" in t.splitlines()[-1] and "space Pause" in t.splitlines()[-1],
            "a footer from ? Help to space Pause",
        )
        pane.keys("/")
        pane.wait_for(lambda t: "Tab completes" in t, "the filter input")
        pane.keys("lp", literal=True)
        pane.keys("Tab")  # completes the field name
        pane.keys(f"{lport},1 -st", literal=True)
        pane.keys("Tab")
        pane.keys(f"list raddr:127.0.0.0/8 rport:{cport}", literal=True)
        pane.keys("Enter")
        want = f"lport:{lport},1 -state:list raddr:127.0.0.0/8 rport:{cport}"

        def rows_with_cport(t: str) -> list[str]:
            return [line for line in t.splitlines() if f"127.0.0.1:{cport}" in line]

        # The header shows a new filter a frame before the table is filtered by it (a large
        # table is filtered in slices), so wait for the filtered table, not only its header,
        # and for the row's owner (a row may come a frame before it: "…").
        def one_row_with_its_owner(t: str) -> bool:
            rows = rows_with_cport(t)
            return want in t and len(rows) == 1 and "python" in rows[0]

        text = pane.wait_for(one_row_with_its_owner, "the one connection", timeout_s=90)
        rows = rows_with_cport(text)
        assert "Established" in rows[0], text
        assert f"127.0.0.1:{lport}" in rows[0] and "python" in rows[0]
        pane.keys("Enter")
        text = pane.wait_for(
            lambda t: "Health" in t and "rtt" in t, "the detail summary", timeout_s=60
        )
        first_screen = "\n".join(text.splitlines()[:23])
        for expected in (
            "Established — Represents an open connection",
            f"127.0.0.1:{lport}",
            f"{os.getpid()} python",
            "InHost — handled by the host's own TCP stack",
            "CreationTime",
            "cwnd",
            "retrans",
            "in 2.9 KiB",
        ):
            assert expected in first_screen, (expected, text)
        assert "not reported on Linux" not in first_screen or "▶" in first_screen
        pane.keys("Escape")
        pane.keys("q")
        pane.wait_for(lambda t: "EXITED:0" in t, "a clean exit")
    finally:
        pane.kill()
        for sock in (accepted, client, server):
            sock.close()


@pytest.mark.root
@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
    reason="needs root (drops CAP_SYS_PTRACE) and a system python3 for user nobody",
)
def test_group_view_does_not_call_unread_owners_no_owner(tmp_path: Path) -> None:
    """Root without CAP_SYS_PTRACE (a default container's root) at 80x24: a listener held by
    nobody has no PID because its fd table could not be read, so in the group view (g) its
    group says the owner is not known and why; "(no owner)" is kept for what the kernel alone
    holds."""
    with listener_held_by_nobody() as port:
        command = (
            f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
            f"{' '.join(WITHOUT_PTRACE)} "
            f"{PYTHON} -m tui --source netlink --no-ipsec --interval 0.5 --netns current "
            f"--filter lport:{port}; echo EXITED:$?; sleep 60"
        )
        pane = Pane(command, width=80, height=24)
        try:
            pane.wait_for(lambda t: f"127.0.0.1:{port}" in t, "the listener's row")
            pane.keys("g")
            text = pane.wait_for(lambda t: "▸ (" in t, "the PID-less group")
            assert "▸ (owner not known: needs root) 1" in text, text
            assert "(no owner)" not in text, text
            # K on the group row: why there is no process to end, the group's one answer.
            pane.keys("K")
            pane.wait_for(lambda t: "its owner is not known" in t, "K's reason")
            pane.keys("q")
            pane.wait_for(lambda t: "EXITED:0" in t, "a clean exit")
        finally:
            pane.kill()


def test_ipsec_arrow_keys_sent_together_each_move_the_cursor(tmp_path: Path) -> None:
    """Ten Downs in one tmux write (a held key, a slow link, a paste) move the IPsec screen's
    cursor ten rows, not one: Enter then opens the detail of the eleventh counter. Without a
    VICI socket the strongSwan rows are hidden, so the rows are the kernel's."""
    from core.ipsec.model import COUNTER_NAMES

    command = (
        f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
        f"{PYTHON} -m tui --source netlink --vici {tmp_path}/nosuch --interval 0.5; "
        "echo EXITED:$?; sleep 60"
    )
    pane = Pane(command, width=80, height=24)
    try:
        # Up (at 80 columns the header leaves out " last " when it names namespaces).
        pane.wait_for(lambda t: "Local address" in t, "the connections table")
        pane.keys("2")
        pane.wait_for(lambda t: f"{COUNTER_NAMES[0]} " in t, "the IPsec counters")
        pane.keys("space")  # paused, as the reviewer saw it too
        pane.keys("Home")
        pane.keys(*("Down",) * 10)
        pane.keys("Enter")
        pane.wait_for(lambda t: f"{COUNTER_NAMES[10]} — kernel" in t, "the 11th row's detail")
    finally:
        pane.kill()


def test_detail_pane_at_80x24_scrolls_a_line_per_down_sent_together(tmp_path: Path) -> None:
    """Six Downs in one tmux write (a held key, a slow link, a paste) scroll the take-over
    detail pane six lines, not one: what was six rows down is now where the top was."""
    listener = socket.create_server(("127.0.0.1", 0))
    command = (
        f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
        f"{PYTHON} -m tui --source netlink --no-ipsec --interval 0.5 "
        f"--filter lport:{listener.getsockname()[1]}; echo EXITED:$?; sleep 60"
    )
    pane = Pane(command, width=80, height=24)

    def body(text: str) -> list[str]:
        """The screen's rows without the scrollbar column (its thumb moves as it scrolls)."""
        return [line[:76].rstrip() for line in text.splitlines()[:24]]

    def shift(before: list[str], after: list[str]) -> int:
        """How many rows the text moved up: the shift matching most non-blank rows."""
        rows = range(4, 12)  # inside the pane; the footer is row 23
        return max(range(11), key=lambda s: sum(after[i] == before[i + s] != "" for i in rows))

    try:
        pane.wait_for(lambda t: "Listen 1/" in t, "the one listener")
        pane.keys("Enter")
        pane.wait_for(lambda t: "All 32 properties" in t, "the detail pane")
        pane.keys("space")  # paused: the pane's text holds still between the two captures
        before = body(pane.wait_for(lambda t: "PAUSED" in t, "paused"))
        pane.keys(*("Down",) * 6)
        after = body(pane.wait_for(lambda t: body(t) != before, "the pane scrolled"))
        time.sleep(1)  # a late key would scroll on
        after = body(pane.capture())
        assert shift(before, after) == 6, "\n".join(["", *before, "-" * 40, *after])
        pane.keys("q")
        pane.wait_for(lambda t: "EXITED:0" in t, "a clean exit")
    finally:
        pane.kill()
        listener.close()
