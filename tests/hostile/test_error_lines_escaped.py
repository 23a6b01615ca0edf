"""A file name, or an unknown option, that holds control bytes is escaped in the one-line
error that names it, as notes and the app escape it: the lines went to the terminal raw (an
OSC title-set ran), and bytes that are not UTF-8 came out as Python's ``\\udcXX``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import ROOT

HOSTILE = os.fsdecode(b"E\x1b]0;pwn\x07\x9b\xff")
"""An OSC title-set, a C1 CSI byte and a byte that is not UTF-8."""
SHOWN = "E\\x1b]0;pwn\\x07\\x9b\\xff"


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *argv], capture_output=True, timeout=120, env=env, cwd=cwd
    )


def _prepare(tmp_path: Path) -> None:
    (tmp_path / f"{HOSTILE}.dir").mkdir()
    (tmp_path / f"{HOSTILE}.empty").write_bytes(b"")
    (tmp_path / f"{HOSTILE}.junk").write_bytes(b"junk\n")
    (tmp_path / f"{HOSTILE}.lnk").symlink_to("x")


CASES = [
    ("--replay", f"{HOSTILE}.nonexist", "record", "o.tsr"),
    ("--replay", f"{HOSTILE}.dir", "record", "o.tsr"),
    ("--replay", f"{HOSTILE}.empty", "record", "o.tsr"),
    ("--replay", f"{HOSTILE}.junk", "record", "o.tsr"),
    ("--demo", "record", f"{HOSTILE}.dir"),
    ("--demo", "record", f"{HOSTILE}.lnk"),
    ("--demo", "record", f"{HOSTILE}.junk"),
    ("--demo", "record", f"/nonexistent/{HOSTILE}/x.tsr"),
    (f"--{HOSTILE}",),
]


RECORD_CASES = [case for case in CASES if "record" in case]


@pytest.mark.parametrize("argv", CASES, ids=lambda a: " ".join(a).replace(HOSTILE, "E"))
def test_an_error_naming_hostile_text_escapes_it(tmp_path: Path, argv: tuple[str, ...]) -> None:
    _prepare(tmp_path)
    result = run(*argv, cwd=tmp_path)
    err = result.stderr.decode("utf-8", "surrogateescape")
    assert result.returncode != 0
    assert len(err.splitlines()) == 1, err
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    assert "\\udc" not in err and "\udc9b" not in err, repr(err)
    assert SHOWN in err, repr(err)


@pytest.mark.parametrize("argv", RECORD_CASES, ids=lambda a: " ".join(a).replace(HOSTILE, "E"))
def test_a_typed_backslash_and_a_real_escape_read_apart(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """A file named with the four characters ``\\x1b`` and one holding a real ESC printed
    the same line: the name's own backslash is doubled, as the table shows names."""
    typed = "E\\x1b"
    (tmp_path / f"{typed}.dir").mkdir()
    (tmp_path / f"{typed}.junk").write_bytes(b"junk\n")
    (tmp_path / f"{typed}.lnk").symlink_to("x")
    result = run(*(a.replace(HOSTILE, typed) for a in argv), cwd=tmp_path)
    err = result.stderr.decode("utf-8", "surrogateescape")
    assert result.returncode != 0 and len(err.splitlines()) == 1, err
    assert "E\\\\x1b" in err, repr(err)


VALUES = [
    ("connections", "--local-address", os.fsdecode(b"\xff")),
    ("connections", "--state", os.fsdecode(b"\xff")),
    ("connections", "--filter", "port:" + os.fsdecode(b"\xff")),
    ("metrics", "--listen", os.fsdecode(b"\xff")),
    ("explain", os.fsdecode(b"\xff")),
    ("--interval", os.fsdecode(b"\xff")),
    ("--remote", os.fsdecode(b"a@\xff:0")),
]


@pytest.mark.parametrize("argv", VALUES, ids=lambda a: " ".join(a[:-1]))
def test_a_value_not_utf8_is_quoted_as_bytes(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """An option's value holding a byte that is not UTF-8 is quoted with it as ``\\xff``,
    as file names and the table show it, not as Python's ``\\udcff``."""
    result = run(*argv, cwd=tmp_path)
    err = result.stderr.decode("utf-8", "surrogateescape")
    assert result.returncode == 2 and len(err.splitlines()) == 1, err
    assert "\\udc" not in err and "\\xff" in err, repr(err)
