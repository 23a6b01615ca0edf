"""PrefsSaver: preferences written in a thread of their own, the newest only (real files)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tui.prefs import Prefs, load
from tui.prefs_saver import PrefsSaver


def test_the_last_of_many_saves_is_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tcpscope" / "prefs.json"
    problems: list[str] = []
    saver = PrefsSaver(path, problems.append)
    for column in ("local", "remote", "pid", "state", "age"):
        saver.save(Prefs(sort_column=column))
    assert saver.wait(30.0)
    assert load(path)[0].sort_column == "age" and problems == []
    assert json.loads(path.read_text())["sort_column"] == "age"


def test_the_write_runs_in_another_thread(tmp_path: Path) -> None:
    writers: list[str] = []
    path = tmp_path / "prefs.json"

    class Watched(PrefsSaver):
        def _take(self) -> Prefs | None:
            writers.append(threading.current_thread().name)
            return super()._take()

    saver = Watched(path, lambda _p: None)
    saver.save(Prefs(sort_column="pid"))
    assert saver.wait(30.0) and path.exists()
    assert writers and threading.current_thread().name not in writers


def test_a_failed_save_reports_one_line_and_the_next_save_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "tcpscope"
    blocker.write_text("a file where the directory should be")
    problems: list[str] = []
    saver = PrefsSaver(blocker / "prefs.json", problems.append)
    saver.save(Prefs(sort_column="pid"))
    assert saver.wait(30.0)
    assert len(problems) == 1 and "cannot save" in problems[0] and "\n" not in problems[0]
    blocker.unlink()
    saver.save(Prefs(sort_column="remote"))
    assert saver.wait(30.0)
    assert load(blocker / "prefs.json")[0].sort_column == "remote" and len(problems) == 1


def test_wait_is_true_at_once_when_nothing_was_asked(tmp_path: Path) -> None:
    assert PrefsSaver(tmp_path / "prefs.json", lambda _p: None).wait(0.0)


def test_an_unreadable_file_is_never_saved_over_and_that_is_said_once(tmp_path: Path) -> None:
    path = tmp_path / "prefs.json"
    path.write_bytes(b'{"theme": "nord",}')
    problems: list[str] = []
    saver = PrefsSaver(path, problems.append, unreadable="a trailing comma")
    for column in ("pid", "local"):
        saver.save(Prefs(sort_column=column))
        assert saver.wait(30.0)
    assert path.read_bytes() == b'{"theme": "nord",}'
    assert problems == [
        f"not saving preferences: {path} could not be read (a trailing comma); fix or remove it"
    ]
