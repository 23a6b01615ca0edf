"""The preferences file is input someone else may control: never followed through a symlink,
never read from a FIFO or device, capped in size, written atomically, NaN never stored, and a
bad file or value costs one warning, not the app."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tui.prefs import MAX_PREFS_BYTES, Prefs, load, not_saving, save


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "tcpscope" / "prefs.json"


def test_save_replaces_the_file_atomically(path: Path) -> None:
    assert save(Prefs(filter="port:443", sort_reverse=True), path) is None
    assert save(Prefs(filter="state:listen"), path) is None
    assert load(path) == (Prefs(filter="state:listen"), None)
    assert os.listdir(path.parent) == ["prefs.json"]  # no temporary file left behind


def test_a_symlink_at_the_target_is_neither_followed_nor_replaced(
    path: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("important")
    path.parent.mkdir()
    path.symlink_to(victim)
    problem = save(Prefs(filter="x"), path)
    assert problem is not None and "symbolic link" in problem
    assert victim.read_text() == "important" and path.is_symlink()
    prefs, warning = load(path)
    assert prefs == Prefs() and warning is not None and "symbolic link" in warning


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_non_regular_files_give_defaults_with_one_warning(path: Path, kind: str) -> None:
    if kind == "fifo":
        path.parent.mkdir()
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir(parents=True)
    else:
        path = Path("/dev/zero")
    prefs, warning = load(path)
    assert prefs == Prefs()
    assert warning is not None and "\n" not in warning


@pytest.mark.parametrize(
    "content, words",
    [
        ("[" * 60_000, "nested too deeply"),
        ('{"filter": "' + "x" * MAX_PREFS_BYTES + '"}', f"larger than {MAX_PREFS_BYTES}"),
        ("{not json", "corrupt"),
        ("[1, 2]", "not a JSON object"),
        (b"\xff\xfe{}", "cannot read"),
    ],
)
def test_malformed_files_give_defaults_with_one_warning(
    path: Path, content: str | bytes, words: str
) -> None:
    path.parent.mkdir()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    prefs, warning = load(path)
    assert prefs == Prefs()
    assert warning is not None and words in warning and "\n" not in warning


def test_a_bad_value_is_dropped_and_the_rest_kept(path: Path) -> None:
    path.parent.mkdir()
    doc = {
        "ghost_ttl_s": float("nan"),
        "filter": "p" * 5000,
        "sort_column": "pid",
        "sort_reverse": True,
        "future_key": float("inf"),
        "other_future_key": [1, "a"],
    }
    path.write_text(json.dumps(doc))  # json writes NaN / Infinity, as a broken tool might
    prefs, warning = load(path)
    assert prefs.sort_column == "pid" and prefs.sort_reverse
    assert prefs.ghost_ttl_s is None and prefs.filter == ""
    assert prefs.extra == {"other_future_key": [1, "a"]}
    assert warning is not None and warning.count("\n") == 0
    for name in ("ghost_ttl_s", "filter", "future_key"):
        assert name in warning


def test_nan_is_never_saved(path: Path) -> None:
    assert save(Prefs(filter="kept"), path) is None
    problem = save(Prefs(ghost_ttl_s=float("nan")), path)
    assert problem is not None
    assert load(path) == (Prefs(filter="kept"), None)


HOSTILE_KEY = "[b]x\x1b]0;pwn\x07[/b] \u202eabc"
"""A key with Rich markup, an OSC that retitles the terminal and a bidi override."""
HOSTILE_DIR = "cfg\x1b]0;T2\x07\u202e\udcff"
"""A directory name (``$XDG_CONFIG_HOME``) with an OSC, a bidi override and a non-UTF-8 byte."""


def test_a_bad_key_is_named_escaped(path: Path) -> None:
    path.parent.mkdir()
    path.write_text(json.dumps({HOSTILE_KEY: float("nan")}))
    _, warning = load(path)
    assert warning == (f"ignoring bad value in {path}: [b]x\\x1b]0;pwn\\x07[/b] \\u202eabc")


@pytest.mark.parametrize(
    "content",
    ['{"x": NaN}', "{not json", b"\xff", "fifo", "symlink"],
    ids=["bad-value", "corrupt", "not-utf8", "fifo", "symlink"],
)
def test_every_load_warning_escapes_the_path(tmp_path: Path, content: str | bytes) -> None:
    hostile = b"/cfg\x1b]0;T2\x07\xe2\x80\xae\xff/prefs.json"  # OSC, U+202E, not UTF-8
    path = Path(os.fsdecode(os.fsencode(tmp_path) + hostile))
    path.parent.mkdir()
    if content == "fifo":
        os.mkfifo(path)
    elif content == "symlink":
        path.symlink_to(tmp_path)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _, warning = load(path)
    assert warning is not None and warning.isprintable(), warning
    assert "/cfg\\x1b]0;T2\\x07\\u202e\\xff/prefs.json" in warning


def test_every_save_problem_escapes_the_path(tmp_path: Path) -> None:
    where = tmp_path / HOSTILE_DIR
    where.write_text("a file where the directory should be")
    problems = [
        save(Prefs(), where / "prefs.json"),  # cannot create the directory
        save(Prefs(ghost_ttl_s=float("nan")), where / "prefs.json"),
        not_saving(where / "prefs.json", "it is a FIFO\x1b]0;T2\x07"),
    ]
    link = tmp_path / "link\x1b]0;T2\x07"
    link.symlink_to(tmp_path)
    problems.append(save(Prefs(), link))
    for problem in problems:
        assert problem is not None and problem.isprintable(), problem
        assert "\x1b" not in problem
