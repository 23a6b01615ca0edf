"""The IPsec screen on a real charon: counters, the SA list, the daemon dying and coming back.

Why: the scripted tests pin the screen's behaviour exactly; this one shows that the real
strongSwan provider's output (VICI over a lab charon, strongSwan 5.9.8 with kernel-libipsec in
its own network namespace) lands on the screen as it should, including a crash of the daemon.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator

import pytest
from textual.widgets import Static

from core.ipsec.model import COUNTER_NAMES, Grade
from core.ipsec.providers.kernel import KernelProvider
from core.ipsec.providers.strongswan import StrongswanProvider
from tests.lab.ipsec_lab import IpsecLab, have_lab_tools
from tests.tui.ipsec_fixtures import SteppedIpsecFeed
from tests.tui.test_ipsec_screen import (
    advance,
    cell,
    drawn_lines,
    open_ipsec,
    row,
    settle,
    view,
)
from tui.app import TcpscopeApp
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.ipsec_table import CounterRowView, ProviderSection
from tui.ipsec.sa_list import NativeTable, SaList

pytestmark = [pytest.mark.lab, pytest.mark.root]


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    """A lab of its own (this module kills a charon) with the IKEv2 ``lab`` CHILD SA up."""
    why = have_lab_tools()
    if why:
        pytest.skip(why)
    with IpsecLab() as the_lab:
        the_lab.initiate("lab")
        yield the_lab


async def test_ipsec_screen_on_a_real_charon(lab: IpsecLab) -> None:
    feed = SteppedIpsecFeed([StrongswanProvider(lab.a.vici)], interval_s=0.5)
    app = TcpscopeApp(feed, hostname="lab")
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 1)
            providers = str(screen.query_one("#ipsec-providers", Static).render())
            assert "● strongswan" in providers
            invalid = view(app).row("strongswan", "InvalidPackets")
            assert invalid.grade is Grade.EXACT
            assert cell(row(screen, "strongswan", "InvalidPackets"), "value") == (
                f"{lab.counters(lab.a)['invalid']:,}"
            )

            lab.traffic(count=5, interval_s=0.02)
            await advance(pilot, app, feed)
            await pilot.press("n")
            sas = screen.query_one(SaList)
            ike = [sa for sa in view(app).provider("strongswan").sas if sa.name == "lab"]
            assert ike and ike[0].children
            key = f"strongswan/ike/{ike[0].uniqueid}"
            remote = str(sas.get_cell(key, "remote"))
            assert lab.b.outer in remote and "b.lab" in remote
            # The same words as the demo shows: "ESTABLISHED IKEv2", not charon's "2".
            assert str(sas.get_cell(key, "state")).startswith("ESTABLISHED IKEv2")
            child = ike[0].children[0]
            child_key = f"strongswan/child/{ike[0].uniqueid}/{child.uniqueid}"
            assert child.bytes_out and str(sas.get_cell(child_key, "out")) != "—"
            await pilot.press("n")

            lab.kill_daemon(lab.a)
            await advance(pilot, app, feed)
            providers = str(screen.query_one("#ipsec-providers", Static).render())
            assert "✗ strongswan" in providers and "charon not running" in providers
            section = screen.query_one("#section-strongswan", ProviderSection)
            assert section.has_class("-failed")
            banner = str(section.query_one(".provider-header", Static).render())
            assert "charon not running" in banner and f"--vici given: {lab.a.vici}" in banner
            assert not any(r.display for r in section.rows.values())

            lab.start_daemon(lab.a)
            lab.load(lab.a)
            await advance(pilot, app, feed)
            providers = str(screen.query_one("#ipsec-providers", Static).render())
            assert "● strongswan" in providers
            assert not section.has_class("-failed")
            assert not row(screen, "strongswan", "InvalidPackets").has_class("-not-reported")
    finally:
        feed.sampler.close()


async def test_cursor_stays_on_a_visible_row_when_charon_goes_and_comes_back(
    lab: IpsecLab,
) -> None:
    """With the cursor on a strongSwan row, charon dies: its banner replaces its 21 rows and the
    cursor moves to the next section's first row (the kernel's), keeping the keys (arrows,
    Enter, the footer's ⏎ Detail) working; when charon is back the cursor is still usable, and
    so it is when charon dies while the native view is shown. Before, the hidden row lost the
    focus and nothing took it: every key on the rows was dead until a mouse click."""
    feed = SteppedIpsecFeed([StrongswanProvider(lab.a.vici), KernelProvider()], interval_s=0.5)
    app = TcpscopeApp(feed, hostname="lab")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 1)
            await pilot.pause()
            await pilot.press("down", "down")
            focused = screen.focused
            assert isinstance(focused, CounterRowView) and focused.provider == "strongswan"
            assert "Detail" in drawn_lines(app)[-1]

            lab.kill_daemon(lab.a)
            await advance(pilot, app, feed)
            await pilot.pause()
            section = screen.query_one("#section-strongswan", ProviderSection)
            assert "charon not running" in str(section.header.render())
            focused = screen.focused
            assert isinstance(focused, CounterRowView) and focused.display
            assert (focused.provider, focused.counter) == ("kernel", COUNTER_NAMES[0])
            assert "Detail" in drawn_lines(app)[-1]
            await pilot.press("down")
            assert screen.focused is row(screen, "kernel", COUNTER_NAMES[1])

            lab.start_daemon(lab.a)
            lab.load(lab.a)
            await advance(pilot, app, feed)
            await pilot.pause()
            assert all(r.display for r in section.rows.values())
            await pilot.press("home")
            assert screen.focused is row(screen, "strongswan", COUNTER_NAMES[0])

            # Gone while the native view is shown: back on the counters, the same nearest row.
            await pilot.press("n")
            lab.kill_daemon(lab.a)
            await advance(pilot, app, feed)
            await pilot.press("n")
            await pilot.pause()
            assert screen.focused is row(screen, "kernel", COUNTER_NAMES[0])
            await pilot.press("enter")
            assert isinstance(app.screen, CounterDetailScreen)
            lab.start_daemon(lab.a)
            lab.load(lab.a)
    finally:
        feed.sampler.close()


async def test_at_80x24_scrolled_to_the_algorithms_a_stopped_charon_is_read_from_its_start(
    lab: IpsecLab,
) -> None:
    """The outside review's steps on a real charon: the native view at 80x24 reaches the SA
    list's Algorithms in a few →, then charon stops: its banner reads from ``✗ strongswan:``
    (it was a table cell cut at its start, ``-lab-…/a/charon.vici refuses connections)``);
    End then shows the kernel's last native counter, not an empty page."""
    # An SA to scroll across (the module's earlier tests restart charon, which loses it).
    lab.ensure_up("lab")
    feed = SteppedIpsecFeed([StrongswanProvider(lab.a.vici), KernelProvider()], interval_s=0.5)
    app = TcpscopeApp(feed, hostname="lab")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 1)
            # Its first read connects and registers: on a loaded host it may miss the first
            # sample's 0.5 s wait, and show in the next one.
            for _ in range(5):
                if "● strongswan" in str(screen.query_one("#ipsec-providers", Static).render()):
                    break
                await advance(pilot, app, feed)
            await pilot.press("n", *("right",) * 10)
            lines = drawn_lines(app)
            assert any("Algorithms" in line for line in lines), lines

            lab.kill_daemon(lab.a)
            # The next sample's read finds it gone; on a loaded host that read may outlast the
            # sample's wait (then that sample shows the last answer, and the next one this).
            for _ in range(2):
                await advance(pilot, app, feed)
                await pilot.pause()
                lines = drawn_lines(app)
                if any(line.startswith(" ✗ strongswan: charon ") for line in lines):
                    break
            assert any(line.startswith(" ✗ strongswan: charon ") for line in lines), lines
            await pilot.press("end")
            table = screen.query_one(NativeTable)
            last = str(table.get_row_at(table.row_count - 1)[1])
            assert any(line.startswith(" kernel") and last in line for line in drawn_lines(app))
            lab.start_daemon(lab.a)
            lab.load(lab.a)
    finally:
        feed.sampler.close()


async def test_a_stopped_charon_is_not_responding_within_a_sample_and_holds_back_nothing(
    lab: IpsecLab,
) -> None:
    """charon stopped (SIGSTOP): the next sample says so within its read deadline, with the
    kernel's section read as ever; later samples do not wait for charon again. Before, each
    sample waited charon's VICI timeouts (about 5 s) before any provider's figures showed."""
    feed = SteppedIpsecFeed([StrongswanProvider(lab.a.vici), KernelProvider()], interval_s=1.0)
    app = TcpscopeApp(feed, hostname="lab")
    assert lab.a.pid is not None
    charon = lab.a.pid
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 1)
            assert "● strongswan" in str(screen.query_one("#ipsec-providers", Static).render())
            os.kill(charon, signal.SIGSTOP)
            try:
                took, said = [], []
                deadline = feed.sampler.deadline_s
                said_re = re.compile(
                    rf"charon on {re.escape(lab.a.vici)} did not answer within ([0-9.]+) s"
                )
                for _ in range(3):
                    started = time.monotonic()
                    snap = feed.step()  # the sample alone (the screen's redraw not timed)
                    ended = time.monotonic()
                    took.append((started, ended))
                    # the first waits the read deadline (1 s), later ones not for charon again
                    spent = [b - a for a, b in took]
                    assert (spent[-1] >= deadline) == (len(took) == 1), spent
                    await settle(pilot, app, snap.seq)
                    providers = str(screen.query_one("#ipsec-providers", Static).render())
                    assert "✗ strongswan" in providers and "not responding" in providers
                    assert "● kernel" in providers
                    section = screen.query_one("#section-strongswan", ProviderSection)
                    banner = str(section.query_one(".provider-header", Static).render())
                    # How long its read (begun in the first of these samples) has gone
                    # unanswered: the deadline in the first, then growing with the time.
                    found = said_re.search(banner)
                    assert found, banner
                    said.append(float(found[1]))
                    first_started, first_ended = took[0]
                    low, high = started - first_ended, ended - first_started
                    assert low - 0.05 <= said[-1] <= high + 0.05, (said, took)
                    assert said[0] == deadline and said == sorted(set(said)), said
                    kernel = screen.query_one("#section-kernel", ProviderSection)
                    assert not kernel.has_class("-failed")
            finally:
                os.kill(charon, signal.SIGCONT)
            deadline = time.monotonic() + 40  # the provider's backoff may be waiting
            while time.monotonic() < deadline:
                await advance(pilot, app, feed)
                if "● strongswan" in str(screen.query_one("#ipsec-providers", Static).render()):
                    break
                await asyncio.sleep(0.5)
            assert "● strongswan" in str(screen.query_one("#ipsec-providers", Static).render())
    finally:
        feed.sampler.close()
