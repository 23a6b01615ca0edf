"""``tcpscope --remote`` through a real sshd (tests/lab/ssh_lab.py): input the server refuses
ends the app and ``record`` as it does locally (one line, exit 2, nothing drawn or written,
never retried), and ssh ends with the client however the client is ended."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.ssh_lab import NFT, SshLab, have_ssh_lab

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]
NO_NETNS = "tcpscope: --netns: no network namespace or container named 'nosuch'"
VICI = "tcpscope: --vici '/etc/passwd' is not a UNIX socket"


def ssh_logins(lab: SshLab) -> int:
    """Accepted logins so far in the lab's sshd log."""
    return lab.log_text().count("Accepted publickey")


def on_a_terminal(lab: SshLab, *args: str, timeout_s: float = 20.0) -> tuple[int | None, str]:
    """The app with stdin, stdout and stderr on a pseudo-terminal, as a user starts it:
    (exit code or None if it was still running after ``timeout_s``, what the terminal got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*TCPSCOPE, "--remote", lab.target, *args],
        stdin=slave, stdout=slave, stderr=slave, env=lab.env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the app ended and closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(5), seen.decode(errors="replace")
        return None, seen.decode(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def test_the_app_ends_on_a_namespace_the_server_does_not_have(lab: SshLab) -> None:
    """Not a blank table "reconnecting" for ever with a new login every 1.6 s: the local
    words, exit 2, before the screen is drawn, one login."""
    before = ssh_logins(lab)
    code, terminal = on_a_terminal(lab, "--netns", "nosuch")
    assert code == 2, terminal[-400:]
    assert NO_NETNS in terminal
    assert "\x1b[?1049h" not in terminal  # the alternate screen was never entered
    assert ssh_logins(lab) - before == 1


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("record", "{}", "--netns", "nosuch"), NO_NETNS),
        (("--vici", "/etc/passwd", "record", "{}"), VICI),
    ],
)
def test_record_refused_by_the_server_writes_nothing(
    lab: SshLab, tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    path = tmp_path / "x.tsr"
    before = ssh_logins(lab)
    done = subprocess.run(
        [*TCPSCOPE, "--remote", lab.target, *(a.format(path) for a in args), "--samples", "2"],
        capture_output=True, text=True, env=lab.env, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (2, line + "\n")
    assert not path.exists()
    assert ssh_logins(lab) - before == 1


@pytest.fixture(scope="module")
def home_lab() -> Iterator[SshLab]:
    """A lab whose root has a home of its own on the server, for a hung ~/.bashrc."""
    with SshLab(private_home=True) as running:
        yield running


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
@pytest.mark.parametrize("command", [("connections",), ("record", "{}", "--samples", "2")])
def test_ssh_ends_with_a_client_killed_during_an_unattended_start(
    home_lab: SshLab, tmp_path: Path, command: tuple[str, ...], sig: signal.Signals
) -> None:
    """As timeout(1), cron or the OOM killer ends it: the server's login shell hangs in
    ~/.bashrc, the client (no terminal: an unattended start, ssh in a group of its own) gets
    ``sig``; its ssh must not stay behind with parent 1 (SIGKILL: the client cannot act, the
    kernel ends ssh)."""
    assert home_lab.home is not None
    rc = home_lab.home / ".bashrc"
    rc.write_text("sleep 1000\n")
    env = {k: v for k, v in home_lab.env.items() if k not in ("SSH_ASKPASS", "DISPLAY")}
    args = [a.format(tmp_path / "x.tsr") for a in command]
    proc = subprocess.Popen(
        [*TCPSCOPE, "--remote", home_lab.target, *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, start_new_session=True,  # no controlling terminal
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not home_lab.client_pids():
            assert time.monotonic() < deadline and proc.poll() is None, "ssh never started"
            time.sleep(0.05)
        time.sleep(1.0)  # logged in, the shell in its startup file
        proc.send_signal(sig)
        assert proc.wait(10) == -sig  # it still dies of the signal
        deadline = time.monotonic() + 5
        while left := home_lab.client_pids():
            assert time.monotonic() < deadline, f"ssh left behind: {left}"
            time.sleep(0.1)
    finally:
        rc.unlink()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in home_lab.client_pids() + home_lab.ns_pids():
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"sleep\x001000" in cmd or b"/ssh\x00" in cmd or cmd.startswith(b"ssh\x00"):
                    os.kill(pid, signal.SIGKILL)


def _grows(path: Path, timeout_s: float) -> None:
    """Wait until the recording at ``path`` gets bigger (a sample arrived)."""
    size = path.stat().st_size
    deadline = time.monotonic() + timeout_s
    while path.stat().st_size <= size:
        assert time.monotonic() < deadline, "no sample arrived"
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["streaming", "reconnected", "stalled"])
def test_ssh_and_the_agent_end_with_a_client_killed_by_sigkill(
    lab: SshLab, tmp_path: Path, how: str
) -> None:
    """The OOM killer or ``timeout -s KILL`` give the client no chance to end its ssh: the
    kernel must (Linux), and the agent, its stdin closed, must end on the server.
    ``reconnected``: the ssh of a reconnection is started by the feed's reader thread, not
    the main thread; it must live on while the client does (samples keep coming), then end
    with it too. ``stalled``: the link is dead when the client is killed, so the end of ssh's
    stdin cannot reach the server and end the session from there."""
    if how == "stalled" and not os.path.exists(NFT):
        pytest.skip("no nft to stall the link")
    path = tmp_path / "x.tsr"
    with (tmp_path / "stderr").open("w") as err:
        proc = subprocess.Popen(
            [*TCPSCOPE, "--remote", lab.target, "--interval", "0.2", "record", str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env=lab.env, start_new_session=True,  # no terminal: an unattended session
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not lab.agent_pids() or not path.exists() or path.stat().st_size == 0:
            assert time.monotonic() < deadline and proc.poll() is None, "no agent started"
            time.sleep(0.1)
        if how == "reconnected":
            lab.kill_sshd()
            lab.start_sshd()
            deadline = time.monotonic() + 30
            while not lab.agent_pids():
                assert time.monotonic() < deadline and proc.poll() is None, "no reconnection"
                time.sleep(0.1)
        _grows(path, 10)
        time.sleep(2.0)  # a session that lives on, not one ended early
        assert proc.poll() is None, (tmp_path / "stderr").read_text()
        assert len(lab.client_pids()) == 1 and lab.agent_pids()
        _grows(path, 10)
        if how == "stalled":
            lab.stall(True)
        proc.kill()
        assert proc.wait(10) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while left := lab.client_pids():
            assert time.monotonic() < deadline, f"ssh left behind: {left}"
            time.sleep(0.1)
        lab.stall(False)  # the server's sshd now learns the client is gone
        deadline = time.monotonic() + 30
        while left := lab.agent_pids():
            assert time.monotonic() < deadline, f"agent left behind on the server: {left}"
            time.sleep(0.1)
    finally:
        lab.stall(False)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in lab.client_pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
