"""What is said of an ``ns:``/``container:`` filter value no namespace answers to, over a
real ``ip netns``: the CLI's note and the app's toast.

A negated miss (``-ns:typo``) excludes nothing and a miss inside an OR list
(``ns:typo,NAME``) leaves the other values' rows: neither may be told as "matches
nothing" while the table is full; a ``container:`` miss lists container labels only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns.lab import free_port, listener, needs_netns, netns, unique

pytestmark = needs_netns
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def one() -> Iterator[tuple[str, int]]:
    """An ``ip netns`` with a listener: (its name, the port)."""
    port = free_port()
    with netns(unique("nm")) as name, listener(name, port):
        yield name, port


def filtered(name: str, port: int, expression: str) -> tuple[int, str]:
    """How many rows the real CLI's ``--filter expression`` keeps, and its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "tui", "connections", "--json", "--netns", name,
         "--local-port", str(port), "--filter", expression],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
        env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, (expression, done.stderr)
    return len(json.loads(done.stdout)), done.stderr


def test_a_negated_or_listed_miss_is_not_told_as_matching_nothing(one: tuple[str, int]) -> None:
    """``--filter -ns:nosuchns`` printed every row and "ns:nosuchns matches no network
    namespace here" (the ``-`` dropped: it reads as the reason for an empty answer)."""
    name, port = one
    kept, said = filtered(name, port, "-ns:nosuchns")
    assert kept == 1
    assert "matches no" not in said, said
    assert "-ns:nosuchns excludes nothing" in said, said
    kept, said = filtered(name, port, f"ns:nosuchns,{name}")
    assert kept == 1
    assert "ns:nosuchns matches no network namespace" in said, said
    kept, said = filtered(name, port, "ns:nosuchns")
    assert kept == 0
    assert "ns:nosuchns matches no network namespace" in said, said


def test_a_container_miss_lists_no_namespace_labels(one: tuple[str, int]) -> None:
    """``--filter container:NAME`` of an ``ip netns`` said "container:NAME matches no
    container here (shown: NAME)": the labels listed were every namespace's, which
    ``container:`` does not take."""
    name, port = one
    kept, said = filtered(name, port, f"container:{name}")
    assert kept == 0
    assert f"container:{name} matches no container here" in said, said
    assert f"shown: {name}" not in said and "no container is shown" in said, said
    assert f"ns:{name} names a network namespace" in said, said


def test_the_shown_names_are_quoted_as_the_filter_takes_them() -> None:
    """The miss note listed the shown namespaces bare: ``(shown: rvT-a,b, rvT-s p)`` read as
    three names, ``rvT-a``, ``b`` and ``rvT-s p``. Each is now written as ``ns:`` takes it."""
    port = free_port()
    head = unique("rvT")
    with (
        netns(f"{head}-a,b") as comma,
        netns(f"{head}-s p") as space,
        listener(comma, port),
        listener(space, port),
    ):
        kept, said = filtered(f"'{comma}','{space}'", port, "ns:'zz x'")
    assert kept == 0
    assert "ns:'zz x' matches no network namespace here (shown: " in said, said
    assert f"'{comma}'" in said and f"'{space}'" in said, said


async def test_the_toast_says_matches_nothing_only_of_an_empty_table(
    one: tuple[str, int],
) -> None:
    """``/`` ``-ns:nosuchns`` or ``ns:nosuchns,NAME`` raised "Filter matches nothing" over
    a full table."""
    from tests.netns.test_tui import app_for, rows_when

    name, _port = one
    app = app_for(name)
    async with app.run_test(size=(160, 30)) as pilot:
        full = (await rows_when(pilot, app, 1)).row_count
        assert full >= 1

        async def toasts(expression: str, rows: int) -> list[tuple[str, str]]:
            app.clear_notifications()
            await pilot.press("slash", "ctrl+u", *expression, "enter")
            await rows_when(pilot, app, rows)
            return [(str(n.title), str(n.message)) for n in app._notifications]

        said = await toasts("-ns:nosuchns", full)
        assert all(title != "Filter matches nothing" for title, _ in said), said
        assert all("matches no" not in text for _, text in said), said
        said = await toasts(f"ns:nosuchns,{name}", full)
        assert [title for title, _ in said] == ["Filter note"], said
        assert "ns:nosuchns matches no network namespace" in said[0][1], said
        said = await toasts("ns:nosuchns", 0)
        assert [title for title, _ in said] == ["Filter matches nothing"], said


NO_VIEW = (("--netns", "current"), ("--source", "psutil"))


@pytest.mark.parametrize("how", NO_VIEW, ids=["netns-current", "psutil"])
def test_a_namespace_word_is_told_where_no_namespace_is_looked_up(how: tuple[str, str]) -> None:
    """``--netns current --filter 'ns:nope1 ns:nope2'`` (or ``--source psutil``) printed an
    empty table and no word of why, where ``--netns all`` names each value no namespace
    answers to: no namespace is looked up there, so no ``ns:`` value matches a row."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = str(server.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "tui", "connections", "--csv", *how, "--local-port", port,
             "--filter", "ns:nope1 ns:nope2"],
            capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
            env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        negated = subprocess.run(
            [sys.executable, "-m", "tui", "connections", "--csv", *how, "--local-port", port,
             "--filter", "-ns:nope1"],
            capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
            env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1, done.stdout  # the header alone
    for word in ("ns:nope1", "ns:nope2"):
        assert f"{word} matches no network namespace" in done.stderr, done.stderr
    assert ("psutil" if "psutil" in how else "--netns current") in done.stderr, done.stderr
    assert negated.returncode == 0, negated.stderr
    assert len(negated.stdout.splitlines()) == 2, negated.stdout  # the listener is kept
    assert "-ns:nope1 excludes nothing" in negated.stderr, negated.stderr


async def test_the_toast_tells_a_namespace_word_where_no_namespace_is_looked_up() -> None:
    """The app under ``--netns current``: ``/ns:nope1`` emptied the table with no toast."""
    from tests.netns.test_tui import app_for, rows_when

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        app = app_for("current")
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.press("slash", *f"lport:{port}", "enter")
            await rows_when(pilot, app, 1)
            app.clear_notifications()
            await pilot.press("slash", "ctrl+u", *f"lport:{port} ns:nope1", "enter")
            await rows_when(pilot, app, 0)
            said = [(str(n.title), str(n.message)) for n in app._notifications]
    assert [title for title, _ in said] == ["Filter matches nothing"], said
    assert "ns:nope1 matches no network namespace" in said[0][1], said
    assert "--netns current" in said[0][1], said
