"""Saving preferences as root into a place another user controls (real users, real files):
no write through a symlinked directory, no change to another user's file, no directory made
where the user has none; also the keys and the environment that used to break saving."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.scripted import HOST, SteppedFeed, demo_frames
from tui.app import TcpscopeApp
from tui.prefs import Prefs, load, prefs_path, save
from tui.prefs_saver import PrefsSaver

NOBODY = pwd.getpwnam("nobody")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="plants files as another user")


def as_nobody(*argv: str) -> None:
    """Run ``argv`` as the user nobody (what another user on the machine can do)."""
    ids = [f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups"]
    subprocess.run(["setpriv", *ids, *argv], check=True)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory every user can reach (pytest's tmp_path is root's 0700), with a folder
    ``alice`` that belongs to nobody, as a user's home or config folder does."""
    top = Path(tempfile.mkdtemp(prefix="tcpscope-owners-", dir="/tmp"))
    top.chmod(0o755)
    alice = top / "alice"
    alice.mkdir()
    os.chown(alice, NOBODY.pw_uid, NOBODY.pw_gid)
    yield top
    shutil.rmtree(top)


def tree(top: Path) -> list[str]:
    return sorted(str(p.relative_to(top)) for p in top.rglob("*"))


def test_a_symlinked_directory_planted_by_another_user_is_not_written_through(
    shared: Path,
) -> None:
    victim = shared / "victim"
    victim.mkdir(mode=0o700)
    as_nobody("ln", "-s", str(victim), str(shared / "alice" / "tcpscope"))
    problem = save(Prefs(sort_column="pid"), shared / "alice" / "tcpscope" / "prefs.json")
    assert os.listdir(victim) == []
    assert problem is not None and "\n" not in problem
    assert f"{shared}/alice/tcpscope is a symbolic link" in problem


def test_a_symlinked_directory_higher_up_is_not_written_through(shared: Path) -> None:
    """The link is the config folder itself (``XDG_CONFIG_HOME=/tmp/x/alice/cfg``)."""
    victim = shared / "victim"
    victim.mkdir(mode=0o700)
    (victim / "tcpscope").mkdir(mode=0o700)
    as_nobody("ln", "-s", str(victim), str(shared / "alice" / "cfg"))
    problem = save(Prefs(), shared / "alice" / "cfg" / "tcpscope" / "prefs.json")
    assert os.listdir(victim / "tcpscope") == []
    assert problem is not None and "symbolic link" in problem


def test_another_users_prefs_keep_their_owner_mode_and_content(shared: Path) -> None:
    folder = shared / "alice" / "tcpscope"
    as_nobody("mkdir", "-m", "700", str(folder))
    as_nobody("sh", "-c", f'umask 077; echo \'{{"theme": "nord"}}\' > {folder}/prefs.json')
    before = os.stat(folder / "prefs.json")
    problem = save(Prefs(sort_column="pid"), folder / "prefs.json")
    after = os.stat(folder / "prefs.json")
    assert (after.st_uid, stat.S_IMODE(after.st_mode)) == (NOBODY.pw_uid, 0o600)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert json.loads((folder / "prefs.json").read_text()) == {"theme": "nord"}
    assert os.listdir(folder) == ["prefs.json"]
    assert problem == (
        f"preferences not saved: {folder} belongs to uid {NOBODY.pw_uid} (running as root)"
    )


def test_no_folder_is_made_in_another_users_folder(shared: Path) -> None:
    problem = save(Prefs(), shared / "alice" / "tcpscope" / "prefs.json")
    assert tree(shared) == ["alice"]
    assert problem == (
        f"preferences not saved: {shared}/alice belongs to uid {NOBODY.pw_uid} (running as root)"
    )


def test_the_refusal_is_said_once(shared: Path) -> None:
    problems: list[str] = []
    saver = PrefsSaver(shared / "alice" / "tcpscope" / "prefs.json", problems.append)
    for column in ("pid", "local", "remote"):
        saver.save(Prefs(sort_column=column))
        assert saver.wait(30.0)
    assert len(problems) == 1 and "belongs to uid" in problems[0]


def test_a_home_that_does_not_exist_gets_nothing_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent" / "x"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    problem = save(Prefs())
    assert list(tmp_path.iterdir()) == []
    assert problem is not None and "\n" not in problem


def test_a_missing_config_folder_is_made_in_ones_own_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert save(Prefs(sort_column="pid")) is None
    assert load(tmp_path / ".config" / "tcpscope" / "prefs.json")[0].sort_column == "pid"
    assert stat.S_IMODE(os.stat(tmp_path / ".config" / "tcpscope").st_mode) == 0o700


def test_a_relative_xdg_config_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relcfg")
    assert prefs_path() == tmp_path / "home" / ".config" / "tcpscope" / "prefs.json"


@pytest.mark.parametrize("depth", [100, 500, 800])  # near 1000 json refuses the file
def test_a_deeply_nested_unknown_key_is_dropped_with_a_warning(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "tcpscope" / "prefs.json"
    path.parent.mkdir()
    path.write_text('{"theme": "nord", "future": ' + "[" * depth + "]" * depth + "}")
    prefs, warning = load(path)
    assert prefs.theme == "nord" and prefs.extra == {}
    assert warning == f"ignoring bad value in {path}: future"
    assert save(prefs, path) is None
    assert json.loads(path.read_text())["theme"] == "nord"


def test_ones_own_symlinked_config_folder_is_followed(tmp_path: Path) -> None:
    """A dotfiles manager's ``~/.config -> dotfiles/config``, made by the user who runs."""
    (tmp_path / "dotfiles" / "config").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".config").symlink_to(tmp_path / "dotfiles" / "config")
    assert save(Prefs(sort_column="pid"), tmp_path / "home/.config/tcpscope/prefs.json") is None
    assert load(tmp_path / "dotfiles/config/tcpscope/prefs.json")[0].sort_column == "pid"


async def test_the_app_writes_nothing_through_a_planted_link_and_says_so_once(
    shared: Path,
) -> None:
    """The reviewer's run: ``XDG_CONFIG_HOME=/tmp/x/alice tcpscope --demo``, ``s``, ``q``."""
    victim = shared / "victim"
    victim.mkdir(mode=0o700)
    as_nobody("ln", "-s", str(victim), str(shared / "alice" / "tcpscope"))
    feed = SteppedFeed([demo_frames(0)])
    app = TcpscopeApp(feed, hostname=HOST, prefs_path=prefs_at(shared))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await feed.step()
        for _ in range(3):
            await pilot.press("s")
            await pilot.pause()
            assert await asyncio.to_thread(app._prefs_saver.wait, 30.0)
        await pilot.pause()
        said = [str(n.message) for n in app._notifications if "symbolic link" in str(n.message)]
        await pilot.press("q")
    assert os.listdir(victim) == []
    assert len(said) == 1, said


def prefs_at(shared: Path) -> Path:
    return shared / "alice" / "tcpscope" / "prefs.json"
