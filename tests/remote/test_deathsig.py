"""ssh's parent-death signal (core/remote/deathsig.py), with real processes and threads: the
child ends with the thread that started it, not before; without setpriv, nothing changes.
The SSH lab tests (test_ssh_lab_refusals.py) kill a real client with SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import RemoteError
from core.remote import deathsig
from core.remote.deathsig import dying_with_the_caller
from core.remote.session import AgentSession
from core.remote.target import parse_target

SLEEP = ["sleep", "60"]


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    """Each test probes setpriv again (under its own PATH)."""
    deathsig._setpriv.cache_clear()
    yield
    deathsig._setpriv.cache_clear()


def start_in_thread(argv: list[str], keep: threading.Event) -> subprocess.Popen[bytes]:
    """``argv`` started by a thread that ends once ``keep`` is set."""
    started: list[subprocess.Popen[bytes]] = []

    def run() -> None:
        started.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL))
        keep.wait()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not started:
        time.sleep(0.01)
    return started[0]


needs_setpriv = pytest.mark.skipif(
    sys.platform != "linux" or deathsig._setpriv() is None, reason="no setpriv --pdeathsig"
)


@needs_setpriv
def test_the_child_lives_as_long_as_the_thread_that_started_it_then_ends() -> None:
    keep = threading.Event()
    proc = start_in_thread(dying_with_the_caller(SLEEP), keep)
    try:
        time.sleep(1.0)
        assert proc.poll() is None  # the exec went through, and nothing ended it early
        keep.set()  # the starting thread ends (as the whole client does when SIGKILLed)
        assert proc.wait(5) == -15  # SIGTERM: ssh then ends its ProxyCommand too
    finally:
        keep.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@needs_setpriv
def test_the_program_runs_as_itself_with_its_own_pid() -> None:
    """setpriv execs: the pid Popen knows (and its process group) is the program's."""
    proc = subprocess.Popen(
        [*dying_with_the_caller(SLEEP)], stdin=subprocess.DEVNULL, process_group=0
    )
    try:
        deadline = time.monotonic() + 5
        while Path(f"/proc/{proc.pid}/cmdline").read_bytes() != b"sleep\x0060\x00":
            assert time.monotonic() < deadline, "setpriv never became sleep"
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()


def test_without_setpriv_the_command_is_unchanged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ssh").write_text("#!/bin/sh\n")
    (tmp_path / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))  # an ssh, no setpriv
    assert dying_with_the_caller(["ssh", "-T", "host"]) == ["ssh", "-T", "host"]


def test_a_missing_ssh_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not setpriv's "failed to execute": Popen's own error, naming the command."""
    monkeypatch.setenv("TCPSCOPE_SSH", "/nonexistent/ssh")
    assert dying_with_the_caller(["/nonexistent/ssh"]) == ["/nonexistent/ssh"]
    session = AgentSession(parse_target("web1"), {"mode": "stream"}, batch=True)
    with pytest.raises(RemoteError, match=r"cannot run '/nonexistent/ssh': No such file"):
        session.start()


def test_an_ssh_command_that_is_not_utf8_is_named_escaped() -> None:
    """``TCPSCOPE_SSH=$'ssh\\xff'`` was named ``'ssh\\udcff'`` (Python's repr of the byte);
    README's escape is ``\\xff``. The real CLI, its one line on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--remote", "x", "connections"],
        env={**os.environ, "TCPSCOPE_SSH": os.fsdecode(b"ssh\xff")},
        cwd=Path(__file__).resolve().parents[2], capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode != 0 and "Traceback" not in err, err
    assert "cannot run 'ssh\\xff': No such file or directory" in err, err
    assert "udcff" not in err, err
