"""A dropped ``--remote`` link with a normal-length user@host, through the stand-in ssh
(``local_ssh.py``): the header keeps the reconnection's state, attempt and since whole at 80
and 100 columns (the host label gives way), and the connections screen says why the link is
down, on one line, with no IPsec screen to look at.

The link is dropped for real: the stand-in ssh (and with it the agent) is killed, and every
attempt after that meets a wrapper that answers as ssh does for a host refusing port 22.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from rich.console import Console
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Static

from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.pilot_wait import until
from tui.app import TcpscopeApp

HERE = Path(__file__).resolve().parent
TARGET = "operator@db-primary-03.eu-west.example.com"
REFUSED = "ssh: connect to host db-primary-03.eu-west.example.com port 22: Connection refused"


def rendered(widget: Static) -> str:
    console = Console(file=io.StringIO(), width=300, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text().rstrip("\n")


@pytest.fixture
def feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RemoteFeed:
    """A connected feed whose later attempts are refused once ``tmp_path/down`` exists."""
    return connected(tmp_path, monkeypatch, f'echo "{REFUSED}" >&2; exit 255')


def connected(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    down: str,
    target: str = TARGET,
    sudo: bool = False,
) -> RemoteFeed:
    """A connected feed whose later attempts run the shell line ``down`` once
    ``tmp_path/down`` exists."""
    wrapper = tmp_path / "ssh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ -e "{tmp_path / "down"}" ]; then {down}; fi\n'
        f'exec "{sys.executable}" "{HERE / "local_ssh.py"}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("TCPSCOPE_SSH", str(wrapper))
    feed = RemoteFeed(
        parse_target(target, sudo=sudo),
        stream_config(interval_s=0.5, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False, netns=None),
    )  # fmt: skip
    feed.connect()
    return feed


def drop(feed: RemoteFeed, tmp_path: Path) -> None:
    """Refuse every later attempt, then end the running session's ssh (and agent)."""
    (tmp_path / "down").touch()
    session = feed._session
    assert session is not None and session._proc is not None
    tree = [session._proc.pid]
    for pid in tree:  # under sudo the agent held the pipes open after its ssh died
        tree += children(pid)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


async def reconnecting_header(
    pilot: Pilot[int], app: TcpscopeApp, feed: RemoteFeed, tmp_path: Path, attempt: str
) -> tuple[str, str]:
    """Drop the link, wait until ``attempt`` (``attempt 2``) has failed; the header as drawn
    then, and the outage's since (HH:MM:SS)."""
    drop(feed, tmp_path)
    await until(pilot, lambda: f"{attempt} failed" in (feed.link_status or ""))
    await pilot.pause(0.3)
    header = rendered(app.screen.query_one("#header", Static))
    snap = app.snapshot
    assert snap is not None and snap.error is not None
    return header, snap.error.since.strftime("%H:%M:%S")


@pytest.mark.parametrize("width", [80, 100])
async def test_a_long_user_at_host_gives_way_to_the_reconnection_s_words(
    feed: RemoteFeed, tmp_path: Path, width: int
) -> None:
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(width, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.error is None)
        header, since = await reconnecting_header(pilot, app, feed, tmp_path, "attempt 2")
        assert len(header) <= width, header
        assert header.startswith("tcpscope  operato"), header  # user@host gives way first
        assert " (root)  reconnecting: attempt" in header, header  # the privilege: whole
        # (a loaded host stretches the 0.5 s interval: that note may follow, whole)
        assert re.search(rf"reconnecting: attempt \d+ since {since}(  \(stretched\))?$", header)
        assert "failed" not in header and " … " not in header, header
        await pilot.press("q")


@pytest.mark.parametrize("width", [60, 64, 70])
async def test_a_narrow_reconnecting_header_keeps_root_via_sudo_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    """The reviewer's long label under --remote-sudo at 60 columns: the header dropped
    "(root via sudo)" while reconnecting (it kept it while connected); user@host gives way
    first, the reconnection's state and since stay."""
    long = "user@averyveryverylonghostname-for-header.example.internal:2222"
    feed = connected(tmp_path, monkeypatch, f'echo "{REFUSED}" >&2; exit 255', long, sudo=True)
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(width, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.error is None)
        assert feed.endpoint.endswith(" (root via sudo)"), feed.endpoint
        header, since = await reconnecting_header(pilot, app, feed, tmp_path, "attempt 1")
        assert len(header) <= width, header
        assert header.startswith("tcpscope  "), header
        assert "(root via sudo)  reconnecting" in header, header
        assert f" since {since}" in header, header
        await pilot.press("q")


async def test_the_cause_of_an_outage_is_on_the_connections_screen_at_80x24(
    feed: RemoteFeed, tmp_path: Path
) -> None:
    """With no IPsec screen (--no-ipsec), the connections screen is the only place to say
    why no live data comes: below the header, the cause alone, whole (cut at 80 columns it
    lost ssh's own words, the part that says what to fix), on the lines it needs."""
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.error is None)
        screen = app.connections_screen()
        assert screen is not None
        rows_before = screen.table.size.height
        drop(feed, tmp_path)
        await until(pilot, lambda: "attempt 1 failed" in (feed.link_status or ""))
        await pilot.pause(0.3)
        banner = screen.query_one("#banner", Static)
        height = banner.size.height
        assert banner.display and height == 2
        lines = banner.render_lines(Region(0, 0, 80, height))
        said = " ".join("".join(s.text for s in line).strip() for line in lines)
        assert said == f"cause: connection refused ({REFUSED})", said
        assert screen.table.size.height == rows_before - height
        await pilot.press("q")


async def test_the_cause_line_escapes_the_server_s_text_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login shell printing a literal backslash (and a real ESC, and markup): the cause
    line shows it as the one-shot error does, escaped once (``\\\\033`` was escaped again
    to four backslashes), the ESC as ``\\x1b``, the markup as text."""
    said_file = tmp_path / "said"
    said_file.write_bytes(b"bashrc \\033[31mred \x1b[1m[bold]x\n")
    feed = connected(tmp_path, monkeypatch, f'cat "{said_file}" >&2; exit 1')
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(200, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.error is None)
        drop(feed, tmp_path)
        await until(pilot, lambda: "attempt 1 failed" in (feed.link_status or ""))
        await pilot.pause(0.3)
        screen = app.connections_screen()
        assert screen is not None
        said = rendered(screen.query_one("#banner", Static)).strip()
        assert said.endswith(
            " (the server's stderr said: bashrc \\\\033[31mred \\x1b[1m[bold]x)"
        ), said
        assert said == f"cause: {feed.link_cause}", said
        await pilot.press("q")
