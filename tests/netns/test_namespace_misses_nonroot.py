"""An ``ns:`` value that names only a namespace this user cannot read, as ``nobody`` over a
real ``ip netns`` holding root's listener: the CLI's note and the app's toast.

Why: such a value counted as a hit (the namespace's file is in the view, unread), so the
table emptied with no word, and ``ns:typo,NAME`` was told as a note over an empty table."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from tests.integration.sockets import SYSTEM_PYTHON
from tests.netns.lab import free_port, listener, needs_netns, netns, unique
from tests.netns.test_nonroot import APP_OPENED, SAME_PYTHON, as_nobody, tcpscope

pytestmark = [
    needs_netns,
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)"),
    pytest.mark.skipif(not SAME_PYTHON, reason=f"needs {SYSTEM_PYTHON} of this Python version"),
]
UNREAD = "names a network namespace not read"


@pytest.fixture
def hidden() -> Iterator[tuple[str, int]]:
    """An ``ip netns`` with root's listener in it: (its name, the port)."""
    port = free_port()
    with netns(unique("nmh")) as name, listener(name, port):
        yield name, port


def test_the_cli_says_a_value_names_only_a_namespace_not_read(hidden: tuple[str, int]) -> None:
    """``--filter ns:NAME`` printed nothing of the value: only the view's general note."""
    name, port = hidden
    done = tcpscope("connections", "--local-port", str(port), "--filter", f"ns:{name}")
    assert done.returncode == 0, done.stderr
    assert f"127.0.0.1:{port}" not in done.stdout, done.stdout
    assert f"ns:{name} {UNREAD}" in done.stderr, done.stderr
    assert "needs CAP_SYS_ADMIN" in done.stderr.split(f"ns:{name} {UNREAD}")[1], done.stderr
    done = tcpscope("connections", "--local-port", str(port), "--filter", f"-ns:{name}")
    assert done.returncode == 0, done.stderr
    assert f"127.0.0.1:{port}" in done.stdout, done.stdout
    assert f"-ns:{name} excludes nothing" in done.stderr, done.stderr


TOASTS = (
    """
async def then(app, pilot, table):
    import json
    said = {}
    for expression in sys.argv[2:]:
        app.clear_notifications()
        await pilot.press("slash", "ctrl+u", *expression, "enter")
        await pilot.pause(0.5)
        said[expression] = {
            "rows": table.row_count,
            "toasts": [[str(n.title), str(n.message)] for n in app._notifications],
        }
    print(json.dumps(said))
"""
    + APP_OPENED
)


def test_the_toast_says_a_value_names_only_a_namespace_not_read(hidden: tuple[str, int]) -> None:
    """``/ns:NAME`` emptied the table with no toast; ``/ns:typo,NAME`` gave a "Filter note"
    (NAME counted as a hit) over an empty table."""
    name, port = hidden
    typo = f"ns:zzq{port},{name}"
    done = as_nobody("-c", TOASTS, str(port), f"ns:{name}", typo, timeout=90)
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.splitlines()[-1])
    alone = said[f"ns:{name}"]
    assert alone["rows"] == 0, said
    assert [t for t, _ in alone["toasts"]] == ["Filter matches nothing"], said
    assert f"ns:{name} {UNREAD}" in alone["toasts"][0][1], said
    both = said[typo]
    assert both["rows"] == 0, said
    assert [t for t, _ in both["toasts"]] == ["Filter matches nothing"], said
    text = both["toasts"][0][1]
    assert f"ns:zzq{port} matches no network namespace" in text and f"ns:{name} {UNREAD}" in text
