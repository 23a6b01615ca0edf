"""The preferences file is input someone else may control: never followed through a symlink,
never read from a FIFO or device, capped in size, written atomically, NaN never stored, and a
bad file or value costs one warning, not the app."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tui.prefs import MAX_PREFS_BYTES, Prefs, load, save


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
