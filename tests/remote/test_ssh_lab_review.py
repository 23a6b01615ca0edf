"""``tcpscope --remote`` through a real sshd (tests/lab/ssh_lab.py): what a reviewer met
running it by hand (a ``~`` in ``TCPSCOPE_SSH``, a killed ssh, server-checked input)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.lab.ssh_lab import SshLab, have_ssh_lab

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]


def test_the_readme_s_tilde_in_tcpscope_ssh_is_expanded(lab: SshLab, tmp_path: Path) -> None:
    """README's ``TCPSCOPE_SSH="ssh -F ~/lab/config"``: ``~`` is the user's home, as in the
    shell that runs ``GIT_SSH_COMMAND`` (ssh was handed a literal ``~/lab/config``)."""
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "config").write_text(
        f"IdentityFile {lab.dir / 'user_key'}\nIdentitiesOnly yes\nIdentityAgent none\n"
        f"UserKnownHostsFile {lab.dir / 'known_hosts'}\nGlobalKnownHostsFile /dev/null\n"
        "StrictHostKeyChecking yes\nConnectTimeout 5\n"
    )
    env = {**lab.env, "HOME": str(tmp_path), "TCPSCOPE_SSH": "ssh -F ~/lab/config"}
    done = subprocess.run(
        [*TCPSCOPE, "--remote", lab.target, "connections", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "ssh failed" not in done.stderr, done.stderr
    assert json.loads(done.stdout)


def test_input_refused_by_the_server_reads_as_a_local_run(lab: SshLab) -> None:
    """The agent escaped the name once; the client escaped it again (``'\\\\x1b[31m…'``): the
    remote line must be the local one, with the ESC still shown as ``\\x1b``, never sent."""
    name = "\x1b[31mbad[red]"
    local = run(lab, "--netns", name, "connections")
    remote = run(lab, lab.target, "--netns", name, "connections")
    line = "tcpscope: --netns: no network namespace or container named '\\x1b[31mbad[red]'\n"
    assert local == (2, line)
    assert remote == local


def run(lab: SshLab, *args: str) -> tuple[int, str]:
    """(exit code, stderr) of tcpscope; ``--remote`` when the first argument is a target."""
    remote = ["--remote", args[0]] if args and args[0] == lab.target else []
    done = subprocess.run(
        [*TCPSCOPE, *remote, *args[len(remote) // 2 :]],
        capture_output=True, text=True, env=lab.env, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr


def test_a_killed_ssh_is_named_not_the_host_key_note_from_its_login(
    lab: SshLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh killed mid-session said ``session ended (exit -9): Warning: Permanently added
    '[10.…]:…`` (the note ssh printed when it logged in): the signal, in words."""
    known = tmp_path / "known_hosts"  # empty: ssh accepts the key and says so on stderr
    ssh = lab.ssh_command.replace(
        f"UserKnownHostsFile={lab.dir / 'known_hosts'}", f"UserKnownHostsFile={known}"
    ).replace("StrictHostKeyChecking=yes", "StrictHostKeyChecking=accept-new")
    monkeypatch.setenv("TCPSCOPE_SSH", ssh)
    feed = RemoteFeed(
        parse_target(lab.target),
        stream_config(interval_s=0.5, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False, netns=None),
    )  # fmt: skip
    feed.connect()
    try:
        session = feed._session
        assert session is not None and session._proc is not None
        assert any("Permanently added" in line for line in session._stderr)
        os.kill(session._proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while feed.link_cause is None:
            assert time.monotonic() < deadline, "the drop was never seen"
            time.sleep(0.01)
        assert feed.link_cause == "ssh was killed by signal 9 (SIGKILL)"
    finally:
        asyncio.run(feed.aclose())


def test_close_without_the_right_on_the_server_gives_the_remote_advice(
    lab: SshLab, server_listener: int, tmp_path: Path
) -> None:
    """The agent runs as nobody without capabilities (a non-root login): "run as root" was
    the local advice; over --remote the way is --remote-sudo or a root login."""
    python = tmp_path / "python-as-nobody"
    python.write_text(
        "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "
        '--bounding-set=-all /usr/bin/python3 "$@"\n'
    )
    python.chmod(0o755)
    tmp_path.chmod(0o755)
    args = ("--remote-python", str(python), "close", "--local-port", str(server_listener))
    code, said = run(lab, lab.target, *args, "--state", "Listen", "--yes")
    assert code == 1, said
    assert "run as root" not in said, said
    assert "CAP_NET_ADMIN on the server: add --remote-sudo, or log in as root" in said, said
