"""The real app in tmux: Ctrl+Z suspends it to the shell and ``fg`` brings it back; a huge
COLUMNS/LINES is bounded by the terminal's own size (the app runs under a 1 GiB address-space
limit and draws a readable screen); a toast (a warning naming the preferences path) and the
filter bar show untrusted text literally, markup and all."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.util import PY, ROOT
from tests.tui.test_e2e_tmux import Pane

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="job control: POSIX"),
]
LIMIT = "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "


def app_command(tmp_path: Path, env: str = "unset COLUMNS LINES;", limited: bool = False) -> str:
    run = (
        f'{PY} -c \'{LIMIT}sys.argv[0] = "tcpscope"; runpy.run_module("tui", run_name="__main__")\''
        if limited
        else f"{PY} -m tui"
    )
    return f"cd {ROOT} && {env} XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color {run} --demo"


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Pane]:
    pane = Pane("env PS1='$ ' bash --norc --noprofile", width=100, height=30)
    try:
        yield pane
    finally:
        pane.kill()


def test_ctrl_z_suspends_and_fg_resumes(shell: Pane, tmp_path: Path) -> None:
    shell.keys(app_command(tmp_path), literal=True)
    shell.keys("Enter")
    shell.wait_for(lambda t: "demo-web01" in t, "the app")
    shell.keys("C-z")
    shell.wait_for(lambda t: "Stopped" in t and "demo-web01" not in t, "the shell after Ctrl+Z")
    shell.keys("fg", literal=True)
    shell.keys("Enter")
    shell.wait_for(lambda t: "demo-web01" in t and "Stopped" not in t, "the app again")
    shell.keys("q")
    shell.wait_for(lambda t: "demo-web01" not in t, "the shell after q")


def test_a_huge_terminal_size_is_bounded(shell: Pane, tmp_path: Path) -> None:
    env = "export COLUMNS=100000 LINES=100000;"
    shell.keys(app_command(tmp_path, env=env, limited=True) + '; echo "EX""ITED:$?"', literal=True)
    shell.keys("Enter")
    # Drawn at the pane's own size: the header (host) and the footer (keys) on one screen.
    shell.wait_for(lambda t: "demo-web01" in t and "q Quit" in t, "the app under a 1 GiB limit")
    shell.keys("q")
    text = shell.wait_for(lambda t: "EXITED:" in t, "the app's exit")
    assert "EXITED:0" in text and "MemoryError" not in text


def test_untrusted_text_in_a_toast_and_the_filter_bar_stays_literal(
    shell: Pane, tmp_path: Path
) -> None:
    # Absolute (a relative XDG_CONFIG_HOME is ignored, as the spec says) and short, so the
    # toast shows the path on one line.
    short = Path(tempfile.mkdtemp(prefix="tf", dir="/tmp"))
    try:
        config = short / "[b]x[/b]" / "tcpscope"
        config.mkdir(parents=True)
        (config / "prefs.json").write_text("{not json")
        shell.keys(
            f"cd {tmp_path} && unset COLUMNS LINES; PYTHONPATH={ROOT} "
            f"XDG_CONFIG_HOME='{short}/[b]x[/b]' TERM=xterm-256color {PY} -m tui --demo",
            literal=True,
        )
        shell.keys("Enter")
        text = shell.wait_for(lambda t: "Preferences" in t, "the preferences warning toast")
        assert "[b]x[/b]/tcpscope/prefs.json" in text  # markup shown as typed, not made bold
        shell.keys("/")
        shell.keys("state:[red]x", literal=True)
        shell.wait_for(lambda t: "✗ state:[red]x" in t, "the literal filter error")
        shell.keys("Escape")
        shell.keys("q")
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_a_hostile_preferences_file_and_path_never_reach_the_terminal(tmp_path: Path) -> None:
    """A bad key carrying markup, an OSC title escape and a bidi override, in a file under a
    ``$XDG_CONFIG_HOME`` whose name carries another OSC: the toast names both, escaped, and
    the terminal's title is untouched."""
    config = tmp_path / "cfg\x1b]0;T2\x07" / "tcpscope"
    config.mkdir(parents=True)
    (config / "prefs.json").write_text('{"[b]x\\u001b]0;pwn\\u0007[/b] \\u202eabc": NaN}')
    xdg = f"\"$(printf '%s/cfg\\033]0;T2\\007' {tmp_path})\""
    command = (
        f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={xdg} TERM=xterm-256color "
        f"{PY} -m tui --demo; sleep 60"
    )
    pane = Pane(command, width=100, height=30)
    try:
        before = pane.title()
        pane.wait_for(lambda t: "Preferences" in t, "the preferences warning toast")
        time.sleep(0.5)  # the rest of the toast is drawn
        title = pane.title()
        assert "pwn" not in title and "T2" not in title, title
        assert title == before
        text = pane.capture()
        toast = "".join(
            line.split("▌ ", 1)[1].strip() for line in text.splitlines() if "▌ " in line
        )
        expected = (
            f"ignoring bad value in {tmp_path}/cfg\\x1b]0;T2\\x07/tcpscope/prefs.json: "
            "[b]x\\x1b]0;pwn\\x07[/b] \\u202eabc"
        )
        assert expected.replace(" ", "") in toast.replace(" ", ""), text
        assert "\u202e" not in text
    finally:
        pane.kill()


CRASH_ON_HELP = """\
import runpy, sys
from tui.app import TcpscopeApp

def crash(self):
    raise RuntimeError("injected fault")

TcpscopeApp.action_help = crash  # a fault the app has no input to cause: ? raises
sys.argv[0] = "tcpscope"
runpy.run_module("tui", run_name="__main__")
"""


def test_a_crash_of_the_app_exits_non_zero_with_its_traceback(tmp_path: Path) -> None:
    """An unhandled exception (a seek offset past year 9999 was one) ended the process with 0,
    as if the user had quit: a script saw success. Now the exit code is Textual's 1 and its
    traceback is on stderr."""
    script = tmp_path / "crash_on_help.py"
    script.write_text(CRASH_ON_HELP)
    command = (
        f"cd {ROOT} && unset COLUMNS LINES; PYTHONPATH={ROOT} XDG_CONFIG_HOME={tmp_path} "
        f'TERM=xterm-256color {PY} {script} --demo; echo "EX""ITED:$?"; sleep 60'
    )
    pane = Pane(command, width=100, height=40)
    try:
        pane.wait_for(lambda t: "demo-web01" in t, "the app")
        pane.keys("?")
        text = pane.wait_for(lambda t: "EXITED:" in t, "the app's exit")
        assert "EXITED:1" in text, text
        assert "RuntimeError: injected fault" in text, text
    finally:
        pane.kill()
