"""Untrusted text: one escaping function, checked on arbitrary bytes and on a real process
whose name and command line hold invalid UTF-8, ESC, bidi and zero-width characters."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.textsafe import csv_cell, printable, printable_bytes, utf8
from tests.hostile.util import PY, tcpscope

BIDI_AND_ZERO_WIDTH = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))] + [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
]
_ESCAPE = re.compile(r"\\(\\|x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8}))")


def unescape(shown: str) -> str:
    """The inverse of printable(): exists only if the escaping is unambiguous."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) == "\\":
            return "\\"
        if m.group(2) is not None:
            code = int(m.group(2), 16)
            return chr(code) if code < 0x80 else chr(0xDC00 + code)
        return chr(int(m.group(3) or m.group(4), 16))

    return _ESCAPE.sub(one, shown)


@given(st.binary(max_size=200))
def test_any_bytes_become_printable_utf8_and_come_back(data: bytes) -> None:
    raw = data.decode("utf-8", "surrogateescape")
    shown = printable_bytes(data)
    assert shown.isprintable()
    shown.encode("utf-8")  # strict: no surrogate survives
    assert not any(ch in shown for ch in BIDI_AND_ZERO_WIDTH)
    assert unescape(shown) == raw


@given(st.text(max_size=100))
def test_any_text_is_escaped_unambiguously(text: str) -> None:
    shown = printable(text)
    assert shown.isprintable()
    assert unescape(shown) == text
    if text.isprintable() and "\\" not in text:
        assert shown == text  # printable text is left alone


def test_escapes_are_visible_and_distinct() -> None:
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("x\udcff") == "x\\xff"  # the byte 0xff that was not UTF-8
    assert printable("\x85") == "\\u0085"  # the code point U+0085 (C1): not the byte
    assert printable("\u202eexe.txt") == "\\u202eexe.txt"
    assert printable("a\u200bb") == "a\\u200bb"
    assert printable("C:\\x1b") == "C:\\\\x1b"  # a real backslash never looks like an escape
    assert printable("日本") == "日本"


@given(st.binary(max_size=200))
def test_utf8_escapes_only_the_bytes_that_were_not_utf8(data: bytes) -> None:
    """For JSON's true text: valid UTF-8 out, every decodable character (controls too) kept
    as it was, each backslash doubled so the escapes can be undone."""
    raw = data.decode("utf-8", "surrogateescape")
    kept = utf8(raw)
    kept.encode("utf-8")  # strict: no surrogate survives
    assert kept == "".join(
        printable(ch) if 0xDC80 <= ord(ch) <= 0xDCFF or ch == "\\" else ch for ch in raw
    )


def test_utf8_keeps_the_true_text() -> None:
    assert utf8("a\udcff\udcfeb") == "a\\xff\\xfeb"
    assert utf8("\x1b[2J 日本") == "\x1b[2J 日本"


def test_utf8_tells_a_backslash_from_an_escape_it_made() -> None:
    """The four characters backslash-x-f-f read as the byte 0xff's escape; doubled, they
    do not (ASCII text with a backslash too: no short cut past it)."""
    assert utf8("C:\\dir") == "C:\\\\dir"
    assert utf8("\\xff") == "\\\\xff" != utf8("\udcff") == "\\xff"
    assert utf8("\\xff 日本\udcff") == "\\\\xff 日本\\xff"


def test_csv_cells_that_start_a_formula_are_inert() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)"):
        assert csv_cell(cell) == "'" + cell
    assert csv_cell("nginx") == "nginx"
    assert csv_cell("\t=1") == "\\x09=1"


# --- a real process with a hostile name and command line ------------------------------------
COMM = b"=\xff\x1b[31m\xe2\x80\xae\\z"
"""What the process writes to /proc/self/comm: a formula trigger, a byte that is not UTF-8, an
ESC sequence, RIGHT-TO-LEFT OVERRIDE and a backslash (15 bytes at most)."""
ARG = "\udcfe\u2066\u200bx\x07"


@pytest.fixture(scope="module")
def hostile_port() -> Iterator[int]:
    code = (
        "import socket, sys, time\n"
        f"open('/proc/self/comm', 'wb').write({COMM!r})\n"
        "s = socket.create_server(('127.0.0.1', 0))\n"
        "print(s.getsockname()[1], flush=True)\n"
        "time.sleep(120)\n"
    )
    arg = ARG.encode("utf-8", "surrogateescape")
    proc = subprocess.Popen([PY, "-c", code, arg], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


EXPECTED_NAME = "=\\xff\\x1b[31m\\u202e\\\\z"


def _assert_clean(out: bytes) -> str:
    text = out.decode("utf-8")  # strict: valid UTF-8
    assert "\x1b" not in text and "\u202e" not in text and "\u200b" not in text
    assert not any(unicodedata.category(ch) == "Cc" for ch in text.replace("\n", ""))
    return text


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_table_escapes_a_hostile_process_name(hostile_port: int, locale: str) -> None:
    result = tcpscope(
        "connections",
        "--local-port",
        str(hostile_port),
        extra_env={"LC_ALL": locale, "PYTHONUTF8": "0", "PYTHONIOENCODING": ""},
    )
    assert result.returncode == 0, result.stderr
    text = _assert_clean(result.stdout)
    # Under LC_ALL=C Python decodes /proc with ASCII, so U+202E arrives as its three bytes.
    expected = EXPECTED_NAME if locale != "C" else "=\\xff\\x1b[31m\\xe2\\x80\\xae\\\\z"
    assert expected in text


def test_csv_escapes_and_neutralises_a_hostile_process(hostile_port: int) -> None:
    result = tcpscope("connections", "--csv", "--local-port", str(hostile_port))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(_assert_clean(result.stdout))))
    (row,) = rows
    assert row["ProcessName"] == "'" + EXPECTED_NAME  # inert for spreadsheets
    assert "\\xfe\\u2066\\u200bx\\x07" in row["ProcessCommandLine"]


def test_json_is_valid_utf8_with_escaped_strings(hostile_port: int) -> None:
    result = tcpscope("connections", "--json", "--local-port", str(hostile_port))
    assert result.returncode == 0, result.stderr
    (doc,) = json.loads(_assert_clean(result.stdout))
    proc = doc["tcpscope"]["process"]
    assert proc["name"] == EXPECTED_NAME
    assert proc["cmdline"][-1] == "\\xfe\\u2066\\u200bx\\x07"
    json.dumps(doc).encode("utf-8")  # no lone surrogate inside any string
