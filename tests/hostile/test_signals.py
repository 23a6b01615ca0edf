"""SIGINT, SIGTERM (and SIGHUP) end tcpscope promptly in every state, as real processes: the
app (terminal restored, like ``q``), the app while its IPsec daemon stalls, and the one-shot
``ipsec`` command blocked on a stalled daemon. (``record``: test_recording_faults.py.)"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.fake_vici import fake_vici
from tests.hostile.util import PY, ROOT, env
from tests.tui.test_e2e_tmux import Pane

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def app_pid(pane: Pane) -> int:
    """The app: the one child of the pane's shell (never a process this test did not start)."""
    shell_pid = subprocess.run(
        [*pane.tmux, "display-message", "-p", "-t", pane.name, "#{pane_pid}"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    found = subprocess.run(["pgrep", "-P", shell_pid], capture_output=True, text=True).stdout
    (pid,) = found.split()
    return int(pid)


def signal_and_time_exit(pid: int, sig: signal.Signals) -> float:
    """Send ``sig`` to ``pid`` and return the seconds until the kernel reports it ended.

    Measured from outside, from just before the signal to the exit itself: a pidfd (the
    app is the tmux shell's child, not ours, so no waitpid) becomes readable when the
    process has exited, before its parent reaps it.
    """
    pidfd = os.pidfd_open(pid)
    try:
        start = time.monotonic()
        os.kill(pid, sig)
        ready, _, _ = select.select([pidfd], [], [], 60)
        took = time.monotonic() - start
    finally:
        os.close(pidfd)
    assert ready, "the process did not end"
    return took


@pytest.fixture
def shell() -> Iterator[Pane]:
    pane = Pane("env PS1='$ ' bash --norc --noprofile", width=100, height=30)
    try:
        yield pane
    finally:
        pane.kill()


STALLED_AN_HOUR = """
import functools, sys
from core.ipsec.providers import strongswan
# Each read of the stalled daemon blocks its worker thread for an hour, not 2 s.
strongswan.StrongswanProvider = functools.partial(strongswan.StrongswanProvider, timeout_s=3600)
from tui.cli import main
sys.exit(main())
"""
"""The real app, its strongSwan reads given an hour before they time out (not 2 s): an exit
that waited for the worker thread blocked on the stalled daemon would hang for that hour, so
the test checks the mechanism (nothing waits for that thread), not a number of seconds."""


@needs_tmux
@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.parametrize("ipsec", ["demo", "stalled daemon"])
def test_the_app_ends_on_a_signal_and_restores_the_terminal(
    shell: Pane, tmp_path: Path, sig: signal.Signals, ipsec: str
) -> None:
    with fake_vici("stall") as peer:
        if ipsec == "demo":
            app = f"{PY} -m tui --demo"
        else:
            (tmp_path / "stalled_an_hour.py").write_text(STALLED_AN_HOUR)
            app = (
                f"PYTHONPATH={ROOT} {PY} {tmp_path / 'stalled_an_hour.py'} --source netlink "
                f"--provider strongswan --vici {peer.path} --interval 0.5"
            )
        shell.keys(
            f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} "
            f'{app} --ghost-ttl 5 --redact; echo EX""IT:$?',
            literal=True,
        )
        shell.keys("Enter")
        shell.wait_for(lambda t: "tcpscope" in t and "filter" in t, "the app")
        if ipsec != "demo":
            shell.keys("2")
            # Issue 13's state: a worker thread blocked on the daemon (asked, never answered;
            # its read ends in an hour) once held the exit until that read timed out.
            shell.wait_for(lambda _t: peer.requests > 0, "a read blocked on the daemon")
        took = signal_and_time_exit(app_pid(shell), sig)  # fails if it does not end in 60 s
        print(f"{sig.name} ({ipsec}): ended after {took:.2f} s")
        text = shell.wait_for(lambda t: "EXIT:" in t.replace('EX""IT', ""), "the shell again")
        assert "Traceback" not in text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_ipsec_command_ends_while_the_daemon_stalls(sig: signal.Signals) -> None:
    with fake_vici("stall") as peer:
        proc = subprocess.Popen(
            [PY, "-m", "tui", "ipsec", "--provider", "strongswan", "--vici", peer.path],
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while not peer.accepted:  # blocked on the daemon now
            assert proc.poll() is None
            time.sleep(0.02)
        start = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - start
        print(f"ipsec {sig.name}: ended after {took:.2f} s")
        assert proc.returncode in (130, -signal.SIGTERM), err
        assert b"Traceback" not in err


def test_the_app_ends_when_its_terminal_hangs_up_without_a_sighup(tmp_path: Path) -> None:
    """Started under ``runuser`` (whose session leader keeps the SIGHUP), the app outlived its
    closed tmux pane, Textual's input thread reading the end of input at ~70% of a core. Here
    the terminal is not the app's controlling terminal, so its hang-up sends no signal."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    app_env = {k: v for k, v in env().items() if k not in ("COLUMNS", "LINES")}
    app = subprocess.Popen(
        [PY, "-m", "tui", "--demo"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=ROOT,
        env={**app_env, "XDG_CONFIG_HOME": str(tmp_path), "TERM": "xterm-256color"},
        start_new_session=True,  # no controlling terminal: no SIGHUP from the kernel
    )
    os.close(secondary)
    try:
        drawn = b""
        deadline = time.monotonic() + 60
        while b"demo-web01" not in drawn and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 1)
            if ready:
                drawn += os.read(primary, 65536)
        assert b"demo-web01" in drawn, drawn[-500:]
    finally:
        os.close(primary)  # the terminal hangs up
    try:
        code = app.wait(timeout=30)
    finally:
        app.kill()
    assert code == 0  # quit as on SIGHUP: preferences saved, feed closed
