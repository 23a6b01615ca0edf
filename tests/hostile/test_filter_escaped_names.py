"""A filter finds a hostile name by what the table shows: the escaped form, typed or completed.

A real process names itself with Rich markup and an ESC byte (prctl PR_SET_NAME); the table
shows it as ``[bold red]x[/]\\x1b``. Tab completion must put that printable form into the
input (never the raw ESC), and typing it — in the TUI, with ``--filter`` before the subcommand
or after ``connections`` — must find the row. Ordinary names match as before.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.widgets import Input, Static

from core.connections import ProcessInfo, TcpState, parse_query
from core.connections.query import split_words
from core.textsafe import printable, typed
from tests.hostile.util import PY, tcpscope
from tests.tui.test_actions import live_app, row, until
from tests.tui.test_app import static_text
from tui.connections.conn_table import ConnTable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl: Linux")

COMM = b"[bold red]x[/]\x1b"
"""15 bytes, the most a process name holds: markup and an ESC."""
SHOWN = "[bold red]x[/]\\x1b"
"""How the table shows it (core.textsafe.printable)."""

CHILD = (
    "import ctypes, socket, sys\n"
    f"ctypes.CDLL(None).prctl(15, {COMM!r}, 0, 0, 0)  # PR_SET_NAME\n"
    "s = socket.create_server(('127.0.0.1', 0))\n"
    "print(s.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture(scope="module")
def hostile_port() -> Iterator[int]:
    child = subprocess.Popen(
        [PY, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline())
    finally:
        child.kill()
        child.wait(timeout=10)


async def test_tab_completes_the_shown_name_and_typing_it_finds_the_row(
    hostile_port: int,
) -> None:
    app = live_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: row(app, hostile_port, 0) and app.screen.query(ConnTable))
        table = app.screen.query_one(ConnTable)
        await until(
            pilot, lambda: any(p.name == COMM.decode() for p in table.index.processes.values())
        )
        field = app.screen.query_one("#filter-input", Input)
        status = app.screen.query_one("#filter-status", Static)

        def listed() -> list[int]:
            rows = (table.index.rows[table.row_id_at(i)] for i in range(table.row_count))
            return [c.local_port for c in rows if c.state == TcpState.LISTEN]

        await pilot.press("slash", *"proc:[b", "tab")
        # The ESC went into the input raw (invisible there, and not typeable); the space
        # ("[bold red]") is quoted: bare, it made two words.
        assert field.value == f"proc:'{SHOWN}'"
        assert field.value.isprintable()
        await pilot.press("enter")
        await until(pilot, lambda: listed() == [hostile_port])
        assert static_text(status).strip() == f"proc:'{SHOWN}'"

        await pilot.press("escape")  # clear
        await pilot.press("slash", *"proc:\\x1b", "enter")
        # What the table shows found nothing, and the bar showed it as proc:\\x1b.
        await until(pilot, lambda: listed() == [hostile_port])
        assert static_text(status).strip() == "proc:\\x1b"


@pytest.mark.parametrize(
    "words",
    [
        ("connections", "--filter", "proc:\\x1b"),
        ("connections", "--filter", "proc:\x1b"),  # a raw ESC is taken as its escape
        ("connections", "--filter", f"proc:{SHOWN}"),
        ("--filter", "proc:\\X1B", "connections"),  # before the subcommand; case-blind
        ("connections", "--filter", "[bold"),  # free text, an ordinary piece
    ],
)
def test_command_line_filters_match_the_shown_name(
    hostile_port: int, words: tuple[str, ...]
) -> None:
    result = tcpscope(*words, "--local-port", str(hostile_port))
    assert result.returncode == 0, result.stderr
    assert SHOWN in result.stdout.decode("utf-8")


def test_a_backslash_is_text_in_a_filter_word() -> None:
    # shlex dropped it: proc:\x1b was the filter proc:x1b.
    assert split_words('proc:\\x1b "a b" c\\ d') == ["proc:\\x1b", "a b", "c\\", "d"]
    assert split_words("proc:a#b") == ["proc:a#b"]  # no comments
    assert parse_query("proc:\\x1b").text == "proc:\\x1b"
    assert parse_query("proc:\x1b\u202e").text == "proc:\\x1b\\u202e"


def _proc(name: str) -> ProcessInfo:
    return ProcessInfo(7, name, "someone", (name,), "/bin/x", 1.0)


@given(st.text(min_size=1, max_size=30).filter(lambda t: not set(t) & set(" \"',")))
def test_any_name_is_found_by_its_shown_form_and_by_itself(name: str) -> None:
    from tests.core.test_filter_language import CONNS

    conn, proc = CONNS[0], _proc(name)
    shown = printable(name)
    assert typed(shown) == shown  # what is shown is typed back unchanged
    assert typed(name).isprintable()  # a pasted name never puts a control in
    assert parse_query(f"proc:{shown}").matches(conn, proc)
    if "\\" not in name:  # a raw name (pasted control characters and all) finds itself
        assert parse_query(f"proc:{name}").matches(conn, proc)


def test_namespace_and_container_names_match_as_shown() -> None:
    from core.connections.namespaces import ContainerInfo, NamespaceInfo, ReadBy
    from tests.core.test_filter_language import CONNS

    ns = NamespaceInfo(
        1, False, ReadBy.SOCK_DIAG, "lab\x1b", ContainerInfo("docker", "ab12", "web\u202e")
    )
    assert parse_query("ns:lab\\x1b").matches(CONNS[0], None, ns)
    assert parse_query("container:web\\u202e").matches(CONNS[0], None, ns)
    assert parse_query("ns:lab container:web").matches(CONNS[0], None, ns)  # ordinary pieces
