"""``tcpscope --remote`` through a real sshd (tests/lab/ssh_lab.py): the advice a failure
gives is one the user can follow as printed (the ssh command tcpscope runs, the login
shell that refused, the ``--remote`` a hint needs)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.lab.ssh_lab import SshLab, have_ssh_lab
from tests.pilot_wait import until
from tui.app import TcpscopeApp
from tui.ipsec.screen import IpsecScreen

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]
ADVICE = "accept it by connecting once with: "


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty (stdin)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def answer_yes(command: str, env: dict[str, str], timeout_s: float = 20.0) -> tuple[int, str]:
    """``command`` run by ``sh`` on a pseudo-terminal, as a user pastes it, answering
    ssh's "Are you sure you want to continue connecting" with yes: (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        ["sh", "-c", command], stdin=slave, stdout=slave, stderr=slave, env=env,
        preexec_fn=_own_terminal,  # ssh asks on /dev/tty: it must be this pty
    )  # fmt: skip
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
                if not answered and b"(yes/no" in seen:
                    os.write(master, b"yes\n")
                    answered = True
        return proc.wait(5), seen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_unknown_host_key_advice_is_the_tcpscope_ssh_command(
    lab: SshLab, tmp_path: Path
) -> None:
    """README's ``TCPSCOPE_SSH="ssh -F ~/lab/config"`` with a Host alias and its own empty
    known_hosts: the advice named a bare ``ssh lab`` (no such host without the config, and
    it would have saved the key in ~/.ssh/known_hosts); it is the command tcpscope runs,
    quoted for a shell, and pasting it then accepting the key lets tcpscope in."""
    folder = tmp_path / "my lab"
    folder.mkdir()
    known = folder / "known hosts"
    known.write_text("")
    (folder / "config").write_text(
        f"Host lab\n  HostName {lab.address}\n  Port {lab.port}\n  User root\n"
        f"  IdentityFile {lab.dir / 'user_key'}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        f'  UserKnownHostsFile "{known}"\n  GlobalKnownHostsFile /dev/null\n'
        "  ConnectTimeout 5\n"
    )
    env = {**lab.env, "HOME": str(tmp_path), "TCPSCOPE_SSH": 'ssh -F ~/"my lab"/config'}
    argv = [*TCPSCOPE, "--remote", "lab", "connections", "--json"]
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=60, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1 and "host key is not known yet" in done.stderr, done.stderr
    line = done.stderr.strip()
    assert ADVICE in line, line
    command = line.partition(ADVICE)[2]
    assert command == f"ssh -F '{folder}/config' lab", command
    code, said = answer_yes(f"{command} true", env)
    assert code == 0, said
    assert known.read_text().strip(), "the key went elsewhere than the config's known_hosts"
    assert not (tmp_path / ".ssh" / "known_hosts").exists()
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=60, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_nologin_shell_is_named_not_python3(tmp_path: Path) -> None:
    """The account's login shell is nologin: the error blamed python3 ("python3 exited with
    status 1 without starting the agent"), which never ran; it says the login shell did not
    run the command, and quotes what it printed."""
    with SshLab(shell="/usr/sbin/nologin") as lab:
        done = subprocess.run(
            [*TCPSCOPE, "--remote", lab.target, "connections"],
            capture_output=True, text=True, env=lab.env, timeout=60, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    line = done.stderr
    assert done.returncode == 1 and len(line.splitlines()) == 1, line
    assert "python3 exited" not in line, line
    assert "the login shell did not run the agent's command" in line, line
    assert "python3 never started" in line, line
    assert line.rstrip().endswith("'This account is currently not available.'"), line


def vici_hint(lab: SshLab) -> str:
    """The hint for a charon on another socket, as the user must run it for this server."""
    return f"tcpscope --remote {lab.target} --remote-sudo --vici <socket>"


def test_the_one_shot_ipsec_hint_names_the_remote_host(lab: SshLab) -> None:
    """``tcpscope --vici <socket>`` as printed looked at this machine, not the server."""
    done = subprocess.run(
        [*TCPSCOPE, "--remote", lab.target, "--remote-sudo", "--provider", "strongswan", "ipsec"],
        capture_output=True, text=True, env=lab.env, timeout=60, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "charon not running" in done.stdout, (done.stdout, done.stderr)
    assert f"if it runs with another VICI socket: {vici_hint(lab)}" in done.stdout, done.stdout


async def test_the_ipsec_screen_s_hint_names_the_remote_host(lab: SshLab, tmp_path: Path) -> None:
    """The IPsec screen (``2``) of a remote app: the same hint, with ``--remote``."""
    feed = RemoteFeed(
        parse_target(lab.target, sudo=True),
        stream_config(interval_s=0.5, ghost_ttl_s=5.0, ipsec=True, provider="strongswan",
                      vici=None, every_tcp_info=False, netns="current"),
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TCPSCOPE_SSH", lab.ssh_command)
        feed.connect()
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")

    def header() -> str:
        found = app.screen.query("#section-strongswan .provider-header").results(Static)
        return " ".join(str(w.render()) for w in found)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, IpsecScreen) and "charon" in header())
        assert vici_hint(lab) in header(), header()
        await pilot.press("q")
