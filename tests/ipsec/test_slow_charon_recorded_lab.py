"""A slow charon's "◷ slow" mark travels with its figures: into a recording and its replay, and
from a ``--remote`` agent to the viewer (strongSwan 5.9.8 lab, a VICI proxy handing each reply
on late, as a busy host's daemon answers).

Why: a slow daemon's figures are its last answer's, up to a sample old; the live screen says
so ("◷ slow: answers in ~N s"). A replay or a remote view that showed the same figures without
the mark would tell the user nothing of their age.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.recording.reader import Recording
from core.recording.replay import open_replay
from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.ipsec.test_hung_charon_lab import slow_vicis
from tests.lab.ipsec_lab import IpsecLab
from tests.lab.own_lab import own_lab
from tests.pilot_wait import until
from tests.remote.test_agent_local import BARE_PYTHON, LOCAL_SSH, _bare_python_problem
from tui.app import TcpscopeApp
from tui.ipsec.ipsec_table import ProviderSection

pytestmark = [pytest.mark.lab, pytest.mark.root]

ROOT = Path(__file__).resolve().parents[2]
SLOW = "◷ slow: answers in ~"
DELAY_S = 0.25
"""Each VICI reply this late: a read takes over a second, more than a 1 s sample waits."""


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    yield from own_lab("sr")


@pytest.fixture
def slow_vici(lab: IpsecLab, tmp_path: Path) -> Iterator[Callable[[float], str]]:
    yield from slow_vicis(lab, tmp_path)


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def record(path: Path, vici: str, *remote: str, env: dict[str, str] | None = None) -> None:
    """``tcpscope record`` of 12 samples at ``--interval 1``, strongSwan only."""
    done = subprocess.run(
        [sys.executable, "-m", "tui", *remote, "--netns", "current", "--provider", "strongswan",
         "--vici", vici, "--interval", "1", "record", str(path), "--samples", "12"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def slow_samples(path: Path) -> list[int]:
    """Indexes of the recording's samples with the strongSwan view up and said to be slow."""
    rec = Recording(path)
    out = []
    for i in range(len(rec)):
        view = rec.snapshot(i).ipsec  # None until the first IPsec sample is in
        if view is not None and any(p.error is None and p.slow_s for p in view.providers):
            out.append(i)
    return out


async def replay_shows_slow(path: Path, index: int) -> str:
    """The strongSwan header on the replay's IPsec screen at sample ``index``."""
    feed = open_replay(path)
    feed.pause()
    app = TcpscopeApp(feed, hostname="lab")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        await pilot.press("2")
        feed.seek_index(index)
        at = index + 1  # the replay's numbers count from 1
        await until(pilot, lambda: app.snapshot is not None and feed.number_of(app.snapshot) == at)
        section = app.screen.query_one("#section-strongswan", ProviderSection)
        await until(pilot, lambda: SLOW in str(section.header.render()), timeout_s=10)
        header = str(section.header.render())
        await pilot.press("q")
    return header


async def test_a_recording_of_a_slow_charon_replays_with_its_slow_mark(
    slow_vici: Callable[[float], str], tmp_path: Path
) -> None:
    path = tmp_path / "slow.tsr"
    record(path, slow_vici(DELAY_S))
    slow = slow_samples(path)
    assert len(slow) >= 3, slow
    header = await replay_shows_slow(path, slow[-1])
    assert "InstanceName=strongswan" in header, header


@pytest.mark.skipif(_bare_python_problem() is not None, reason=str(_bare_python_problem()))
async def test_a_remote_agent_sends_the_slow_mark(
    slow_vici: Callable[[float], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live ``--remote`` view, and ``record --remote``: the agent's samples carry it."""
    vici = slow_vici(DELAY_S)
    monkeypatch.setenv("TCPSCOPE_SSH", LOCAL_SSH)
    feed = RemoteFeed(
        parse_target("localhost", python=BARE_PYTHON),
        stream_config(interval_s=1.0, ghost_ttl_s=5.0, ipsec=True, provider="strongswan",
                      vici=vici, every_tcp_info=False, netns="current"),
    )  # fmt: skip
    feed.connect()
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        await pilot.press("2")
        await until(pilot, lambda: app.screen.query("#section-strongswan"))
        section = app.screen.query_one("#section-strongswan", ProviderSection)
        await until(pilot, lambda: SLOW in str(section.header.render()), timeout_s=40)
        await pilot.press("q")

    path = tmp_path / "remote.tsr"
    env = {**os.environ, "TCPSCOPE_SSH": LOCAL_SSH}
    record(path, vici, "--remote", "localhost", "--remote-python", BARE_PYTHON, env=env)
    slow = slow_samples(path)
    assert len(slow) >= 3, slow
    await replay_shows_slow(path, slow[-1])
