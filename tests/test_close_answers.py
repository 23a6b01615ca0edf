"""``tcpscope close``: Ctrl+C and Ctrl+D at the question on a real pseudo-terminal end on a line
of their own, and the top-level ``--netns`` acts as ``close --netns`` does."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios
import time

import pytest

from tests.integration.netns import Netns, netns_unavailable
from tests.integration.sockets import SocketBag
from tests.terminal import read_terminal
from tests.test_cli import PY, ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag: Linux")


def controlling_terminal() -> None:
    """A preexec_fn: a session of its own with stdin's terminal as its controlling one, so
    the terminal's Ctrl+C reaches it as SIGINT (as in a shell)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def answer_on_terminal(key: bytes, *filters: str) -> tuple[str, int]:
    """Run ``close FILTERS`` on a real terminal, press ``key`` at the question; what the
    terminal showed (from the question on) and the exit code."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    child = subprocess.Popen(
        [PY, "-m", "tui", "close", *filters],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd="/",
        preexec_fn=controlling_terminal,
    )  # fmt: skip
    os.close(secondary)
    try:
        shown = b""
        deadline = time.monotonic() + 60
        while not shown.endswith(b"[y/N] ") and time.monotonic() < deadline:
            shown += os.read(primary, 4096)
        assert shown.endswith(b"[y/N] "), shown
        os.write(primary, key)
        rest = read_terminal(primary, 30)
        code = child.wait(timeout=30)
    finally:
        child.kill()
        child.wait(timeout=10)
        os.close(primary)
    return "[y/N] " + rest, code


@pytest.mark.parametrize(
    ("key", "shown", "code"),
    [(b"\x03", "[y/N] ^C\nnothing closed\n", 130), (b"\x04", "[y/N] \nnothing closed\n", 1)],
    ids=["ctrl-c", "ctrl-d"],
)
def test_ctrl_c_and_ctrl_d_at_the_question_end_on_their_own_line(
    key: bytes, shown: str, code: int
) -> None:
    with SocketBag() as bag:
        listener = bag.listener()
        client, accepted = bag.pair(listener)
        port = str(listener.getsockname()[1])
        text, exit_code = answer_on_terminal(key, "--local-port", port)
        client.sendall(b"ping")
        assert accepted.recv(4) == b"ping"  # nothing was closed
    assert text == shown
    assert exit_code == code


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_the_top_level_netns_is_where_close_acts() -> None:
    """``tcpscope --netns NAME close`` was ``close`` in the current namespace, which then
    advised adding --netns; it is ``close --netns NAME``."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(reason)
    code = (
        "import socket, sys\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
        "print(s.getsockname()[1], flush=True); sys.stdin.read(1)\n"
        "c.settimeout(10)\n"
        "try:\n"
        "    print('open' if c.recv(1) else 'eof', flush=True)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__, flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    with Netns("fixcli") as ns:
        child = ns.python(code)
        try:
            assert child.stdout is not None and child.stdin is not None
            port = child.stdout.readline().strip()
            result = subprocess.run(
                [PY, "-m", "tui", "--netns", ns.name, "close", "--local-port", port, "--yes"],
                capture_output=True, text=True, timeout=120, env=env, cwd="/",
            )  # fmt: skip
            child.stdin.write("x")
            child.stdin.close()
            after = child.stdout.readline().strip()
        finally:
            child.kill()
            child.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert "\nclosed " in result.stdout and "Traceback" not in result.stderr
    assert after == "ConnectionResetError"
