"""What ``--remote`` says across a dropped link, and which failure it names, through a real sshd
(tests/lab/ssh_lab.py): the recording of an outage, a slow reconnection's stages, the
CreationTime bounds of rows seen on both sides of the gap, and ssh's and the loader's errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.ssh_lab import SERVER_PYTHON, SshLab, have_ssh_lab

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]


@pytest.fixture(scope="module")
def lab() -> Iterator[SshLab]:
    with SshLab() as running:
        yield running


def run_with_ssh(lab: SshLab, ssh: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TCPSCOPE, "--remote", lab.target, *args, "connections"],
        capture_output=True,
        text=True,
        env={**lab.env, "TCPSCOPE_SSH": ssh},
        timeout=60,
        check=False,
    )


def test_a_changed_host_key_is_named_apart_from_an_unknown_one(lab: SshLab, tmp_path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
        check=True,
    )
    other = (tmp_path / "other.pub").read_text().split()[:2]
    changed, unknown = tmp_path / "changed", tmp_path / "unknown"
    changed.write_text(f"[{lab.address}]:{lab.port} {' '.join(other)}\n")
    unknown.write_text("")
    saved = f"UserKnownHostsFile={lab.dir / 'known_hosts'}"
    assert saved in lab.ssh_command
    said = {}
    for name, path in (("changed", changed), ("unknown", unknown)):
        done = run_with_ssh(lab, lab.ssh_command.replace(saved, f"UserKnownHostsFile={path}"))
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        said[name] = done.stderr
    assert "host key has CHANGED" in said["changed"] and "attack" in said["changed"]
    assert "SHA256:" in said["changed"]
    assert "CHANGED" not in said["unknown"] and "host key" in said["unknown"]


def test_an_interpreter_the_loader_cannot_start_is_not_called_missing(
    lab: SshLab, tmp_path: Path
) -> None:
    """An interpreter that exists but needs a library the server lacks: the shell's 127
    comes from the dynamic loader, whose own words are quoted."""
    data = Path(os.path.realpath(SERVER_PYTHON)).read_bytes()
    needed = b"libexpat.so.1\x00"
    if data.count(needed) != 1:
        pytest.skip(f"{SERVER_PYTHON} does not link {needed[:-1]!r} once")
    broken = tmp_path / "python3"
    broken.write_bytes(data.replace(needed, b"libnopat.so.1\x00"))  # a library nobody has
    broken.chmod(0o755)
    done = run_with_ssh(lab, lab.ssh_command, "--remote-python", str(broken))
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert f"no {broken} on the server" not in done.stderr
    assert f"{broken} failed to start" in done.stderr
    assert "error while loading shared libraries: libnopat.so.1" in done.stderr
    assert "Traceback" not in done.stderr
