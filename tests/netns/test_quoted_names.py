"""Namespace names with a space or a comma, over real namespaces (``ip netns add``): Tab
completes ``ns:`` to a word the filter takes whole, ``--netns`` and ``ns:`` take a name with
a comma, and a path root may not open is not said to need root."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator

import pytest

from core.netns.match import _cannot_open
from tests.netns.lab import free_port, listener, needs_netns, netns, unique
from tests.netns.test_netns_words import listed, tcpscope
from tests.netns.test_tui import app_for, rows_when
from tui.widgets.filter_bar import FilterBar

pytestmark = needs_netns


@pytest.fixture
def spaced() -> Iterator[tuple[str, str, str]]:
    """A namespace named with markup and a space, and a plain one, one listener in each."""
    port = free_port()
    head = unique("rv4")
    with (
        netns(f"{head}-[bold red]M[reverse] x") as odd,
        netns(unique("rv4p")) as plain,
        listener(odd, port),
        listener(plain, port),
    ):
        yield head, odd, plain


async def test_tab_completes_a_spaced_name_to_a_filter_that_finds_it(
    spaced: tuple[str, str, str],
) -> None:
    """Tab made ``ns:rv4-[bold red]M[reverse] x`` bare: three words, ``0 of 2 shown``."""
    head, odd, plain = spaced
    app = app_for(f"{odd},{plain}")
    async with app.run_test(size=(160, 30)) as pilot:
        await rows_when(pilot, app, 2)
        await pilot.press("slash", *f"ns:{head}", "tab")
        bar = app.screen.query_one(FilterBar)
        assert bar.error == ""
        await pilot.press("enter")
        assert not bar.editing
        table = await rows_when(pilot, app, 1)
        assert table.index.query.text == f"ns:'{odd}'"
        assert f"{head}-[bold" in table.render_line(1).text  # its own row (cut at the width)


@pytest.fixture
def comma() -> Iterator[tuple[str, str, int]]:
    """``X-a,b`` and ``Xb`` (whose name has the "b" that ``ns:X-a`` OR ``ns:b`` took)."""
    port = free_port()
    head = unique("rv7")
    with (
        netns(f"{head}-a,b") as named,
        netns(f"{head}b") as other,
        listener(named, port),
        listener(other, port),
    ):
        yield named, other, port


def test_netns_takes_a_name_with_a_comma(comma: tuple[str, str, int]) -> None:
    """``--netns 'X-a,b'`` was ``X-a`` and ``b``: "no network namespace … named 'X-a'"."""
    named, other, port = comma
    for word in (named, f"/run/netns/{named}", f'"{named}"', f"'{named}'"):
        done = tcpscope("connections", "--json", "--local-port", str(port), "--netns", word)
        assert listed(done) == [(port, named)], word
    done = tcpscope(
        "connections", "--json", "--local-port", str(port), "--netns", f'"{named}",{other}'
    )
    assert sorted(listed(done)) == sorted([(port, named), (port, other)])


def test_the_filter_takes_a_quoted_name_with_a_comma(comma: tuple[str, str, int]) -> None:
    """``ns:"X-a,b"`` listed every namespace with a "b" in its label, with no note."""
    named, other, port = comma
    # The two by their inodes: not every namespace of a busy host (and not --netns's commas).
    two = ",".join(f"ns:{os.stat(f'/run/netns/{n}').st_ino}" for n in (named, other))
    run = ("connections", "--json", "--netns", two, "--local-port", str(port), "--filter")
    for expr in (f'ns:"{named}"', f"ns:'{named}'"):
        assert listed(tcpscope(*run, expr)) == [(port, named)], expr
    both = f"ns:{named.partition(',')[0]},{other}"  # bare: two values
    assert sorted(listed(tcpscope(*run, both))) == sorted([(port, named), (port, other)])


def _denied_to_root(path: str) -> bool:
    try:
        os.stat(path)
    except PermissionError:
        return True
    return False


@pytest.mark.skipif(
    not _denied_to_root("/proc/1/ns/mnt"), reason="this host lets root open /proc/1/ns/mnt"
)
def test_a_path_root_may_not_open_is_not_said_to_need_root() -> None:
    """As root: "cannot open /proc/1/ns/mnt: Permission denied (it needs root)"."""
    done = tcpscope("connections", "--netns", "/proc/1/ns/mnt")
    assert done.returncode == 1
    assert "needs root" not in done.stderr
    assert done.stderr == (
        "tcpscope: --netns: cannot open /proc/1/ns/mnt: Permission denied (denied even to "
        "root: ptrace access or a security module such as Yama)\n"
    )


def test_the_denial_wording_says_whose_it_is() -> None:
    """The words for root and for a user, whether or not this host denies root anything."""
    denied = PermissionError(errno.EACCES, "Permission denied")
    as_root = str(_cannot_open("/proc/1/ns/mnt", denied, root=True))
    as_user = str(_cannot_open("/proc/1/ns/mnt", denied, root=False))
    assert "needs root" not in as_root and "denied even to root" in as_root
    assert as_user.endswith("Permission denied (it needs root)")
