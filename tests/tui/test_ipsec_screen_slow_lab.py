"""The IPsec screen over a slow charon (a VICI proxy handing each reply on late, as a busy
host's daemon answers): the screen opened before charon's first answer stays at its top when
charon's rows and its "◷ slow" line arrive above the kernel's.

Why: the kernel's first row had the cursor while charon's section was only its header; when
charon's 21 rows came in above it, the table scrolled to keep that row in view, and the user
saw the middle of charon's counters with its header (name, Active, "slow") scrolled away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.ipsec.model import COUNTER_NAMES
from core.ipsec.providers.base import Provider
from core.ipsec.providers.kernel import KernelProvider
from core.ipsec.providers.strongswan import StrongswanProvider
from tests.ipsec.test_hung_charon_lab import slow_vicis
from tests.lab.ipsec_lab import IpsecLab
from tests.lab.own_lab import own_lab
from tests.tui.ipsec_fixtures import SteppedIpsecFeed
from tests.tui.test_ipsec_screen import advance, drawn_lines, row
from tui.app import TcpscopeApp
from tui.ipsec.ipsec_table import CounterTable, ProviderSection
from tui.ipsec.screen import IpsecScreen

pytestmark = [pytest.mark.lab, pytest.mark.root]


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    yield from own_lab("sl")


@pytest.fixture
def slow_vici(lab: IpsecLab, tmp_path: Path) -> Iterator[Callable[[float], str]]:
    yield from slow_vicis(lab, tmp_path)


async def test_the_screen_opened_before_a_slow_charon_answers_stays_at_its_top(
    slow_vici: Callable[[float], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # Each reply 0.25 s late: charon's first read (connect, register) misses the first
    # sample's deadline; its later ones answer, said to be slow.
    providers: list[Provider] = [StrongswanProvider(slow_vici(0.25)), KernelProvider()]
    feed = SteppedIpsecFeed(providers, interval_s=1.0)
    app = TcpscopeApp(feed, hostname="lab")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")  # before charon's first answer
            await advance(pilot, app, feed)
            screen = app.screen
            assert isinstance(screen, IpsecScreen)
            section = screen.query_one("#section-strongswan", ProviderSection)
            assert section.absent, str(section.header.render())  # only its header: no answer
            for _ in range(10):
                await advance(pilot, app, feed)
                if not section.absent:
                    break
            assert not section.absent, str(section.header.render())
            for _ in range(3):  # its rows are in; a few more samples, as the user waits
                await advance(pilot, app, feed)
            for _ in range(3):
                await pilot.pause()
            table = screen.query_one(CounterTable)
            lines = drawn_lines(app)
            assert table.scroll_y == 0, "\n".join(lines)
            top = "\n".join(lines[:8])
            assert "InstanceName=strongswan" in top and "◷ slow: answers in ~" in top, top
            # The cursor is on screen, on the first row under the header.
            assert screen.focused is row(screen, "strongswan", COUNTER_NAMES[0])

            # Where the user moved, the samples leave them.
            await pilot.press("end")
            await pilot.pause()
            moved, scrolled = screen.focused, table.scroll_y
            assert scrolled > 0
            for _ in range(2):
                await advance(pilot, app, feed)
            await pilot.pause()
            assert screen.focused is moved and table.scroll_y == scrolled
    finally:
        feed.sampler.close()
