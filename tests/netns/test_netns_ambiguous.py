"""A ``--netns`` word that names several namespaces stops with the candidates, for every
command; and two namespaces the Namespace column would label alike are labelled apart, each
label typing back to its own. Real ``ip netns`` namespaces and real podman containers (a
test skips with the reason where podman cannot run)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from os.path import commonprefix
from pathlib import Path

import pytest

from tests.netns import containers
from tests.netns.lab import listener, needs_netns, netns, unique

pytestmark = needs_netns
REPO = Path(__file__).resolve().parents[2]
PORT = 8080  # the containers' listener (containers.SERVE)


def tcpscope(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real CLI; a run that does not stop (it took the word and went on) fails."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "tui", *args],
            capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False,
            env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"tcpscope {' '.join(args)} did not stop: it took the word and ran")


def rows(word: str) -> list[dict[str, object]]:
    """The ``tcpscope.namespace`` of each :8080 row ``--netns word`` shows."""
    done = tcpscope("connections", "--json", "--netns", word, "--local-port", str(PORT))
    assert done.returncode == 0, (word, done.stderr)
    return [d["tcpscope"]["namespace"] for d in json.loads(done.stdout)]


def every_command(word: str) -> list[list[str]]:
    """Each command that takes ``--netns``, given ``word``."""
    return [
        ["connections", "--netns", word],
        ["close", "--netns", word, "--state", "Listen", "--yes"],
        ["--netns", word],  # the app
        ["--netns", word, "record", "-", "--samples", "1"],
        ["--netns", word, "metrics", "--listen", "127.0.0.1:0"],
    ]


@pytest.fixture
def twin_named(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An ``ip netns`` and a podman container of one name, each listening on :8080:
    (the name, the container's id)."""
    with containers.podman_image(tmp_path) as image:
        twin = unique("rvns")
        with netns(twin), listener(twin, PORT):
            try:
                cid = containers.run(*containers.PODMAN_RUN, "--name", twin, image,
                                     *containers.SERVE)  # fmt: skip
                containers.podman_pid(twin)
                yield twin, cid
            finally:
                containers.podman_rm(twin)


def test_an_ip_netns_and_a_container_of_one_name(twin_named: tuple[str, str]) -> None:
    """``--netns NAME`` silently took the ``ip netns`` one (the /run/netns file was looked
    at first, containers never), though the column labelled both NAME; ``close`` acted there."""
    twin, cid = twin_named
    says = (
        f"tcpscope: --netns: {twin} could be any of /run/netns/{twin}, podman:{cid[:12]}: "
        "give one of those\n"
    )
    for argv in every_command(twin):
        done = tcpscope(*argv, timeout=30)
        assert (done.returncode, done.stderr, done.stdout) == (2, says, ""), argv
    # Nothing was closed: both listeners are there, each found by a form the line gave.
    (netns_row,) = rows(f"/run/netns/{twin}")
    assert netns_row["name"] == twin and netns_row["container"] is None
    (box_row,) = rows(f"podman:{cid[:12]}")
    assert box_row["container"]["id"] == cid  # type: ignore[index]
    # The column labels them apart, and each label typed back finds its own namespace.
    table = tcpscope("connections", "--csv", "--local-port", str(PORT))
    assert table.returncode == 0, table.stderr
    shown = {
        r["Namespace"]
        for r in csv.DictReader(io.StringIO(table.stdout))
        if r["Namespace"] in {twin, f"/run/netns/{twin}", f"podman:{twin}"}
    }
    assert shown == {f"/run/netns/{twin}", f"podman:{twin}"}, table.stdout
    assert rows(f"podman:{twin}") == [box_row]
    assert rows(f"/run/netns/{twin}") == [netns_row]


@pytest.fixture
def id_twins(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two running podman containers whose ids begin alike (containers are created until
    two share a first digit, the rest removed unstarted): their ids."""
    with containers.podman_image(tmp_path) as image:
        made: dict[str, str] = {}  # id: name
        try:
            create = [*containers.PODMAN_RUN[:3], "create", *containers.PODMAN_RUN[5:]]
            pair: list[str] = []
            while len(pair) < 2:  # at most 17 (16 hex digits)
                cname = containers.name("t16amb")
                cid = containers.run(*create, "--name", cname, image, *containers.SERVE)
                pair = [*[c for c in made if c[0] == cid[0]][:1], cid]
                made[cid] = cname
            others = [made[c] for c in made if c not in pair]
            containers.podman_rm(*others)
            for cid in pair:
                containers.run("podman", "--runtime", "runc", "start", made[cid])
                containers.podman_pid(made[cid])
            yield pair[0], pair[1]
        finally:
            containers.podman_rm(*made.values())


def test_an_id_prefix_of_two_containers(id_twins: tuple[str, str]) -> None:
    """``--netns podman:P`` read both containers whose ids begin with P, and ``close
    --netns podman:P --state Listen`` closed the listeners of both."""
    first, second = id_twins
    prefix = commonprefix([first, second])  # noqa: RUF071 (ids, not paths)
    labels = sorted([f"podman:{first[:12]}", f"podman:{second[:12]}"])
    says = (
        f"tcpscope: --netns: podman:{prefix} could be any of {', '.join(labels)}: "
        "give one of those\n"
    )
    for argv in every_command(f"podman:{prefix}")[:2]:
        done = tcpscope(*argv)
        assert (done.returncode, done.stderr, done.stdout) == (2, says, ""), argv
    done = tcpscope("connections", "--netns", prefix)  # a bare prefix (digits may be a PID too)
    assert done.returncode == 2 and all(label in done.stderr for label in labels), done.stderr
    # Nothing was closed; each label the line gave (and the full ids) finds one.
    for cid in (first, second):
        for word in (f"podman:{cid[:12]}", f"podman:{cid}", cid):
            (row,) = rows(word)
            assert row["container"]["id"] == cid, word  # type: ignore[index]


def filtered(twin: str, expression: str) -> tuple[list[dict[str, object]], str]:
    """The ``tcpscope.namespace`` of each :8080 row of both twins ``--filter`` keeps, and
    what was said on stderr."""
    done = tcpscope(
        "connections", "--json", "--netns", f"/run/netns/{twin},podman:{twin}",
        "--local-port", str(PORT), "--filter", expression,
    )  # fmt: skip
    assert done.returncode == 0, (expression, done.stderr)
    return [d["tcpscope"]["namespace"] for d in json.loads(done.stdout)], done.stderr


def test_the_filter_takes_the_labels_the_column_shows(twin_named: tuple[str, str]) -> None:
    """``--filter ns:/run/netns/NAME`` and ``ns:podman:NAME`` (the column's labels of an ip
    netns and a container of one name) each kept no row, silently: the filter searched the
    plain names only, and ``ns:NAME`` kept both."""
    twin, cid = twin_named
    both, _ = filtered(twin, f"ns:{twin}")
    assert len(both) == 2
    (netns_row,) = [r for r in both if r["container"] is None]
    (box_row,) = [r for r in both if r["container"] is not None]
    for expression, rows_kept in [
        (f"ns:/run/netns/{twin}", [netns_row]),
        (f"ns:podman:{twin}", [box_row]),
        (f"container:podman:{twin}", [box_row]),
        (f"ns:podman:{cid[:12]}", [box_row]),
        (f"-ns:podman:{twin}", [netns_row]),
    ]:
        assert filtered(twin, expression) == (rows_kept, ""), expression
    kept, said = filtered(twin, f"lport:{PORT} ns:/run/netns/{twin}x")
    assert kept == []
    assert f"ns:/run/netns/{twin}x matches no network namespace" in said, said


async def test_the_tui_filter_completes_and_takes_the_qualified_labels(
    twin_named: tuple[str, str],
) -> None:
    """In the app, ``/`` ``ns:/run/netns/NAME`` showed ``Listen 0/2`` with no word of why,
    and Tab after ``ns:`` said "no completion here"."""
    from textual.widgets import Input

    from core.connections.namespaces import namespace_text
    from tests.netns.test_tui import app_for, rows_when
    from tui.widgets.filter_bar import FilterBar

    twin, _cid = twin_named
    app = app_for(f"/run/netns/{twin},podman:{twin}")
    async with app.run_test(size=(160, 30)) as pilot:
        await rows_when(pilot, app, 2)
        bar = app.screen.query_one(FilterBar)
        field = bar.query_one("#filter-input", Input)
        for label in (f"/run/netns/{twin}", f"podman:{twin}"):
            await pilot.press("slash", "ctrl+u", *f"ns:{label[:-1]}", "tab")
            assert field.value == f"ns:{label}"
            await pilot.press("enter")
            table = await rows_when(pilot, app, 1)
            conn = table.index.record(table.index.row_id(0))
            assert namespace_text(conn.netns, table.index.namespaces) == label
        await pilot.press("slash", "ctrl+u", *"ns:", "tab")
        hint = str(bar.query_one("#filter-hint").render())
        assert f"ns:/run/netns/{twin}" in hint and f"ns:podman:{twin}" in hint, hint
        await pilot.press(*f"/run/netns/{twin}x", "enter")
        await rows_when(pilot, app, 0)
        said = [str(n.message) for n in app._notifications]
        assert any(f"ns:/run/netns/{twin}x matches no network namespace" in s for s in said)
