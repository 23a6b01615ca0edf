"""The palette's "Screenshot" saves a new SVG in the current directory and says where, or why
not. Textual's own wrote to ~/Downloads (missing for root on a server: a toast "Failed to save
screenshot" without a reason) with a plain open(), through any symlink at its path."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import make_app, palette_titles, step
from tui.app import TcpscopeApp


def toasts(app: TcpscopeApp) -> list[tuple[str, str]]:
    return [(n.title, str(n.message)) for n in app._notifications]


async def shoot(app: TcpscopeApp, pilot: object) -> None:
    titles = await palette_titles(pilot, app, "Screenshot")  # type: ignore[arg-type]
    assert titles.count("Screenshot") == 1, titles  # ours in place of Textual's, not beside
    await pilot.press("enter")  # type: ignore[attr-defined]
    for _ in range(40):
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        if toasts(app):
            break


async def test_palette_screenshot_is_saved_in_the_current_directory_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await shoot(app, pilot)
        saved = list(tmp_path.glob("tcpscope-*.svg"))
        assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
        assert toasts(app) == [("Screenshot saved", str(saved[0]))]
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
        assert oct(saved[0].stat().st_mode & 0o777) == "0o644"


async def test_palette_screenshot_says_why_it_could_not_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    os.rmdir(gone)  # the shell's directory removed under it (a root chmod would not stop root)
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await shoot(app, pilot)
        assert toasts(app) == [
            ("Screenshot not saved", "the current directory: No such file or directory")
        ]


def test_a_planted_symlink_or_file_is_neither_followed_nor_replaced(tmp_path: Path) -> None:
    from tui.screenshot import save_svg

    when = datetime(2026, 1, 2, 3, 4, 5)
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "tcpscope-20260102-030405.svg").symlink_to(target)
    (tmp_path / "tcpscope-20260102-030405-2.svg").write_text("mine")
    path = save_svg("<svg/>", tmp_path, when)
    assert path.name == "tcpscope-20260102-030405-3.svg" and path.read_text() == "<svg/>"
    assert target.read_text() == "keep"
    assert (tmp_path / "tcpscope-20260102-030405-2.svg").read_text() == "mine"


@pytest.mark.parametrize("writable", [True, False], ids=["saved", "not-saved"])
async def test_a_hostile_current_directory_is_named_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writable: bool
) -> None:
    """The directory root started tcpscope in may be named by someone else."""
    where = tmp_path / "d\x1b]0;T2\x07\u202e"
    where.mkdir()
    monkeypatch.chdir(where)
    if not writable:  # a fake: a directory's mode does not stop root, who runs this suite
        monkeypatch.setattr("tui.app.save_svg", _refuse)
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        await shoot(app, pilot)
        ((_, message),) = toasts(app)
        assert message.isprintable(), message
        assert f"{tmp_path}/d\\x1b]0;T2\\x07\\u202e" in message


def _refuse(_svg: str, where: Path, _now: datetime) -> Path:
    raise PermissionError(13, "Permission denied", str(where / "tcpscope-x.svg"))


async def test_no_toast_sends_a_control_character_to_the_terminal() -> None:
    """Whatever a toast is given (a source's error, an exception's text), the terminal gets
    no escape sequence and no bidi control from it; text already escaped stays as it is."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        app.notify("x\x1b]0;pwn\x07 \u202eabc \\x1b", title="t\x1b[2J")
        await pilot.pause()
        ((title, message),) = toasts(app)
        assert (title, message) == ("t\\x1b[2J", "x\\x1b]0;pwn\\x07 \\u202eabc \\x1b")
