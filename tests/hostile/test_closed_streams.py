"""tcpscope started with a standard stream closed (``>&-``, ``<&-``, ``2>&-``) or with ``--help``
going nowhere: one line on stderr and exit 1 where output is lost, exit 2 where a terminal or an
answer was needed, silence when stderr itself is closed; never a traceback, never exit 0 for
output nobody got. Every run is a real tcpscope process."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from core.recording.reader import Recording
from tests.hostile.util import PY, env, one_line_error


def closing(*fds: int) -> Callable[[], None]:
    """A preexec_fn: the child starts with ``fds`` closed, as after ``>&-``."""

    def close() -> None:
        for fd in fds:
            os.close(fd)

    return close


def run_closed(*args: str, fds: tuple[int, ...]) -> subprocess.CompletedProcess[bytes]:
    """``tcpscope ARGS`` with ``fds`` closed; stdout and stderr captured where not closed."""
    return subprocess.run(
        [PY, "-m", "tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        preexec_fn=closing(*fds),
        timeout=60,
        env=env(),
        cwd="/",
    )


@pytest.mark.parametrize(
    "args",
    [
        ("connections",),
        ("connections", "--json"),
        ("connections", "--csv"),
        ("--provider", "kernel", "ipsec"),
        ("--provider", "kernel", "ipsec", "--json"),
        ("explain", "State"),
        ("--help",),
        ("connections", "--help"),
    ],
    ids=" ".join,
)
def test_closed_stdout_is_one_line_and_exit_1(args: tuple[str, ...]) -> None:
    result = run_closed(*args, fds=(1,))
    assert one_line_error(result) == "tcpscope: standard output is closed"
    assert result.returncode == 1


def test_recording_to_a_closed_stdout_is_refused_before_sampling() -> None:
    result = run_closed("--demo", "record", "-", "--samples", "1", fds=(1,))
    assert one_line_error(result) == "tcpscope: stdout is closed: nowhere to write the recording"
    assert result.returncode == 1


def test_recording_to_a_file_needs_no_stdout(tmp_path: Path) -> None:
    out = tmp_path / "r.tsr"
    result = run_closed(
        "--demo", "record", str(out), "--samples", "2", "--interval", "0.1", fds=(1,)
    )
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "Traceback" not in err and "recorded 2 samples" in err
    assert len(Recording(out)) == 2


def test_closed_stdin_refuses_the_question_and_the_live_view() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = str(listener.getsockname()[1])
        close = run_closed("close", "--local-port", port, "--state", "Listen", fds=(0,))
    assert "stdin is not a terminal (use --yes); nothing closed" in close.stderr.decode()
    assert "Traceback" not in close.stderr.decode() and close.returncode == 2
    app = run_closed("--demo", fds=(0,))
    assert "the live view needs a terminal" in one_line_error(app)
    assert app.returncode == 2


def test_closed_stderr_ends_with_the_exit_code_alone() -> None:
    """Nowhere to say it: the error must not end up in the output instead."""
    bad = run_closed("explain", "Nope", fds=(2,))
    assert bad.returncode == 2 and bad.stdout == b""
    with open("/dev/full", "wb") as full:
        lost = subprocess.run(
            [PY, "-m", "tui", "explain", "State"], stdout=full, stderr=subprocess.PIPE,
            preexec_fn=closing(2), timeout=60, env=env(), cwd="/",
        )  # fmt: skip
    assert lost.returncode == 1


def test_help_that_cannot_be_written_is_one_line_and_exit_1() -> None:
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [PY, "-m", "tui", "--help"], stdout=full, stderr=subprocess.PIPE, timeout=60,
            env=env(), cwd="/",
        )  # fmt: skip
    assert one_line_error(result) == "tcpscope: cannot write output: No space left on device"
    assert result.returncode == 1
    proc = subprocess.Popen(
        [PY, "-m", "tui", "connections", "--help"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env(), cwd="/",
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()  # `| head -0`: the reader is gone before the help is written
    _, err = proc.communicate(timeout=60)
    piped = subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)
    assert "broken pipe" in one_line_error(piped)
    assert proc.returncode == 1


def test_help_still_prints_and_exits_0() -> None:
    result = subprocess.run(
        [PY, "-m", "tui", "record", "--help"], capture_output=True, timeout=60, env=env(),
        cwd="/",
    )  # fmt: skip
    assert result.returncode == 0 and b"--force" in result.stdout and result.stderr == b""
