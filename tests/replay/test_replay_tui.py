"""Pilot tests of the replay controls in the real app on a recorded demo: timeline bar on every
screen, step, jump, speed, seek prompt, marks and the A/B diff screen."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.containers import ScrollableContainer
from textual.geometry import Offset
from textual.pilot import Pilot
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey

from core.connections import TcpConnection, TcpState
from core.connections.snapshot import Snapshot
from core.demo import DemoFeed
from core.recording.replay import ReplayFeed, diff_between, open_replay
from tests.pilot_wait import until
from tests.recording.content import gzip_members
from tests.recording.util import demo_snapshots, write_recording
from tests.tui.keys import burst, scrolled
from tests.tui.test_app import static_text
from tui import format as fmt
from tui.app import TcpscopeApp
from tui.replay.controls import LISTED, DiffScreen, ReplayBar, SeekScreen
from tui.screens.help import HelpScreen

N = 240


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(1, N)


@pytest.fixture(scope="module")
def recording(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui") / "demo.tsr"
    write_recording(path, snaps, key_every=100)
    return path


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield


def app_on(path: Path) -> tuple[TcpscopeApp, ReplayFeed]:
    feed = open_replay(path)
    feed.pause()  # tests drive time themselves
    return TcpscopeApp(feed, hostname="demo-web01"), feed


async def ready(pilot: Pilot[int], app: TcpscopeApp) -> None:
    """The first sample is shown and the replay controls are installed."""
    await until(pilot, lambda: shown(app) == 1 and bool(app.screen.query(ReplayBar)))


async def diff_of_marks(pilot: Pilot[int], app: TcpscopeApp, feed: ReplayFeed) -> None:
    """Mark A at sample 100 and B at sample 210, then ask for the diff (``a``, ``b``, ``d``)."""
    feed.seek_index(100)
    await until(pilot, lambda: shown(app) == 101)
    await pilot.press("a")
    feed.seek_index(210)
    await until(pilot, lambda: shown(app) == 211)
    await pilot.press("b", "d")


def shown(app: TcpscopeApp) -> int:
    return app.snapshot.seq if app.snapshot is not None else -1


async def test_bar_on_every_screen(recording: Path, snaps: list[Snapshot]) -> None:
    app, _ = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        text = str(app.screen.query_one(ReplayBar).render())
        assert "09:00:00" in text and "09:03:59" in text and f"(1/{N})" in text
        await pilot.press("2")
        await until(pilot, lambda: bool(app.screen.query(ReplayBar)))
        await pilot.press("1")
        await until(pilot, lambda: bool(app.screen.query(ReplayBar)))


async def test_step_jump_and_speed(recording: Path) -> None:
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("full_stop", "full_stop", "full_stop")
        await until(pilot, lambda: shown(app) == 4)
        assert feed.paused and app.paused
        await pilot.press("comma", "comma")
        await until(pilot, lambda: shown(app) == 2)
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: shown(app) == 62)
        await pilot.press("less_than_sign", "less_than_sign")
        await until(pilot, lambda: shown(app) == 1)  # clamped at the start
        assert "(1/" in str(app.screen.query_one(ReplayBar).render())
        speeds = []
        for _ in range(6):
            await pilot.press("right_square_bracket")
            speeds.append(feed.speed)
        assert speeds == [2, 4, 8, 16, 16, 16]
        await pilot.press(*["left_square_bracket"] * 8)
        assert feed.speed == 0.25
        assert "×0.25" in str(app.screen.query_one(ReplayBar).render())


async def test_space_plays_and_pauses(recording: Path) -> None:
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        feed.set_speed(16)
        await pilot.press("space")
        await until(pilot, lambda: shown(app) >= 5)
        assert not feed.paused
        await pilot.press("space")
        await until(pilot, lambda: feed.paused)
        held = feed.index
        await pilot.pause(0.3)
        assert feed.index == held


async def test_seek_prompt(recording: Path) -> None:
    app, _ = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"09:01:30", "enter")
        await until(pilot, lambda: shown(app) == 91)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"-45s", "enter")
        await until(pilot, lambda: shown(app) == 46)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*"soon", "enter")
        await pilot.pause()
        assert shown(app) == 46  # a bad time moves nothing (and says so)
        assert any("cannot seek" in str(n.message) for n in app._notifications)


async def test_keys_read_with_the_seek_enter_or_escape_act_on_the_replay(
    recording: Path,
) -> None:
    """The prompt closed only when the input's Submitted message was handled: the `.`s read
    with the Enter were typed into it and lost, and the replay stopped short."""
    app, _ = app_on(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await burst(pilot, "t", "plus", "1", "s", "enter", "full_stop", "full_stop")
        await until(pilot, lambda: shown(app) == 4)
        await burst(pilot, "t", "9", "escape", "comma")
        await until(pilot, lambda: shown(app) == 3)
        assert not isinstance(app.screen, SeekScreen)


async def test_marks_and_diff_screen(recording: Path, snaps: list[Snapshot]) -> None:
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("d")  # no marks yet: a warning, no screen
        await pilot.pause()
        assert not isinstance(app.screen, DiffScreen)
        await diff_of_marks(pilot, app, feed)
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        expected = diff_between(snaps[100], snaps[210])
        assert [c.instance_id for c in screen.diff.added] == [c.instance_id for c in expected.added]
        assert [c.instance_id for c in screen.diff.removed] == [
            c.instance_id for c in expected.removed
        ]
        body = static_text(screen.query_one("#diff-body", Static), width=156)
        assert f"Added ({len(expected.added)})" in body
        assert f"Removed ({len(expected.removed)})" in body
        assert f"State changed ({len(expected.state_changed)})" in body
        auth = next(d for d in expected.counters if d.counter == "AuthenticationFailures")
        assert auth.delta and f"{auth.delta:+d}" in body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen))
        bar = str(app.screen.query_one(ReplayBar).render())
        assert "A 09:01:40" in bar and "B 09:03:30" in bar


async def test_diff_scrolls_a_line_per_down_read_together(recording: Path) -> None:
    """A held Down (a slow link, a paste: keys read together) scrolls the diff a line per key;
    with Textual's own key scrolls six Downs read together scrolled one line."""
    app, feed = app_on(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await diff_of_marks(pilot, app, feed)
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        await pilot.pause()
        body = app.screen.query_one(ScrollableContainer)
        assert app.screen.focused is body and body.max_scroll_y > 20
        assert await scrolled(pilot, body, *("down",) * 6) == (Offset(0, 6), Offset(0, 6))
        one_by_one, together = await scrolled(pilot, body, "pagedown", "pagedown", "up")
        assert together == one_by_one and one_by_one.y > 6


async def test_not_installed_for_a_live_feed() -> None:
    app = TcpscopeApp(DemoFeed(1), hostname="demo-web01")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.replay is None
        assert not app.screen.query(ReplayBar)
        await pilot.press("t", "a", "d")  # replay keys do nothing for a live feed
        assert not isinstance(app.screen, SeekScreen | DiffScreen)
        assert app.is_running
        await app.feed.aclose()


def owner_in(conn: TcpConnection, snap: Snapshot) -> str:
    """What the diff names as ``conn``'s owner: its process's name at that mark, else PID."""
    proc = snap.processes.get(conn.owning_process) if conn.owning_process is not None else None
    return proc.name if proc and proc.name else str(conn.owning_process or "-")


def section(rows: list[str], title: str, count: int) -> list[str]:
    """The screen rows listing connections under the heading ``title (count)`` (the first
    :data:`LISTED`), then the row after them."""
    start = rows.index(f"{title} ({count})") + 1
    return rows[start : start + min(count, LISTED) + 1]


async def test_diff_fits_80_columns_with_the_class_state_names(
    recording: Path, snaps: list[Snapshot]
) -> None:
    """At 80 columns each connection of the diff is one screen row — seed State name first,
    the process last — (it was 81+ cells: every row wrapped and the process landed alone
    on the next one), and the States are the class's names (CloseWait, not CLOSE_WAIT)."""
    app, feed = app_on(recording)
    async with app.run_test(size=(80, 450)) as pilot:  # tall: the whole diff on screen
        await ready(pilot, app)
        await diff_of_marks(pilot, app, feed)
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        await pilot.pause()
        rows = [s.text.strip() for s in app.screen._compositor.render_strips()]
    expected = diff_between(snaps[100], snaps[210])
    seed_names = {fmt.state_name(s) for s in TcpState}
    sections = (
        ("Added", [(c, snaps[210]) for c in expected.added]),
        ("Removed", [(c, snaps[100]) for c in expected.removed]),
        ("State changed", [(c.after, snaps[210]) for c in expected.state_changed]),
    )
    kinds = {"Added": "added", "Removed": "removed", "State changed": "changed"}
    for title, conns in sections:
        assert conns, title
        *lines, after = section(rows, title, len(conns))
        if len(conns) > LISTED:  # the demo's 270 removed: the rest counted on one row
            more = f"… and {len(conns) - LISTED} more {kinds[title]} ("
            assert after.startswith(more), f"{title}: a line wrapped: {after!r}"
            end = rows.index(after) + 1
            assert rows[end] == "", f"{title}: the count of the rest wrapped: {rows[end]!r}"
        else:
            assert after == "", f"{title}: a line wrapped: {after!r}"
        for line, (conn, snap) in zip(lines, conns[:LISTED], strict=True):
            assert line.split()[0] in seed_names, line
            assert line.endswith(f" {owner_in(conn, snap)}"), line
            assert f":{conn.remote_port}" in line, line  # cut in the address, not the port
    changed = section(rows, "State changed", len(expected.state_changed))[0]
    assert changed.startswith(f"{fmt.state_name(expected.state_changed[0].before.state)} → ")
    kernel_names = {s.name for s in TcpState} - seed_names
    assert not any(name in row for row in rows for name in kernel_names)


async def laid_out_footer(pilot: Pilot[int], app: TcpscopeApp) -> None:
    """The footer's keys (recomposed after each bindings change) are there and have their
    places (while it recomposes it has none: "every key placed" held for no keys at all)."""

    def placed() -> bool:
        keys = list(app.screen.query(FooterKey))
        return bool(keys) and all(k.region.width for k in keys)

    await until(pilot, placed)


def footer_problems(app: TcpscopeApp) -> list[str]:
    """Keys of the footer drawn cut (past its right edge or under the palette key), and
    whether ``? Help`` is missing."""
    footer = app.screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    right = palette[0].region.x if palette else footer.region.right
    problems = [
        f"{k.key_display} {k.description}"
        for k in keys
        if k not in palette and (k.region.width == 0 or k.region.right > right)
    ]
    if not any(k.key == "question_mark" for k in keys):
        problems.append("no ? Help")
    return problems


@pytest.mark.parametrize("width", [80, 100])
async def test_paused_replay_footer_keys_fit_whole(recording: Path, width: int) -> None:
    """README: at 80 columns every footer key fits whole. Paused, a replay's footer read
    "… q Quit space Resume t See" (and at 100 "a Mark" under "^p palette"): keys that do not
    fit whole are left out now, last first, on both screens and the diff screen."""
    app, feed = app_on(recording)
    async with app.run_test(size=(width, 24)) as pilot:
        await ready(pilot, app)
        assert feed.paused and app.paused
        await until(pilot, lambda: "Resume" in {k.description for k in app.screen.query(FooterKey)})
        await laid_out_footer(pilot, app)
        assert footer_problems(app) == []
        await pilot.press("2")
        await until(pilot, lambda: app.current_mode == "ipsec")
        await laid_out_footer(pilot, app)
        assert footer_problems(app) == []
        await pilot.press("1", "a", "full_stop", "b", "d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        await laid_out_footer(pilot, app)
        assert footer_problems(app) == []


def footer_words(app: TcpscopeApp) -> set[str]:
    return {k.description for k in app.screen.query(FooterKey)}


async def test_the_end_of_a_replay_is_paused_everywhere_and_space_plays_it_again(
    recording: Path,
) -> None:
    """At the end the bar showed ⏸ while the header had no PAUSED, the footer still offered
    "space Pause" and space did nothing: now all three say paused, and space starts over."""
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        feed.seek_index(N - 2)
        await until(pilot, lambda: shown(app) == N - 1)
        feed.set_speed(16)
        await pilot.press("space")  # plays the last step, then stops at the end
        await until(pilot, lambda: shown(app) == N and feed.paused)
        await until(pilot, lambda: app.paused)
        await until(pilot, lambda: "Resume" in footer_words(app))
        assert "Pause" not in footer_words(app)
        assert "PAUSED" in static_text(app.screen.query_one("#header", Static))
        bar = str(app.screen.query_one(ReplayBar).render())
        assert f"({N}/{N}) end" in bar and bar.startswith("⏸")
        await pilot.press("space")
        await until(pilot, lambda: not feed.paused and not app.paused)
        await until(pilot, lambda: 1 <= shown(app) < N)  # from the start again


@pytest.fixture(scope="module")
def with_outage(snaps: list[Snapshot], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten samples and, after the fifth, a `record --remote` outage record: the last good
    rows, stale, at the time the drop was found, with the previous ``n`` repeated."""
    outage = dataclasses.replace(
        snaps[4], time=snaps[4].time + timedelta(milliseconds=500), stale=True
    )
    path = tmp_path_factory.mktemp("outage") / "outage.tsr"
    write_recording(path, [*snaps[:5], outage, *snaps[5:10]])
    return path


async def test_marks_and_diff_name_samples_by_their_place_in_the_file_as_the_bar_does(
    with_outage: Path,
) -> None:
    app, feed = app_on(with_outage)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and bool(app.screen.query(ReplayBar)))
        feed.seek_index(3)
        await until(pilot, lambda: shown(app) == 4)
        await pilot.press("a")
        feed.seek_index(6)  # the sample after the outage: n 6, 7th in the file
        await until(pilot, lambda: shown(app) == 6)
        await pilot.press("b")
        await pilot.pause()
        bar = str(app.screen.query_one(ReplayBar).render())
        assert "(7/11)" in bar
        marks = [str(n.message) for n in app._notifications if "mark" in str(n.message)]
        assert marks[0].endswith("(sample 4)") and marks[1].endswith("(sample 7)")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        body = static_text(app.screen.query_one("#diff-body", Static), width=156)
        assert "(sample 4) → B" in body and "(sample 7)," in body


def cut_halfway_through_a_later_block(recording: Path, tmp_path: Path) -> Path:
    data = recording.read_bytes()
    second = gzip_members(data)[1]
    path = tmp_path / "cut.tsr"
    path.write_bytes(data[: second + (len(data) - second) // 4])
    return path


async def test_a_cut_recording_says_so_on_the_bar_and_once_in_a_notice(
    recording: Path, tmp_path: Path
) -> None:
    app, feed = app_on(cut_halfway_through_a_later_block(recording, tmp_path))
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        length = feed.length
        assert 100 < length < N
        bar = str(app.screen.query_one(ReplayBar).render())
        assert f"(1/{length}) cut" in bar
        notes = [str(n.message) for n in app._notifications if "ends early" in str(n.message)]
        assert notes == [f"recording ends early: cut after sample {length} (truncated gzip member)"]


def damaged_in_the_middle(recording: Path, tmp_path: Path) -> Path:
    """``recording`` (blocks 1–100, 101–200, 201–240) with a byte flipped in its second."""
    data = bytearray(recording.read_bytes())
    members = gzip_members(bytes(data))
    data[(members[1] + members[2]) // 2] ^= 0xFF
    path = tmp_path / "damaged.tsr"
    path.write_bytes(bytes(data))
    return path


async def test_a_damaged_block_is_skipped_and_the_bar_and_marks_keep_the_file_numbers(
    recording: Path, tmp_path: Path
) -> None:
    app, feed = app_on(damaged_in_the_middle(recording, tmp_path))
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        assert feed.length == N - 100
        notes = [str(n.message) for n in app._notifications if "damaged" in str(n.message)]
        assert len(notes) == 1 and notes[0].startswith("samples 101–200 damaged and skipped (")
        feed.seek_index(99)
        await until(pilot, lambda: shown(app) == 100)
        await pilot.press("a")
        await pilot.press("full_stop")  # one sample forward: over the gap
        await until(pilot, lambda: shown(app) == 201)
        await pilot.press("b")
        await pilot.pause()
        bar = str(app.screen.query_one(ReplayBar).render())
        assert f"(201/{N}) gaps" in bar and "(100)" in bar and "(201)" in bar, bar
        marks = [str(n.message) for n in app._notifications if "mark" in str(n.message)]
        assert marks[0].endswith("(sample 100)") and marks[1].endswith("(sample 201)")


@pytest.fixture(scope="module")
def half_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight samples 0.5 s apart: two share each clock second."""
    path = tmp_path_factory.mktemp("half") / "half.tsr"
    write_recording(path, demo_snapshots(1, 8, interval_s=0.5))
    return path


async def marked_at_the_end(pilot: Pilot[int], app: TcpscopeApp, feed: ReplayFeed) -> str:
    """Mark A at the second sample and B at the last (the end): the bar as then drawn."""
    for index, mark in ((1, "a"), (feed.length - 1, "b")):
        feed.seek_index(index)
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.time == feed.position)
        await pilot.press(mark)
    await pilot.pause()
    return str(app.screen.query_one(ReplayBar).render())


async def test_at_80_columns_the_bar_shows_both_marks_whole_with_their_sample_numbers(
    half_seconds: Path, recording: Path, tmp_path: Path
) -> None:
    """Mark B's time was cut off at the end of a replay (`… (8/8) end  A 09:00:00  B`), and
    with two samples a second "A 09:00:00" did not say which one (the diff: "sample 2")."""
    app, feed = app_on(half_seconds)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        bar = await marked_at_the_end(pilot, app, feed)
        assert "(8/8) end" in bar
        assert "  A 09:00:00 (2)  B 09:00:03 (8)" in bar and cell_len(bar) <= 78
    app, feed = app_on(cut_halfway_through_a_later_block(recording, tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        bar = await marked_at_the_end(pilot, app, feed)
        n = feed.length
        assert app.snapshot is not None
        last = fmt.clock(app.snapshot.time)
        assert bar.endswith(f"({n}/{n}) end cut  A 09:00:01 (2)  B {last} ({n})")
        assert cell_len(bar) <= 78


async def test_marks_and_diff_read_with_steps_and_seeks_act_on_the_sample_those_led_to(
    recording: Path,
) -> None:
    """Keys read in one go (a slow SSH link): `. . a` marked the sample shown before the
    steps, because a step is shown only when the replay's stream gets to it."""
    app, _ = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await burst(pilot, "full_stop", "full_stop", "a", "full_stop", "b", "d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        marks = app.replay.marks if app.replay is not None else None
        assert marks is not None and (marks.a_number, marks.b_number) == (3, 4)
        screen = app.screen
        assert isinstance(screen, DiffScreen) and screen.diff.numbers == (3, 4)
        assert (screen.diff.a.seq, screen.diff.b.seq) == (3, 4)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen))
        await burst(pilot, "t", "plus", "1", "0", "s", "enter", "a", "comma", "b")
        await until(pilot, lambda: shown(app) == 13)
        assert (marks.a_number, marks.b_number) == (14, 13)
        assert marks.a is not None and marks.a.seq == 14
        assert marks.b is not None and marks.b.seq == 13


async def test_a_replay_footer_leaves_out_close_and_kill_and_interval_keys_say_why(
    recording: Path,
) -> None:
    """A replay's 80-column footer offered `x Close K Kill`, which only ever refuse there, in
    the room of its own keys; and `+`/`-` quietly changed the playback pace while the bar
    still said ×1 and the header a made-up interval."""
    app, feed = app_on(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await laid_out_footer(pilot, app)
        words = footer_words(app)
        assert "Close" not in words and "Kill" not in words, words
        await pilot.press("x")  # the key still says why
        await until(pilot, lambda: any("replay" in str(n.message) for n in app._notifications))
        interval, speed = feed.interval_s, feed.speed
        await pilot.press("plus", "minus", "minus")
        await pilot.pause(0.1)
        assert (feed.interval_s, feed.speed) == (interval, speed)
        said = [str(n.message) for n in app._notifications]
        assert "a replay keeps the recording's interval: [ and ] change its speed" in said


@pytest.mark.parametrize("offset", ["+99999999h", "-99999999h", "+99999999999999999999s"])
async def test_a_seek_offset_beyond_any_date_warns_and_the_replay_goes_on(
    recording: Path, offset: str
) -> None:
    """``t +99999999h`` crashed the app with OverflowError (and the process exited 0): now
    a Seek warning says the offset is out of range, as ``abc`` gets one, and the replay stays
    where it was; an offset past the end within the dates still goes to the end."""
    app, _ = app_on(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press(*("plus" if c == "+" else c for c in offset), "enter")
        await until(pilot, lambda: not isinstance(app.screen, SeekScreen))
        await until(pilot, lambda: bool(app._notifications))
        said = [(n.title, str(n.message), n.severity) for n in app._notifications]
        assert said == [("Seek", f"seek offset out of range: {offset!r}", "warning")], said
        assert shown(app) == 1
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.press("plus", *"1h", "enter")
        await until(pilot, lambda: shown(app) == N)


async def test_a_minute_forward_at_the_last_dates_goes_to_the_end(
    snaps: list[Snapshot], tmp_path: Path
) -> None:
    """A recording whose times end next to year 9999 (crafted: the file gives them) crashed
    the app at `>` with OverflowError; a minute forward goes to its end, as anywhere else."""
    end = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    last = [
        dataclasses.replace(s, time=end - timedelta(seconds=9 - i))
        for i, s in enumerate(snaps[:10])
    ]
    path = tmp_path / "last-dates.tsr"
    write_recording(path, last, key_every=5)
    app, _ = app_on(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: shown(app) == 10)
        await pilot.press("less_than_sign")
        await until(pilot, lambda: shown(app) == 1)


def help_text(app: TcpscopeApp) -> str:
    return " ".join(static_text(s) for s in app.screen.query(Static))


async def test_help_in_a_replay_lists_what_the_keys_do_there(recording: Path) -> None:
    """A replay's help said `< / >` sort by the next column (they step a minute there) and
    offered `+ / -` and x and K as if they acted; the live help keeps them."""
    app, _ = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = [" ".join(ln.split()) for ln in help_text(app).splitlines()]
        assert not [ln for ln in lines if "sort by the column left / right" in ln], lines
        assert "< > one minute back / forward" in lines
        for key in ("+ / -", "x", "K"):  # the first: x is also the ghost rows' marker
            said = next(ln for ln in lines if ln.startswith(f"{key} "))
            assert "live only" in said, said
    live = TcpscopeApp(DemoFeed(1), hostname="demo-web01")
    async with live.run_test(size=(160, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(live.screen, HelpScreen))
        text = help_text(live)
        assert "sort by the column left / right" in text
        assert "sample more / less often" in text


async def test_a_diff_of_marks_set_later_then_earlier_names_each_time_by_its_own_mark(
    recording: Path, snaps: list[Snapshot]
) -> None:
    """`a` at a later sample, `b` at an earlier one: the bar said `A 09:03:30 (211)  B
    09:01:40 (101)` and the diff `A 09:01:40 (sample 101) → B 09:03:30 (sample 211)`, the
    marks' times and samples swapped. The diff still runs forward in time (added means new
    since the earlier sample) and each time keeps its own mark's letter."""
    app, feed = app_on(recording)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        feed.seek_index(210)
        await until(pilot, lambda: shown(app) == 211)
        await pilot.press("a")
        feed.seek_index(100)
        await until(pilot, lambda: shown(app) == 101)
        await pilot.press("b")
        bar = str(app.screen.query_one(ReplayBar).render())
        assert "A 09:03:30 (211)  B 09:01:40 (101)" in bar, bar
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        body = static_text(screen.query_one("#diff-body", Static), width=156)
        first = body.splitlines()[0]
        assert first.startswith("B 09:01:40 (sample 101) → A 09:03:30 (sample 211), "), first
        expected = diff_between(snaps[100], snaps[210])
        assert [c.instance_id for c in screen.diff.added] == [c.instance_id for c in expected.added]
        assert f"Added ({len(expected.added)})" in body


@pytest.fixture(scope="module")
def fractions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirteen samples a second apart at 0.7 s past each second, as a real recorder's are."""
    later = [
        dataclasses.replace(s, time=s.time + timedelta(seconds=0.7)) for s in demo_snapshots(1, 13)
    ]
    path = tmp_path_factory.mktemp("fractions") / "fractions.tsr"
    write_recording(path, later)
    return path


async def test_a_seek_to_a_time_the_bar_shows_lands_on_the_sample_it_labels_with_it(
    fractions: Path,
) -> None:
    """Stepping showed `at 09:00:05 (6/13)` but `t 09:00:05` landed on `09:00:04 (5/13)`: the
    seek took the last sample before 09:00:05.000, the bar cuts the fraction off."""
    app, _ = app_on(fractions)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        await burst(pilot, *["full_stop"] * 5)
        await until(pilot, lambda: shown(app) == 6)
        assert "at 09:00:05 (6/13)" in str(app.screen.query_one(ReplayBar).render())
        await burst(pilot, "less_than_sign", "t", *"09:00:05", "enter", "a")
        await until(pilot, lambda: app.replay is not None and app.replay.marks.a is not None)
        await pilot.pause()
        bar = str(app.screen.query_one(ReplayBar).render())
        assert "at 09:00:05 (6/13)" in bar and "A 09:00:05 (6)" in bar, bar
        await burst(pilot, "t", *"09:00:12", "enter")
        await until(pilot, lambda: shown(app) == 13)
        await burst(pilot, "t", *"09:00", "enter")
        await until(pilot, lambda: shown(app) == 1)  # 09:00:00.7 is the first the bar names 09:00
        await burst(pilot, "t", *"09:00:05.5", "enter")  # a fraction typed is kept
        await until(pilot, lambda: shown(app) == 5)


async def test_the_seek_prompts_footer_lists_its_keys(recording: Path) -> None:
    """Under the seek prompt the replay's footer showed through (``? Help`` … ``t See``):
    none of its keys worked there. Now its own says what does: Enter seeks, Esc cancels."""
    app, _ = app_on(recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SeekScreen))
        await pilot.pause()
        keys = [f"{k.key_display} {k.description}" for k in app.screen.query(FooterKey)]
        assert keys == ["⏎ Seek", "esc Cancel"]
