"""``tcpscope --remote`` through a real sshd in a network namespace (see tests/lab/ssh_lab.py).

The server side sees only the system python3: the checkout, the test venv and pyenv are hidden
from sshd's mount namespace, and the first test proves it over the same SSH path.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import pty
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Label, Static

from core.connections import TcpConnection
from core.recording.reader import Recording
from core.remote import session
from core.remote.feed import DISCONNECTED, RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.lab.ssh_lab import SERVER_PYTHON, TC, SshLab, have_ssh_lab, listen_in_namespace
from tests.pilot_wait import until
from tests.remote.lab_feed import open_feed
from tests.tui.test_app import pane_text
from tui.app import TcpscopeApp
from tui.connections.detail import DetailPane
from tui.ipsec.ipsec_table import CounterRowView
from tui.ipsec.sa_list import NativeTable
from tui.ipsec.screen import IpsecScreen

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]
BANNER = "Permission denied to unauthorized users. Connection refused to intruders."


def tcpscope(lab: SshLab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TCPSCOPE, "--remote", lab.target, *args],
        capture_output=True,
        text=True,
        env=lab.env,
        timeout=60,
        check=False,
    )


def test_server_side_has_only_the_system_python(lab: SshLab) -> None:
    probe = (
        "import sys, importlib.util as u; "
        "print(sys.executable, *(u.find_spec(m) is None for m in ('psutil', 'core', 'tui')))"
    )
    argv = [*shlex.split(lab.ssh_command), "-p", str(lab.port), f"root@{lab.address}"]
    done = subprocess.run(
        [*argv, shlex.join(["python3", "-I", "-c", probe])],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.split() == [SERVER_PYTHON, "True", "True", "True"]


def test_namespace_listener_appears_client_listener_does_not(
    lab: SshLab, server_listener: int
) -> None:
    with socket.socket() as client_side:
        client_side.bind(("127.0.0.1", 0))
        client_side.listen()
        client_port = client_side.getsockname()[1]
        # The server's own namespace: the lab's server shares this host's PID namespace,
        # so "all" (the default, as locally) would find the client's namespace there too.
        done = tcpscope(lab, "connections", "--json", "--netns", "current")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    listening = {(r["LocalAddress"], r["LocalPort"]): r for r in rows if r["State"] == 2}
    assert ("127.0.0.1", server_listener) in listening
    assert ("127.0.0.1", client_port) not in listening
    owner = listening[("127.0.0.1", server_listener)]["tcpscope"]["process"]
    assert owner["name"] == "python3" and owner["exe"].startswith("/usr/bin/python3")


def test_record_replays_with_plain_replay(
    lab: SshLab, server_listener: int, tmp_path: Path
) -> None:
    path = tmp_path / "remote.tsr"
    done = tcpscope(lab, "--interval", "0.2", "record", str(path), "--samples", "3")
    assert done.returncode == 0, done.stderr
    rec = Recording(str(path))
    assert len(rec) >= 3 and rec.header.source == "netlink"
    ports = {c.local_port for c in rec.snapshot(len(rec) - 1).connections.values()}
    assert server_listener in ports and lab.port in ports


def test_sudo_shows_in_the_header_privilege(lab: SshLab) -> None:
    feed = RemoteFeed(
        parse_target(lab.target, sudo=True),
        stream_config(interval_s=1.0, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False),
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TCPSCOPE_SSH", lab.ssh_command)
        hello = feed.connect()
    asyncio.run(feed.aclose())
    assert hello.executable == SERVER_PYTHON
    assert feed.endpoint == f"root@{lab.address} (root via sudo)"


@pytest.mark.parametrize(
    ("target", "cause"),
    [
        ("nosuchhost.invalid", "unknown host"),
        ("nobody@{address}:{port}", "login refused"),
        ("root@{address}:1", "connection refused"),
    ],
)
def test_failures_are_one_line(lab: SshLab, target: str, cause: str) -> None:
    done = subprocess.run(
        [*TCPSCOPE, "--remote", target.format(address=lab.address, port=lab.port), "connections"],
        capture_output=True,
        text=True,
        env=lab.env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert cause in done.stderr


def header_text(app: TcpscopeApp) -> str:
    return header_text_of(app.screen.query_one("#header", Static))


def header_text_of(widget: Static) -> str:
    console = Console(file=io.StringIO(), width=300, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def test_dropped_link_keeps_ghosts_and_reconnects(
    lab: SshLab, server_listener: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = open_feed(lab, monkeypatch)
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")

    def listener_row() -> str | None:
        snap = app.snapshot
        if snap is None:
            return None
        conns = [*snap.connections.values(), *(g.connection for g in snap.ghosts)]
        ids = [c.instance_id for c in conns if c.local_port == server_listener]
        return ids[0] if ids else None

    def table_ghosts() -> set[str]:
        screen = app.connections_screen()
        assert screen is not None
        return set(screen.table.index.ghosts)

    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: listener_row() is not None)
        row = listener_row()
        assert f"root@{lab.address} (root)" in header_text(app)
        lab.kill_sshd()
        await until(pilot, lambda: DISCONNECTED in header_text(app))
        await until(pilot, lambda: row in table_ghosts())  # the table stays, as ghosts
        await until(pilot, lambda: not lab.agent_pids(), timeout_s=10)  # the agent went too
        await pilot.pause(4.0)  # attempts 1 and 2 (after 1 s and 2 s more), each in stages
        toasts = [n for n in app._notifications if n.title.startswith("Sampler error")]
        assert len(toasts) == 1, [n.message for n in toasts]  # one per outage, not per stage
        lab.start_sshd()
        await until(pilot, lambda: DISCONNECTED not in header_text(app))
        await until(pilot, lambda: listener_row() is not None and row not in table_ghosts())
        assert feed.reconnects == 1
        await pilot.press("q")
    assert not lab.agent_pids()


async def test_a_reconnection_is_said_once_on_the_header_line_at_80_columns(
    lab: SshLab, server_listener: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """State, attempt and since on the one header line; the banner below says only why, on
    the lines that takes (repeating them it wrapped to two more lines at 80 columns, taken
    from the table), ssh's own words whole."""
    feed = open_feed(lab, monkeypatch)
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.error is None)
        screen = app.connections_screen()
        assert screen is not None
        rows_before = screen.table.size.height
        lab.stall(True)  # attempts hang while connecting (ssh's ConnectTimeout)
        lab.kill_sshd()  # (found at once: no wait for the silence to be noticed)
        try:
            await until(pilot, lambda: "attempt 2" in (feed.link_status or ""))
            await pilot.pause(0.3)
            header = header_text(app).rstrip()
            snap = app.snapshot
            assert snap is not None and snap.error is not None
            since = snap.error.since.strftime("%H:%M:%S")
            assert "reconnecting" in header and f"since {since}" in header, header
            assert header.count("attempt") == 1 and len(header) <= 80, header
            banner = screen.query_one("#banner", Static)
            said = header_text_of(banner)
            assert banner.display and banner.size.height == 2, said
            assert said.rstrip().endswith(": Connection timed out)"), said
            assert "attempt" not in said and "since" not in said, said
            assert screen.table.size.height == rows_before - 2
        finally:
            lab.stall(False)
            lab.start_sshd()
        await until(pilot, lambda: "reconnecting" not in header_text(app))
        await pilot.press("q")


async def test_ipsec_screen_says_its_counters_are_not_live_while_disconnected(
    lab: SshLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the link is down the IPsec screen keeps the last values received, but as such:
    dimmed, no provider active, no rate (nothing is measured), and a banner saying why; all
    live again once the link is back."""
    monkeypatch.setenv("TCPSCOPE_SSH", lab.ssh_command)
    feed = RemoteFeed(
        parse_target(lab.target),
        stream_config(interval_s=0.5, ghost_ttl_s=5.0, ipsec=True, provider="kernel",
                      vici=None, every_tcp_info=False, netns="current"),
    )  # fmt: skip
    feed.connect()
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")

    def ipsec() -> IpsecScreen:
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        return screen

    def providers() -> str:
        return str(ipsec().query_one("#ipsec-providers", Static).render())

    def cells(counter: str) -> tuple[str, str, bool]:
        row = ipsec().query_one(f"#row-kernel-{counter}", CounterRowView)
        value, rate = (str(row.query_one(f".cell-{c}", Label).render()) for c in ("value", "rate"))
        return value, rate, row.has_class("-stale")

    def native(counter: str) -> tuple[str, str, bool]:
        """The native counter's value and rate, and whether they are dimmed."""
        table = ipsec().query_one(NativeTable)
        cells = [table.get_cell(f"kernel/{counter}", c) for c in ("value", "rate")]
        texts = [c if isinstance(c, Text) else Text(c) for c in cells]
        dim = all(any("dim" in str(span.style) for span in t.spans) for t in texts)
        return texts[0].plain, texts[1].plain, dim

    def banner() -> str:
        found = ipsec().query("#banner").results(Static)
        return " ".join(str(w.render()) for w in found if w.display)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: "● kernel" in providers() and cells("SendFailures")[1] != "…")
        assert cells("ActiveAcquire")[1].endswith(" now") and not cells("ActiveAcquire")[2]
        assert cells("SendFailures")[1].endswith("/s") and banner() == ""
        lab.kill_sshd()
        await until(pilot, lambda: DISCONNECTED in header_text(app))
        await until(pilot, lambda: "●" not in providers(), timeout_s=10)
        assert "◌ kernel" in providers()
        for counter in ("ActiveAcquire", "SendFailures"):
            value, rate, stale = cells(counter)
            assert value != "—" and rate == "—" and stale, (counter, value, rate)
        said = banner()
        assert "not live: " in said and DISCONNECTED in said, said
        assert "last IPsec values received, at " in said
        await pilot.press("n")  # the native counters too: the last values, dimmed, no rate
        await pilot.pause()
        value, rate, dim = native("XfrmAcquireError")
        assert value != "—" and rate == "—" and dim, (value, rate)
        lab.start_sshd()
        await until(pilot, lambda: DISCONNECTED not in header_text(app))
        await until(pilot, lambda: native("XfrmAcquireError")[1].endswith("/s"))
        assert not native("XfrmAcquireError")[2]
        await pilot.press("n")
        await until(pilot, lambda: "● kernel" in providers() and banner() == "")
        assert not cells("SendFailures")[2]
        await pilot.press("q")


def test_close_acts_on_the_server_with_the_same_confirmations(lab: SshLab) -> None:
    proc, port = listen_in_namespace(lab.netns)
    with socket.socket() as here:  # the same port on the client side, if it is free here
        try:
            here.bind(("127.0.0.1", port))
            here.listen()
        except OSError:
            here.close()
        try:
            args = ("close", "--local-port", str(port), "--state", "Listen")
            asked = tcpscope(lab, *args)  # no terminal, no --yes: refused, nothing closed
            assert asked.returncode == 2 and "refusing to close 1 connection" in asked.stderr
            done = tcpscope(lab, *args, "--yes")
            assert done.returncode == 0, done.stderr
            assert f"closed  127.0.0.1:{port}" in done.stdout
            left = json.loads(tcpscope(lab, "connections", "--json", "--netns", "current").stdout)
            assert port not in {r["LocalPort"] for r in left}
            if here.fileno() != -1:  # this host's socket on that port was not touched
                assert here.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        finally:
            proc.kill()
            proc.wait()


def test_interrupted_record_ends_cleanly_and_leaves_no_agent(lab: SshLab, tmp_path: Path) -> None:
    path = tmp_path / "cut.tsr"
    proc = subprocess.Popen(
        [*TCPSCOPE, "--remote", lab.target, "--interval", "0.2", "record", str(path)],
        env=lab.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not lab.agent_pids() or not path.exists() or path.stat().st_size == 0:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)  # Ctrl+C
    assert proc.wait(15) == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    deadline = time.monotonic() + 10
    while lab.agent_pids():
        assert time.monotonic() < deadline, "an agent outlived its session"
        time.sleep(0.1)
    assert len(Recording(str(path))) >= 1


def test_ipsec_reads_the_servers_kernel(lab: SshLab) -> None:
    done = tcpscope(lab, "ipsec", "--json")
    assert done.returncode == 0, done.stderr
    instances = json.loads(done.stdout)["instances"]
    names = [i["InstanceName"] for i in instances]
    here = f"kernel:{os.readlink('/proc/self/ns/net')}"
    assert any(n.startswith("kernel:net:[") for n in names) and here not in names
    # As locally: one sample on the server has received no XFRM events, so the totals counted
    # from them are null with the one-shot reason, not 0.
    (kernel,) = [i for i in instances if i["provider"] == "kernel"]
    for name in ("KeyAdditions", "KeyUpdates"):
        assert kernel[name] is None
        assert "one-shot" in kernel["provenance"][name]["reason"]


@pytest.fixture(scope="module")
def home_lab() -> Iterator[SshLab]:
    """A lab whose root has a home of its own on the server, for startup files, and whose
    sshd shows a banner of the kind that words like ssh's own messages."""
    with SshLab(private_home=True, banner=BANNER) as running:
        yield running


def with_bashrc(lab: SshLab, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``tcpscope --remote`` while the server's ~/.bashrc is ``text`` (bash reads it for an
    ssh command too)."""
    assert lab.home is not None
    rc = lab.home / ".bashrc"
    rc.write_text(text)
    try:
        return tcpscope(lab, *args)
    finally:
        rc.unlink()


def test_what_the_login_shell_prints_before_the_agent_is_skipped(home_lab: SshLab) -> None:
    # a greeting on its own line, then a terminal title with no newline: the loader's status
    # line arrives behind it on the same line
    rc = "echo hello\nprintf '\\033]0;t\\007'\n"
    done = with_bashrc(home_lab, rc, "connections", "--json", "--netns", "current")
    assert done.returncode == 0, done.stderr
    ports = {r["LocalPort"] for r in json.loads(done.stdout)}
    assert home_lab.port in ports


@pytest.mark.parametrize(
    ("rc", "quoted"),
    [
        ("printf 'welcome\\033[31m!\\n'; exit 0\n", "welcome\\x1b[31m!"),  # ends, no agent
        ("yes hello\n", "hello\\x0ahello"),  # prints for ever: bounded, not a hang
    ],
)
def test_a_login_shell_that_prints_instead_of_starting_the_agent_is_named(
    home_lab: SshLab, rc: str, quoted: str
) -> None:
    started = time.monotonic()
    done = with_bashrc(home_lab, rc, "connections")
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "login shell printed" in done.stderr and quoted in done.stderr
    assert "\x1b" not in done.stderr  # escaped, never sent to the terminal


@pytest.mark.parametrize("python", ["/bin/false", "/bin/true"])
def test_an_interpreter_that_ends_at_once_is_named_before_the_shell_s_noise(
    home_lab: SshLab, python: str
) -> None:
    """What the login shell wrote to stderr is context, not the reason: the reason is the
    interpreter that ended without starting the agent."""
    rc = "echo '/root/.bashrc: line 22: pyenv: command not found' >&2\n"
    done = with_bashrc(home_lab, rc, "--remote-python", python, "connections")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    line = done.stderr.strip()
    code = 1 if python == "/bin/false" else 0
    reason = f"{python} exited with status {code} without starting the agent"
    assert reason in line, line
    assert line.index(reason) < line.index("pyenv: command not found"), line


def session_leftovers(lab: SshLab) -> list[str]:
    """ssh clients of this lab here, and sshd sessions (not the listener) on its server."""
    left = [f"ssh {pid}" for pid in lab.client_pids()]
    for server_pid in lab.ns_pids():
        with contextlib.suppress(OSError):
            raw = Path(f"/proc/{server_pid}/cmdline").read_bytes()
            cmd = raw.replace(b"\0", b" ").decode(errors="replace").strip()
            if cmd.startswith("sshd") and "-D" not in cmd:  # a session, not the listener
                left.append(f"{cmd} {server_pid}")
    return left


def test_a_one_shot_without_a_terminal_gives_up_on_a_hung_login_shell(home_lab: SshLab) -> None:
    """As cron runs it (no terminal, so no password prompt can appear): a login shell that
    never starts the agent is one line and exit 1 within the unattended start's 30 s, not a
    hang; ssh and the server's session end with it."""
    assert home_lab.home is not None
    rc = home_lab.home / ".bashrc"
    rc.write_text("sleep 1000\n")
    env = {k: v for k, v in home_lab.env.items() if k not in ("SSH_ASKPASS", "DISPLAY")}
    try:
        started = time.monotonic()
        proc = subprocess.Popen(
            [*TCPSCOPE, "--remote", home_lab.target, "connections"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env, start_new_session=True,  # no controlling terminal
        )  # fmt: skip
        try:
            out, err = proc.communicate(timeout=session.START_TIMEOUT_S + 15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail("tcpscope hung on a login shell that never started the agent")
        took = time.monotonic() - started
        deadline = time.monotonic() + 10
        while left := session_leftovers(home_lab):
            assert time.monotonic() < deadline, f"left behind: {left}"
            time.sleep(0.1)
    finally:
        rc.unlink()
        for pid in home_lab.ns_pids():  # the shell still in its startup file: out of reach
            with contextlib.suppress(OSError):
                if b"sleep\x001000" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 1 and out == "", (proc.returncode, out, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "no answer in 30 s (the server never started the agent's loader)" in err
    assert session.START_TIMEOUT_S <= took < session.START_TIMEOUT_S + 10


needs_tc = pytest.mark.skipif(not os.access(TC, os.X_OK), reason=f"iproute2's tc not found ({TC})")


@needs_tc
def test_a_slow_link_reconnects_when_the_first_start_took_longer_than_the_timeout(
    lab: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every session uploads the agent (~375 kB); on a link where that takes longer than the
    unattended start's timeout, a reconnection must still be given the time the first,
    unbounded start took. The link is slowed for real (tc on the lab's veth); the timeout is
    lowered from 30 s so the test takes seconds, not minutes."""
    monkeypatch.setenv("TCPSCOPE_SSH", lab.ssh_command)
    monkeypatch.setattr(session, "START_TIMEOUT_S", 2.0)
    kbit = 640  # the bundle takes ~4 s: twice the timeout
    feed = RemoteFeed(
        parse_target(lab.target),
        stream_config(interval_s=1.0, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False),
    )  # fmt: skip
    lab.limit_upload(kbit)
    try:
        started = time.monotonic()
        feed.connect()
        assert time.monotonic() - started > 2 * session.START_TIMEOUT_S  # the link is slow
        deadline = time.monotonic() + 30
        while feed.latest is None:  # a first sample, which the drop turns into ghosts
            assert time.monotonic() < deadline, "no first sample"
            time.sleep(0.1)
        lab.kill_sshd()
        lab.start_sshd()
        deadline = time.monotonic() + 60
        while feed.reconnects == 0:
            latest = feed.latest
            why = latest.error.message if latest and latest.error else "no error yet"
            assert time.monotonic() < deadline, f"never reconnected: {why}"
            time.sleep(0.2)
    finally:
        lab.limit_upload(None)
        asyncio.run(feed.aclose())
    deadline = time.monotonic() + 10
    while lab.agent_pids():  # the agent ends with its session (ssh's end crosses the link)
        assert time.monotonic() < deadline, "an agent outlived its session"
        time.sleep(0.1)


def stderr_on_a_terminal(lab: SshLab, *args: str) -> tuple[int, bytes, bytes]:
    """Run ``tcpscope --remote`` with stderr on a pseudo-terminal: (exit, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*TCPSCOPE, "--remote", lab.target, *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=lab.env,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every holder of the terminal's other end is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read()
    return proc.wait(30), out, seen


@needs_tc
def test_a_slow_first_start_says_what_it_does_on_a_terminal_only(lab: SshLab) -> None:
    args = ("connections", "--json", "--netns", "current")
    lab.limit_upload(640)  # the agent takes ~4 s to send, more than the notice's 2 s
    try:
        code, out, terminal = stderr_on_a_terminal(lab, *args)
        piped = tcpscope(lab, *args)
    finally:
        lab.limit_upload(None)
    assert code == 0 and lab.port in {r["LocalPort"] for r in json.loads(out)}
    assert b"tcpscope: sending the agent (" in terminal
    # keys are not read before the app starts (ssh may still prompt on this terminal): the
    # line says how to leave meanwhile
    assert b"(Ctrl+C quits)" in terminal
    assert terminal.endswith(b"\r\x1b[K")  # erased: the output starts on a clean line
    assert piped.returncode == 0 and piped.stderr == ""  # not a terminal: nothing said


def test_record_says_when_the_link_was_lost_and_came_back(lab: SshLab, tmp_path: Path) -> None:
    path = tmp_path / "gap.tsr"
    proc = subprocess.Popen(
        [*TCPSCOPE, "--remote", lab.target, "--interval", "0.2", "record", str(path),
         "--duration", "10"],
        env=lab.env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not lab.agent_pids() or not path.exists() or path.stat().st_size == 0:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        lab.kill_sshd()
        lab.start_sshd()
        code = proc.wait(40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None
    said = proc.stderr.read()
    assert code == 0, said  # the recording is complete and plays
    assert len(Recording(str(path))) >= 2
    (line,) = [ln for ln in said.splitlines() if "link was lost" in ln]
    assert "lost once" in line and "reconnected once" in line and "still down" not in line


def test_a_login_banner_is_not_taken_for_ssh_s_own_message(home_lab: SshLab) -> None:
    """The banner says "Permission denied" and "Connection refused"; the session is cut by
    the server after login (the shell kills its sshd), which ssh says in its own words."""
    done = with_bashrc(home_lab, "kill -9 $PPID\n", "connections")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "login refused" not in done.stderr and "connection refused" not in done.stderr
    assert BANNER not in done.stderr and "ssh failed (" in done.stderr


def test_ipsec_vici_path_is_checked_on_the_server(lab: SshLab) -> None:
    # A regular file here that the server cannot see (its /run, where charon's socket lives,
    # is its own): not a reason to refuse, the path names the server's socket.
    fd, here_only = tempfile.mkstemp(dir="/run", suffix=".vici")
    os.close(fd)
    try:
        done = tcpscope(lab, "ipsec", "--provider", "strongswan", "--vici", here_only)
    finally:
        os.unlink(here_only)
    assert "not a UNIX socket" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    # A regular file on the server: refused there, in the words of a local check.
    args = ("ipsec", "--provider", "strongswan", "--vici", "/etc/hostname")
    done = tcpscope(lab, *args)
    local = subprocess.run([*TCPSCOPE, *args], capture_output=True, text=True, check=False)
    # Bad input, as locally: exit 2 and the same line (not "the agent failed (…)").
    assert (
        (done.returncode, done.stderr)
        == (2, local.stderr)
        == (
            2,
            "tcpscope: --vici '/etc/hostname' is not a UNIX socket\n",
        )
    ), done.stderr


async def test_detail_pane_names_the_servers_namespace_not_tcpscope_s(
    lab: SshLab, server_listener: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lab's server sees this host's namespaces too ("all"), so rows come from several and
    # the pane names each one: the server login's own is not "tcpscope's own" (this one's).
    feed = open_feed(lab, monkeypatch, netns="all")
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")

    def listener() -> TcpConnection | None:
        snap = app.snapshot
        found = [] if snap is None else [
            c for c in snap.connections.values() if c.local_port == server_listener
        ]  # fmt: skip
        return found[0] if found else None

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: listener() is not None)
        conn = listener()
        assert conn is not None and conn.netns is None  # the login's own namespace
        screen = app.connections_screen()
        assert screen is not None
        await until(pilot, lambda: screen.table.move_cursor_to(conn.instance_id))
        await pilot.press("enter")
        pane = app.screen.query_one(DetailPane)
        await until(pilot, lambda: "Network namespace" in pane_text(pane))
        said = pane_text(pane)
        assert "the SSH login's own, on the server" in said
        assert "tcpscope's own" not in said
        await pilot.press("q")
