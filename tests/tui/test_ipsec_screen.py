"""Pilot and snapshot tests of the IPsec screen on scripted providers through the real sampler.

The numbers on screen are computed by ``core.ipsec.sampling.IpsecSampler`` from the scripted
readings of :mod:`tests.tui.ipsec_fixtures`; expectations are derived from the same script (and
from ``core.ipsec.counters`` for reasons and grades), never typed in by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import os
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static
from textual.widgets._footer import FooterKey

from core.errors import UsageError
from core.ipsec.counters import COUNTERS, source_for
from core.ipsec.model import COUNTER_NAMES, IpsecView, Kind
from core.textsafe import printable
from tests.tui.ipsec_fixtures import (
    HOSTILE_ID,
    RESET_AT,
    VICI_MISSING,
    VICI_RESET,
    IpsecFrame,
    ScriptedIpsecProvider,
    SteppedIpsecFeed,
    kernel_frame,
    standard_providers,
    strongswan_frame,
)
from tests.tui.keys import burst
from tests.tui.scripted import SteppedFeed
from tui import format as tfmt
from tui.app import TcpscopeApp
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.format import RESET, sa_state, short_reason
from tui.ipsec.ipsec_table import CounterRowView, CounterTable, ProviderSection
from tui.ipsec.native_page import NativePage
from tui.ipsec.sa_list import ENDS_CELLS, NativeTable, SaList
from tui.ipsec.screen import NO_IPSEC, IpsecScreen
from tui.key_scroll import KeyScroll
from tui.screens.help import HelpScreen
from tui.widgets.filter_bar import FilterBar
from tui.widgets.header import HeaderBar
from tui.widgets.rate_sparkline import Column, RateSparkline, bucket, span

PROVIDERS = ("kernel", "strongswan")
HOST = "ipsec-test-host"


def make() -> tuple[TcpscopeApp, SteppedIpsecFeed]:
    feed = SteppedIpsecFeed(standard_providers())
    return TcpscopeApp(feed, hostname=HOST), feed


async def settle(pilot: Pilot[int], app: TcpscopeApp, seq: int) -> None:
    """Pump the message loop until the app shows snapshot ``seq`` (no sleeping)."""
    for _ in range(100):
        if app.snapshot is not None and app.snapshot.seq >= seq:
            break
        await pilot.pause()
    await pilot.pause()
    assert app.snapshot is not None and app.snapshot.seq >= seq


async def open_ipsec(
    pilot: Pilot[int], app: TcpscopeApp, feed: SteppedIpsecFeed, samples: int
) -> IpsecScreen:
    """Switch to the IPsec screen and feed it ``samples`` samples, one snapshot each."""
    await pilot.press("2")
    for _ in range(samples):
        await advance(pilot, app, feed)
    screen = app.screen
    assert isinstance(screen, IpsecScreen)
    return screen


async def advance(pilot: Pilot[int], app: TcpscopeApp, feed: SteppedIpsecFeed) -> None:
    snap = feed.step()
    await settle(pilot, app, snap.seq)


def real_kernel_app() -> tuple[TcpscopeApp, SteppedIpsecFeed]:
    """The app over the real kernel's provider (its native counters are more than 80x24
    shows) and the scripted strongSwan; skips on a kernel without XFRM statistics."""
    from core.ipsec.providers.kernel import KernelProvider

    if not os.path.exists("/proc/net/xfrm_stat"):
        pytest.skip("kernel without CONFIG_XFRM_STATISTICS")
    scripted = [p for p in standard_providers() if p.name == "strongswan"]
    feed = SteppedIpsecFeed([KernelProvider(), *scripted])
    return TcpscopeApp(feed, hostname=HOST), feed


def view(app: TcpscopeApp) -> IpsecView:
    assert app.snapshot is not None and app.snapshot.ipsec is not None
    return app.snapshot.ipsec


def row(screen: IpsecScreen, provider: str, counter: str) -> CounterRowView:
    return screen.query_one(f"#row-{provider}-{counter}", CounterRowView)


def kernel_value(read: int, counter: str) -> int:
    """What the scripted kernel reports for ``counter`` at read ``read``."""
    value = kernel_frame(read).values[counter]
    assert value is not None
    return value


def cell(widget: CounterRowView, name: str) -> str:
    return str(widget.query_one(f".cell-{name}", Label).render())


async def test_rows_for_all_21_counters_and_a_header_per_provider() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        for provider in PROVIDERS:
            rows = list(
                screen.query_one(f"#section-{provider}", ProviderSection).query(CounterRowView)
            )
            assert [r.counter for r in rows] == list(COUNTER_NAMES)
            assert all(r.display for r in rows)
            header = str(screen.query_one(f"#section-{provider} .provider-header", Static).render())
            stats = view(app).provider(provider).stats
            assert f"InstanceName={stats.instance_name}" in header
            assert f"Active={stats.active}" in header
        providers = str(screen.query_one("#ipsec-providers", Static).render())
        assert "● kernel" in providers and "● strongswan" in providers


async def test_not_reported_rows_stay_visible_and_say_why() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        for provider in PROVIDERS:
            for name in COUNTER_NAMES:
                widget = row(screen, provider, name)
                core_row = view(app).row(provider, name)
                if core_row.value is not None:
                    assert not widget.has_class("-not-reported")
                    continue
                assert widget.display and widget.has_class("-not-reported")
                assert cell(widget, "value") == "—"
                reason = cell(widget, "reason")
                assert reason.startswith("not reported:")
                assert reason == short_reason(core_row.reason)
        # A counter with no honest kernel source carries the reason from core's table.
        spec = source_for("InvalidPackets", "kernel")
        assert cell(row(screen, "kernel", "InvalidPackets"), "reason") == short_reason(spec.reason)
        assert "parse IKE" in spec.reason


async def test_rates_for_totals_and_levels_for_gauges() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 3)
        total = row(screen, "kernel", "KeyAdditions")
        delta = kernel_value(2, "KeyAdditions") - kernel_value(1, "KeyAdditions")
        assert delta > 0
        assert COUNTERS["KeyAdditions"].kind is Kind.TOTAL
        assert cell(total, "rate") == f"{delta:.1f}/s"
        assert cell(total, "value") == f"{kernel_value(2, 'KeyAdditions'):,}"
        gauge = row(screen, "kernel", "AcquireHeapSize")
        level = kernel_value(2, "AcquireHeapSize")
        assert COUNTERS["AcquireHeapSize"].kind is Kind.GAUGE and level > 0
        assert cell(gauge, "rate") == f"{level:,} now"
        # The sparklines show core's history: rates for a total, values for a gauge.
        core_total = view(app).row("kernel", "KeyAdditions")
        assert total.query_one(RateSparkline).history == core_total.history
        assert core_total.history[-1] == float(delta)
        core_gauge = view(app).row("kernel", "AcquireHeapSize")
        assert gauge.query_one(RateSparkline).history == core_gauge.history
        assert core_gauge.history[-1] == float(level)


async def test_reset_is_marked_never_a_negative_rate_and_leaves_a_gap() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, RESET_AT + 1)
        assert kernel_value(RESET_AT, "KeyAdditions") < kernel_value(RESET_AT - 1, "KeyAdditions")
        widget = row(screen, "kernel", "KeyAdditions")
        assert widget.has_class("-reset")
        assert cell(widget, "rate") == RESET
        for other in screen.query(CounterRowView):
            assert not re.match(r"^-\d", cell(other, "rate"))
        header = str(screen.query_one("#section-kernel .provider-header", Static).render())
        assert RESET in header
        # Next sample: a rate again, the gap stays in the sparkline.
        await advance(pilot, app, feed)
        assert not widget.has_class("-reset")
        assert cell(widget, "rate").endswith("/s")
        spark = widget.query_one(RateSparkline)
        assert None in spark.history[1:]
        # Drawn in the gap colour: the glyph, or the peak of a column the reset shares.
        _, base = spark.background_colors
        gap = (base + spark.get_component_styles("sparkline--gap").color).rich_color
        strip = app.screen._compositor.render_strips()[spark.region.y]
        cells = strip.crop(spark.region.x, spark.region.right)
        assert any(seg.text.strip() and seg.style and seg.style.color == gap for seg in cells)


async def test_filter_by_counter_name_and_escape_clears() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.press("slash", *"fail", "enter")
        table = screen.query_one(CounterTable)
        shown = [(r.provider, r.counter) for r in table.visible_rows()]
        shown_order = sorted(PROVIDERS, key=lambda p: p == "kernel")  # the daemons first
        expected = [(p, n) for p in shown_order for n in COUNTER_NAMES if "fail" in n.lower()]
        assert shown == expected
        assert isinstance(app.focused, CounterRowView) and "fail" in app.focused.counter.lower()
        await pilot.press("escape")
        assert len(table.visible_rows()) == len(PROVIDERS) * len(COUNTER_NAMES)


async def test_enter_opens_the_detail_with_description_and_grade_and_esc_closes() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ipsec(pilot, app, feed, 3)
        await pilot.press("slash", *"keyadditions", "enter")
        await pilot.press("down", "enter")  # strongSwan's row first, then the kernel's
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        assert (detail.provider, detail.counter) == ("kernel", "KeyAdditions")
        text = " ".join(str(s.render()) for s in detail.query(Static))
        assert COUNTERS["KeyAdditions"].description in text
        spec = source_for("KeyAdditions", "kernel")
        assert f"grade {spec.grade.value} (kernel): {spec.reason}" in text
        assert spec.expression in text
        core_row = view(app).row("kernel", "KeyAdditions")
        assert core_row.peak_rate is not None
        assert f"Peak rate  {core_row.peak_rate:.1f}/s" in text
        # It follows new samples while open.
        await advance(pilot, app, feed)
        text = " ".join(str(s.render()) for s in detail.query(Static))
        assert f"{view(app).row('kernel', 'KeyAdditions').value:,}" in text
        await pilot.press("escape")
        assert isinstance(app.screen, IpsecScreen)


async def test_native_view_lists_counters_and_sas_with_peer_text_literal() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 3)
        await pilot.press("n")
        native = screen.query_one(NativeTable)
        keys = [k.value for k in native.rows]
        for name in kernel_frame(2).native:
            assert f"kernel/{name}" in keys
        rates = view(app).provider("kernel").native_rates
        assert (
            native.get_cell("kernel/XfrmInNoStates", "rate") == f"{rates['XfrmInNoStates']:.1f}/s"
        )
        sas = screen.query_one(SaList)
        sa_keys = [k.value for k in sas.rows]
        ike = view(app).provider("strongswan").sas
        assert sa_keys == [
            "strongswan/ike/3",
            "strongswan/child/3/7",
            "strongswan/ike/4",
        ] and [s.uniqueid for s in ike] == ["3", "4"]
        remote = sas.get_cell("strongswan/ike/3", "remote")
        assert isinstance(remote, Text)
        assert "\x1b" not in remote.plain and "\\x1b[2J" in remote.plain
        # Escaped, then cut to its column with an ellipsis (a peer's identity has no bound).
        assert remote.cell_len <= ENDS_CELLS and remote.plain.endswith("…")
        assert (printable(HOSTILE_ID) + " @ ").startswith(remote.plain[:-1])
        child = ike[0].children[0]
        assert child.bytes_in_rate is not None
        rate = sas.get_cell("strongswan/child/3/7", "in_rate")
        assert rate == f"{tfmt.short_rate(child.bytes_in_rate)}/s"
        assert app.focused is screen.query_one("#ipsec-native")
        await pilot.press("n")
        assert isinstance(app.focused, CounterRowView)


async def test_provider_failure_is_shown_with_its_reason_and_recovery_clears_it() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 4)  # read 3: charon gone
        providers = str(screen.query_one("#ipsec-providers", Static).render())
        assert "✗ strongswan" in providers and VICI_MISSING in providers
        section = screen.query_one("#section-strongswan", ProviderSection)
        assert section.has_class("-failed")
        banner = str(section.query_one(".provider-header", Static).render())
        assert VICI_MISSING in banner and "systemctl start strongswan" in banner
        assert "tests.lab" not in banner  # an installed tcpscope has no test lab
        # One banner, not 21 rows that each say the daemon is not running.
        assert not any(r.display for r in section.rows.values())
        await advance(pilot, app, feed)  # read 4: session dropped, error text with brackets
        shown = printable(VICI_RESET)
        assert "[bold]peer[/bold]" in shown and "\\x1b[2J" in shown
        providers = str(screen.query_one("#ipsec-providers", Static).render())
        assert shown in providers
        banner = str(section.query_one(".provider-header", Static).render())
        assert shown in banner
        assert cell(row(screen, "strongswan", "OakleyMainMode"), "reason").endswith(shown)
        # charon is there but cannot be asked (here: the session dropped; a VICI socket
        # refused for lack of permission is the same): one banner too, with no advice to
        # start a daemon that runs.
        assert not any(r.display for r in section.rows.values())
        assert "systemctl start" not in banner
        await advance(pilot, app, feed)  # read 5: back
        providers = str(screen.query_one("#ipsec-providers", Static).render())
        assert "● strongswan" in providers and VICI_MISSING not in providers
        assert not section.has_class("-failed")
        assert not row(screen, "strongswan", "OakleyMainMode").has_class("-not-reported")
        assert all(r.display for r in section.rows.values())


async def test_without_ipsec_sampling_the_screen_says_so() -> None:
    feed = SteppedFeed()
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        snap = await feed.step()
        await settle(pilot, app, snap.seq)
        assert snap.ipsec is None
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        assert str(screen.query_one("#ipsec-providers", Static).render()) == NO_IPSEC
        assert screen.query_one(CounterTable).rows() == []


async def test_shared_keys_pause_interval_and_screen_switch() -> None:
    app, feed = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ipsec(pilot, app, feed, 1)
        header = app.screen.query_one(HeaderBar)
        await pilot.press("space")
        assert feed.paused and app.paused
        assert "PAUSED" in str(header.render())  # at once, not at the screen's next tick
        await pilot.press("space")
        assert not feed.paused
        assert "PAUSED" not in str(header.render())
        await pilot.press("minus")
        assert feed.interval_s == 2.0
        assert "every 2s" in str(header.render())
        await pilot.press("tab")
        assert app.current_mode == "connections"
        await pilot.press("2")
        assert isinstance(app.screen, IpsecScreen)


# --- snapshots ------------------------------------------------------------------------------

SIZES = [(80, 24), (120, 40)]


def _before(samples: int, *keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, TcpscopeApp)
        feed = app.feed
        assert isinstance(feed, SteppedIpsecFeed)
        await open_ipsec(pilot, app, feed, samples)
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


class TestIpsecSnapshots:
    """Counter screen and counter detail after a reset and a provider outage and recovery."""

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_counter_screen(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        app, _ = make()
        assert snap_compare(app, terminal_size=size, run_before=_before(6))

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_daemon_absent_banner(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        app, _ = make()
        assert snap_compare(app, terminal_size=size, run_before=_before(4, "down"))

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_counter_detail(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        app, _ = make()
        keys = ("slash", *"keyadditions", "enter", "enter")
        assert snap_compare(app, terminal_size=size, run_before=_before(6, *keys))


# --- the gap sparkline's column fitting (pure) ----------------------------------------------


def peaks(columns: list[Column]) -> list[float | None]:
    return [c.peak for c in columns]


def test_bucket_keeps_short_history_and_drops_leading_gaps() -> None:
    assert peaks(bucket((None, 1.0, None, 3.0), 10)) == [1.0, None, 3.0]
    assert bucket((), 5) == []
    assert bucket((1.0, 2.0), 0) == []


def test_bucket_downsamples_by_max_and_marks_a_gap_without_losing_the_peak() -> None:
    history = tuple(float(i) for i in range(12))
    # 12 samples in 4 columns: 4 a column (a power of two), 3 columns drawn.
    assert peaks(bucket(history, 4, end=12)) == [3.0, 7.0, 11.0]
    with_gap = (*history[:7], None, *history[8:])
    fitted = bucket(with_gap, 4, end=12)
    assert fitted[1] == Column(6.0, True) and [c.gapped for c in fitted].count(True) == 1
    assert bucket((1.0, *[None] * 5, 2.0, 2.0), 4, end=8)[1] == Column(None, True)


def _dos_window() -> tuple[float | None, ...]:
    """10 minutes at 1 s of InvalidPackets rates: quiet, then 50 garbage datagrams in one second
    and ``swanctl --counters --reset`` (a reset: no rate) 1-2 s later, then quiet again."""
    quiet = [0.0] * 600
    return (*quiet[:580], 49.6, 0.0, None, *quiet[583:])


@pytest.mark.parametrize("width", [20, 61, 80])
def test_bucket_shows_the_burst_before_a_reset_as_its_peak(width: int) -> None:
    history = _dos_window()
    for end in range(600, 640):  # wherever the bucket edges fall
        fitted = bucket(history, width, end=end)
        spike = [c for c in fitted if c.peak == 49.6]
        assert len(spike) == 1, (end, fitted)
        assert not any(c.peak is None for c in fitted)  # every bucket has a value


def _stream(count: int) -> list[float | None]:
    """A varying rate with a reset every 97 samples (a daemon restarting)."""
    return [None if i % 97 == 0 else float((i * 37) % 11) for i in range(count)]


@pytest.mark.parametrize("width", [20, 61, 80])
def test_bucket_edges_stay_put_as_the_window_slides(width: int) -> None:
    stream = _stream(800)
    for end in range(600, 700):
        before = bucket(stream[end - 600 : end], width, end=end)
        after = bucket(stream[end - 599 : end + 1], width, end=end + 1)
        # Apart from the oldest (partly slid out) and newest (filling) columns, the picture is
        # the same or moved left by one whole column: no column regroups its samples.
        inner = min(len(before), len(after)) - 2
        assert after[-inner - 1 : -1] in (before[-inner - 1 : -1], before[-inner:]), end


@pytest.mark.parametrize("width", [18, 23, 78])
def test_bucket_puts_every_series_of_a_sampler_on_one_time_axis(width: int) -> None:
    """A gauge and a total (its first sample has no rate) of one sampler, a history of 600
    filling: a sample a column while they fit, then a power of two a column; the same columns
    for both at every sample, and between doublings a spike's column moves left a whole
    column at a time, never right."""
    capacity, spike_at = 600, 5
    gauge = [1.0] * 700
    total = [None, *([0.0] * 699)]
    total[spike_at - 1] = 50.0
    distances: dict[int, list[int]] = {}
    for end in range(1, 701):
        start = max(0, end - capacity)
        size = span(min(end, capacity), width)
        g = bucket(gauge[start:end], width, end=end, capacity=capacity)
        t = bucket(total[start:end], width, end=end, capacity=capacity)
        assert len(g) - len(t) == (1 if size == 1 else 0), end  # the total's blank first
        assert len(g) == min(width, (end - 1) // size - start // size + 1), end
        if 50.0 in peaks(t):
            distance = len(t) - 1 - peaks(t).index(50.0)
            assert distance == (end - 1) // size - (spike_at - 1) // size, end
            distances.setdefault(size, []).append(distance)
    assert sum(map(len, distances.values())) == capacity  # shown as long as the history holds it
    assert len(distances) > 1  # through a doubling
    for run in distances.values():
        steps = [b - a for a, b in itertools.pairwise(run)]
        assert set(steps) <= {0, 1}, run


def test_span_is_the_smallest_power_of_two_that_fits() -> None:
    seen = (0, 1, 10, 80, 81, 160, 161, 600)
    assert [span(n, 80) for n in seen] == [1, 1, 1, 1, 2, 2, 4, 8]
    assert span(600, 25) == 32  # a full default history in a row's 25 cells: 19 of them


async def test_burst_before_a_reset_shows_in_the_row_and_detail_sparklines() -> None:
    """The reviewer's lab run, scripted: after >10 minutes, 50 garbage IKE packets in one
    second, then charon's counters reset (twice: the DoS crash-loops charon). The burst is
    the tallest bar (in the gap colour) in the row and the detail, at every refresh."""
    burst_at = 640

    def invalid(i: int) -> IpsecFrame:
        frame = strongswan_frame(5)
        values = dict(frame.values)
        resets = i in (burst_at - 1, burst_at + 1)
        values["InvalidPackets"] = 50 if i == burst_at else 0
        return dataclasses.replace(frame, values=values, reset=resets)

    provider = ScriptedIpsecProvider("strongswan", invalid, version="5.9.8")
    feed = SteppedIpsecFeed([provider], history_s=600.0)
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        feed.step(burst_at + 3)
        await settle(pilot, app, 1)
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        await pilot.press("slash", *"invalidpackets", "enter")
        await pilot.pause()
        spark = row(screen, "strongswan", "InvalidPackets").query_one(RateSparkline)
        drawn = "".join(seg.text for seg in screen._compositor.render_strips()[spark.region.y])
        assert drawn.count("█") == 1, drawn
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        for step in range(12):  # a bucket's worth of refreshes: never gone, never regrouped
            await advance(pilot, app, feed)
            spark = detail.query_one(RateSparkline)
            strips = detail._compositor.render_strips()
            lines = [
                "".join(seg.text for seg in strips[y])[spark.region.x : spark.region.right]
                for y in range(spark.region.y, spark.region.bottom)
            ]
            # The burst is the one full-height column (its bottom row is a full block).
            assert lines[-1].count("█") == 1, (step, lines)


def _drawn_trend(screen: IpsecScreen, counter: str) -> str:
    """The row's sparkline as the screen draws it (blank cells kept)."""
    spark = row(screen, "strongswan", counter).query_one(RateSparkline)
    line = "".join(seg.text for seg in screen._compositor.render_strips()[spark.region.y])
    return line[spark.region.x : spark.region.right]


async def test_a_new_session_draws_a_sample_a_cell_and_every_row_one_time_axis() -> None:
    """The engineer opening the screen to troubleshoot, at 80 columns with the default 10
    minutes of history: each cell was 24 samples, so a new session showed one cell for ~24 s
    and a burst in the last 10 s was one cell. Now a cell spans the smallest power of two of
    samples that fits the samples seen so far in the width: at sample 10 each sample is its
    own cell. Every row has the same columns at every sample (the provider's sample count
    sets the span, not a row's history; a total's first sample, without a rate, is a blank
    cell), and a spike stays on its sample's cell: between doublings it moves only left, a
    whole cell at a time. The detail pane's sparkline follows the same rule at its width."""
    spike_at = 4

    def frames(i: int) -> IpsecFrame:
        frame = strongswan_frame(5)
        values = dict(frame.values)
        values["InvalidPackets"] = 50 if i >= spike_at else 0
        return dataclasses.replace(frame, values=values)

    provider = ScriptedIpsecProvider("strongswan", frames, version="5.9.8")
    feed = SteppedIpsecFeed([provider], history_s=600.0)
    app = TcpscopeApp(feed, hostname=HOST)
    gauges, totals = ("ActiveAcquire", "AcquireHeapSize"), ("AcquireFailures", "InvalidPackets")

    def span_for(seen: int, width: int) -> int:
        size = 1
        while -(-seen // size) > width:
            size *= 2
        return size

    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        spiked = 0  # the spike's sample number, once drawn
        spans: set[int] = set()
        last: tuple[int, int] | None = None  # (span, the spike's column) a sample before
        for sample in range(1, 61):
            await advance(pilot, app, feed)
            drawn = {name: _drawn_trend(screen, name) for name in (*gauges, *totals)}
            width = len(drawn["ActiveAcquire"])
            assert {len(line) for line in drawn.values()} == {width}, (sample, drawn)
            size = span_for(sample, width)
            spans.add(size)
            cells = -(-sample // size)
            for name, line in drawn.items():
                # A sample a cell at first; a total's first sample has no rate: blank.
                blank = name in totals and size == 1
                assert len(line.lstrip()) == cells - blank, (sample, size, name, line)
            if sample == 10:
                assert len(drawn["ActiveAcquire"].lstrip()) == 10, drawn
            spike = drawn["InvalidPackets"]
            if "█" not in spike:
                assert not spiked, (sample, spike)
                continue
            column = spike.rindex("█")
            spiked = spiked or sample  # first drawn on the right: its own sample's number
            assert len(spike) - 1 - column == (sample - 1) // size - (spiked - 1) // size
            if last is not None and last[0] == size:
                assert column in (last[1], last[1] - 1), (sample, spike)  # only left
            last = (size, column)
        assert spiked and spans >= {1, 2, 4}, (spiked, spans)
        await pilot.press("slash", *"invalidpackets", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        spark = detail.query_one(RateSparkline)
        strips = detail._compositor.render_strips()
        line = "".join(seg.text for seg in strips[spark.region.bottom - 1])
        line = line[spark.region.x : spark.region.right]
        size = span_for(60, len(line))
        assert size == 1 and len(line.lstrip()) == 59, line  # a sample a cell, the first blank
        assert len(line) - 1 - line.rindex("█") == 60 - spiked, line


class TestIpsecNativeSnapshots:
    """Native counters and the SA list (hostile peer identity shown escaped)."""

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_native_view(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        app, _ = make()
        assert snap_compare(app, terminal_size=size, run_before=_before(6, "n"))


def test_sa_states_and_ike_versions_read_the_same_live_and_in_the_demo() -> None:
    from tui.ipsec.format import sa_state

    live = sa_state("ESTABLISHED", "2", 230)  # charon's VICI says version "2"
    demo = sa_state("ESTABLISHED", "IKEv2", 230)  # the demo host says "IKEv2"
    assert live == demo == "ESTABLISHED IKEv2 · up 3 min 50 s"
    assert sa_state("installed") == "INSTALLED"


def test_durations_are_humanized() -> None:
    from tui.format import duration

    assert [duration(s) for s in (3.83278, 42.4, 303, 7800, 200_000)] == [
        "3.8 s",
        "42 s",
        "5 min 3 s",
        "2 h 10 min",
        "2 d 7 h",
    ]


async def test_live_ipsec_views_reach_the_screen_between_connection_samples() -> None:
    """The live sampler's IPsec stream (a real kernel provider every 0.2 s) updates the IPsec
    screen while the connection table waits 30 s for its next sample."""
    from core.connections.model import TcpState
    from core.connections.sources.scripted import ScriptedConn, ScriptedFrame, ScriptedSource
    from core.ipsec.providers import get_providers
    from core.ipsec.sampling import IpsecSampler
    from core.sampling.sampler import Sampler

    conn = ScriptedConn("192.0.2.1", 443, "198.51.100.7", 50000, TcpState.ESTABLISHED)
    ipsec = IpsecSampler(get_providers("kernel"), interval_s=0.2)
    sampler = Sampler(ScriptedSource([ScriptedFrame([conn])]), interval_s=30, ipsec=ipsec)
    app = TcpscopeApp(sampler, hostname=HOST)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        times: set[object] = set()
        for _ in range(500):
            await pilot.pause(0.01)
            if app.ipsec_view is not None:
                times.add(app.ipsec_view.time)
            if len(times) >= 3:
                break
        assert len(times) >= 3
        screen = app.screen
        assert isinstance(screen, IpsecScreen) and screen.view is app.ipsec_view
        assert app.snapshot is not None and app.snapshot.seq == 1
        await sampler.aclose()


def _marked(screen: IpsecScreen) -> list[str]:
    """Provider names shown reversed on the providers line."""
    line = screen.query_one("#ipsec-providers", Static).render()
    assert isinstance(line, Content)
    return [line.plain[s.start : s.end] for s in line.spans if "reverse=True" in repr(s.style)]


async def test_at_80x24_the_providers_line_names_the_cursor_rows_provider() -> None:
    """One provider's rows fill 80x24 and the rows have no provider cell there: the providers
    line marks whose counters the cursor is on, and End/PageUp/Home move the cursor with the
    view (never leaving it off screen)."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.pause()
        assert isinstance(screen.focused, CounterRowView)
        # The IKE daemon's counters first: at 80x24 they were below the kernel's, off screen.
        assert screen.focused.provider == "strongswan"
        assert _marked(screen) == ["strongswan"]
        await pilot.press("end")
        focused = screen.focused
        assert isinstance(focused, CounterRowView)
        assert (focused.provider, focused.counter) == ("kernel", COUNTER_NAMES[-1])
        assert _marked(screen) == ["kernel"]
        table = screen.query_one(CounterTable)
        assert focused.region.y >= table.region.y  # on screen
        await pilot.press("pageup", "pageup")
        focused = screen.focused
        assert isinstance(focused, CounterRowView)
        assert focused.region.y >= table.region.y
        assert focused.region.bottom <= table.region.bottom
        assert _marked(screen) == [focused.provider]
        await pilot.press("home")
        assert _marked(screen) == ["strongswan"]
        await pilot.press("n")  # the native view has no cursor row: nothing marked
        assert _marked(screen) == []


@pytest.mark.parametrize("width", [80, 200])
async def test_providers_line_keeps_one_line_and_gives_reasons_where_they_fit(width: int) -> None:
    """The providers line lists the IKE daemon first, as its section is; an absent daemon's
    reason joins it only when the line still fits (at 80x24 a second line would push a
    counter row off screen, and the daemon's banner below says it in full)."""
    app, feed = make()
    async with app.run_test(size=(width, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 4)
        await pilot.pause()
        down = [p for p in view(app).providers if not (p.available and p.stats.active)]
        assert [p.name for p in down] == ["strongswan"] and down[0].error
        line = screen.query_one("#ipsec-providers", Static)
        plain = line.render().plain  # type: ignore[union-attr]
        assert plain.index("strongswan") < plain.index("kernel")
        assert line.size.height == 1
        assert (down[0].error in plain) is (width == 200)


def drawn_lines(app: TcpscopeApp) -> list[str]:
    """The text of every screen line as the compositor draws it now."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def _last_native_key(screen: IpsecScreen) -> str:
    table = screen.query_one(NativeTable)
    return str(table.get_row_at(table.row_count - 1)[1])


@pytest.mark.parametrize("keys", [("end",), ("pagedown",) * 8, ("down",) * 80])
async def test_at_80x24_every_native_row_can_be_scrolled_on_screen(keys: tuple[str, ...]) -> None:
    """The native view lists every native counter (the real kernel's ~30 xfrm_stat keys and its
    SAD/SPD counts, after strongSwan's): at 80x24 End, PgDn and the arrows bring the last one on
    screen. The tables had DataTable's max-height of 100% and were cut at the page's height
    inside a page that then had nothing more to scroll."""
    app, feed = real_kernel_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 2)
            await pilot.press("n")
            await pilot.pause()
            table = screen.query_one(NativeTable)
            assert table.row_count > 24
            last = _last_native_key(screen)
            assert not any(last in line for line in drawn_lines(app))
            await pilot.press(*keys)
            await pilot.pause()
            assert any(last in line for line in drawn_lines(app)[:-1])  # above the footer
    finally:
        feed.sampler.close()


async def test_at_80x24_the_cursor_moves_off_a_vanished_daemons_rows_and_stays_on_screen() -> None:
    """The scripted strongSwan's daemon is gone at read 3 (the real provider's words for a
    missing VICI socket) and its rows are back at read 4. The cursor leaves its hidden row for
    the kernel's first row, under the banner, with the footer's ⏎ Detail; when the daemon's
    21 rows return above it, the view follows the cursor rather than leave it off screen."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 3)
        await pilot.pause()
        assert screen.focused is row(screen, "strongswan", COUNTER_NAMES[0])
        await advance(pilot, app, feed)  # read 3: charon gone
        await pilot.pause()
        kernel_first = row(screen, "kernel", COUNTER_NAMES[0])
        assert screen.focused is kernel_first
        assert "Detail" in drawn_lines(app)[-1]
        banner = screen.query_one("#section-strongswan .provider-header", Static)
        assert any(VICI_MISSING in line for line in drawn_lines(app))
        assert banner.region.y >= screen.query_one(CounterTable).region.y
        await advance(pilot, app, feed)  # read 4: the rows are back (with an error)
        await pilot.pause()
        table = screen.query_one(CounterTable)
        assert screen.focused is kernel_first
        assert table.region.y <= kernel_first.region.y < table.region.bottom
        await pilot.press("down")
        assert screen.focused is row(screen, "kernel", COUNTER_NAMES[1])


def _aging_sa(i: int) -> IpsecFrame:
    """The standard strongSwan frame whose established IKE SA is 42 s old at first, then 65 s
    (its State cell grows: "… · up 42 s" → "… · up 1 min 5 s")."""
    frame = strongswan_frame(0)  # (no outage: the standard script's daemon goes at read 3)
    first = dataclasses.replace(frame.sas[0], established_s=42 if i < 3 else 65)
    return dataclasses.replace(frame, sas=(first, *frame.sas[1:]), native={"ikesas.total": 2 + i})


async def test_at_80_columns_sa_and_native_cells_that_grow_are_shown_whole() -> None:
    """A cell that grows after the first render (the SA's age, a native count) widens its
    column: the columns kept the width of their first render and cut the new text
    ("ESTABLISHED IKEv2 · up 1 mi")."""
    provider = ScriptedIpsecProvider("strongswan", _aging_sa, version="5.9.8")
    feed = SteppedIpsecFeed([provider])
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.press("n")
        await pilot.pause()
        assert any("ESTABLISHED IKEv2 · up 42 s" in line for line in drawn_lines(app))
        for _ in range(8):  # 2 + 8 = 10: one digit more
            await advance(pilot, app, feed)
        await pilot.pause()
        state = sa_state("ESTABLISHED", "IKEv2", 65)
        assert state == "ESTABLISHED IKEv2 · up 1 min 5 s"
        lines = drawn_lines(app)
        assert any(state in line for line in lines), lines
        native = screen.query_one(NativeTable)
        assert native.get_cell("strongswan/ikesas.total", "value") == "11"
        assert any(re.search(r"ikesas\.total\s+11\b", line) for line in lines), lines


RATE_CELL = re.compile(r"\d+(\.\d)? (B|KiB|MiB|GiB)/s")
"""A byte-rate cell of the SA list: a number, a unit and /s, whatever the size."""


def _three_rates(i: int) -> IpsecFrame:
    """One IKE SA with two CHILD SAs: 256 B/s in and 2.2 KiB/s out, and one idle (0 B/s)."""
    frame = strongswan_frame(0)
    ike = frame.sas[0]
    busy = dataclasses.replace(
        ike.children[0], bytes_in=256 * i, bytes_out=2253 * i, packets_in=i, packets_out=i
    )
    idle = dataclasses.replace(busy, name="idle", uniqueid="8", bytes_in=7, bytes_out=7)
    return dataclasses.replace(frame, sas=(dataclasses.replace(ike, children=(busy, idle)),))


async def test_at_80_columns_sa_rate_cells_all_say_a_unit_per_second() -> None:
    """The In/s and Out/s cells of the SA list read "0 B/s", "256 B/s", "2.2 KiB/s": one
    scheme for every value, each saying what it is, and whole at 80 columns. They read "0 B",
    "256 B", "2.2 KiB" (no /s), and cut by their column, "256" and "2.2 K"."""
    provider = ScriptedIpsecProvider("strongswan", _three_rates, version="5.9.8")
    feed = SteppedIpsecFeed([provider])
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 3)
        await pilot.press("n")
        await pilot.pause()
        sas = screen.query_one(SaList)
        cells = {
            (child, column): str(sas.get_cell(f"strongswan/child/3/{child}", column))
            for child in ("7", "8")
            for column in ("in_rate", "out_rate")
        }
        assert cells == {
            ("7", "in_rate"): "256 B/s",
            ("7", "out_rate"): "2.2 KiB/s",
            ("8", "in_rate"): "0 B/s",
            ("8", "out_rate"): "0 B/s",
        }
        assert all(RATE_CELL.fullmatch(cell) for cell in cells.values())
        lines = drawn_lines(app)
        assert any(re.search(r"256 B/s +2\.2 KiB/s", line) for line in lines), lines
        assert any(re.search(r"0 B/s +0 B/s", line) for line in lines), lines


async def test_keys_that_arrive_together_each_move_the_cursor_a_row() -> None:
    """A held key, a slow SSH link or pasted input hands the app several keys at once: each
    moves the cursor, paused or not, and PgDn/PgUp/Home/End land where the same keys pressed
    one at a time do. Every key of a burst started from the same row (ten Downs moved one)."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        table = screen.query_one(CounterTable)
        rows = table.visible_rows()
        assert len(rows) == 2 * len(COUNTER_NAMES)
        await pilot.press("home")
        await burst(pilot, "down", "down", "down")
        assert screen.focused is rows[3]
        await pilot.press("space")
        assert app.paused
        await burst(pilot, *("down",) * 10)
        assert screen.focused is rows[13]
        await burst(pilot, "up", "up")
        assert screen.focused is rows[11]
        for keys in (("pagedown", "pagedown"), ("end", "pageup", "up"), ("end", "home", "down")):
            await pilot.press(*keys)  # one at a time, the app idle after each
            one_by_one = screen.focused
            await pilot.press("home" if keys[0] == "end" else "end")
            await burst(pilot, *keys)
            assert screen.focused is one_by_one, keys
        await burst(pilot, "end", *("down",) * 3, "up")
        cursor = screen.focused
        assert cursor is rows[-2]
        assert isinstance(cursor, CounterRowView)
        assert table.region.y <= cursor.region.y < table.region.bottom  # on screen
        assert _marked(screen) == [cursor.provider]


async def test_keys_read_while_the_view_scrolls_leave_the_cursor_on_screen() -> None:
    """Downs read while the view was on its way elsewhere (Home's animated scroll under load,
    the sample interval stretched; a click in the scroll bar) were checked against the frame
    drawn mid-way, where their row showed, and asked for no scroll; the view went on to the
    top and the cursor sat below it, off screen, until the next key."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        table = screen.query_one(CounterTable)
        rows = table.visible_rows()
        target = rows[19]
        await pilot.press("home")
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert screen.focused is rows[0] and not screen.can_view_entire(target)
        # The view slowly on its way to the top (a frame taking long under load).
        table.scroll_home(duration=3, easing="linear")
        for _ in range(1000):  # until a frame is drawn with the target row in it
            await asyncio.sleep(0.001)
            if screen.can_view_entire(target):
                break
        assert app.animator.is_being_animated(table, "scroll_y")
        await burst(pilot, *("down",) * 19)
        await app.animator.wait_until_complete()
        await pilot.pause()
        assert screen.focused is target
        assert table.region.y <= target.region.y < table.region.bottom, table.scroll_y


async def test_native_page_scrolls_a_column_per_key_that_arrive_together() -> None:
    """In the native view the page scrolls: keys read together scroll one SA column (or line,
    or page) each, as the same keys pressed one at a time; ten Rights scrolled one column."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await burst(pilot, "n", "down")  # Down right behind n: to the page, not a hidden row
        page = screen.query_one("#ipsec-native", NativePage)
        assert screen.focused is page
        assert screen.query_one(CounterTable).visible_rows()[0] is screen._row_focus
        stops = page.column_stops()
        await burst(pilot, "right", "right", "right")
        assert page.max_scroll_x > stops[3] > 20
        assert page.scroll_x == stops[3]
        await burst(pilot, "home", *("right",) * 6, "left")
        assert page.scroll_x == stops[5]
        await pilot.press("home", "home", "ctrl+pagedown", "ctrl+pagedown", "left")
        one_by_one = page.scroll_x
        await burst(pilot, "home", "home", "ctrl+pagedown", "ctrl+pagedown", "left")
        assert page.scroll_x == one_by_one > 12


async def test_native_page_scrolls_a_line_per_key_that_arrive_together() -> None:
    """The same for lines, on the real kernel's native counters (more than 80x24 shows)."""
    app, feed = real_kernel_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 2)
            await pilot.press("n")
            page = screen.query_one("#ipsec-native", KeyScroll)
            assert page.max_scroll_y > 5
            await burst(pilot, "down", "down", "down")
            assert page.scroll_y == 3
            await burst(pilot, *("down",) * 10, "up")
            assert page.scroll_y == min(12, page.max_scroll_y)
            await pilot.press("home", "pagedown", "down")
            one_by_one = page.scroll_y
            await burst(pilot, "end", "home", "pagedown", "down")
            assert page.scroll_y == one_by_one > 1
    finally:
        feed.sampler.close()


async def test_a_vici_path_that_becomes_a_file_or_fifo_is_no_socket_not_a_dead_charon(
    tmp_path: Path,
) -> None:
    """The path given to --vici turning into a regular file or a FIFO while the app samples
    was reported as "charon not running (… refuses connections)", with advice to start charon;
    the banner says what --vici says for such a path at start (exit 2): not a UNIX socket."""
    from core.ipsec.providers import check_vici_path
    from core.ipsec.providers.strongswan import StrongswanProvider

    path = tmp_path / "charon.vici"
    feed = SteppedIpsecFeed([StrongswanProvider(str(path), timeout_s=1.0, events=False)])
    app = TcpscopeApp(feed, hostname=HOST)

    def banner(screen: IpsecScreen) -> str:
        return str(screen.query_one("#section-strongswan .provider-header", Static).render())

    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 1)
            assert f"charon not running (no VICI socket at {path})" in banner(screen)
            for make_it in (lambda: path.write_text("charon {}\n"), lambda: os.mkfifo(path)):
                make_it()
                with pytest.raises(UsageError) as refused:
                    check_vici_path(str(path))
                at_start = str(refused.value).removeprefix("--vici ")
                assert at_start == f"{str(path)!r} is not a UNIX socket"
                await advance(pilot, app, feed)
                shown = banner(screen)
                assert f"✗ strongswan: VICI path {at_start}" in shown
                assert "charon not running" not in shown and "start charon" not in shown
                assert "tcpscope --vici <charon's VICI socket>" in shown
                path.unlink()
            await advance(pilot, app, feed)
            assert "charon not running (no VICI socket" in banner(screen)
    finally:
        feed.sampler.close()


async def test_a_charon_gone_from_the_vici_socket_given_names_it_and_suggests_no_vici(
    tmp_path: Path,
) -> None:
    """With ``--vici`` given, a socket that accepts and closes (charon stopping) was followed
    by "if it runs with another VICI socket: tcpscope --vici <socket>": the option already
    given. The banner names the socket given instead."""
    import socket
    import threading

    from core.ipsec.providers.strongswan import StrongswanProvider

    path = tmp_path / "fake.vici"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    server.settimeout(0.2)
    done = threading.Event()

    def accept_and_close() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=accept_and_close, daemon=True)
    thread.start()
    feed = SteppedIpsecFeed([StrongswanProvider(str(path), timeout_s=1.0, events=False)])
    app = TcpscopeApp(feed, hostname=HOST)
    try:
        async with app.run_test(size=(120, 24)) as pilot:
            screen = await open_ipsec(pilot, app, feed, 1)
            shown = str(screen.query_one("#section-strongswan .provider-header", Static).render())
            assert f"charon closed the connection on {path}" in shown, shown
            assert "--vici" not in shown.replace(f"--vici given: {path}", ""), shown
            assert f"the --vici given: {path}" in shown, shown
    finally:
        feed.sampler.close()
        done.set()
        thread.join()
        server.close()


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "burst"])
async def test_slash_on_the_native_page_focuses_the_filter_input(together: bool) -> None:
    """``/`` on the native page returns to the counters with the filter input focused: the
    rows' deferred refocus took the focus back, so the filter text ran as commands (``quick``
    quit tcpscope, ``1`` switched screens)."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.press("n")
        keys = ("slash", *"quick1")
        if together:
            await burst(pilot, *keys)
        else:
            await pilot.press(*keys)
        for _ in range(3):  # every refresh (and what it queued) has run
            await pilot.pause()
        assert app.is_running and app.screen is screen and not screen.native
        field = screen.query_one("#filter-input", Input)
        assert screen.focused is field
        assert field.value == "quick1"


LOWER_BOUND_TEXT = "lower bound: tcpscope's listener lost charon 1 time since it started"


def _missed_events(i: int) -> IpsecFrame:
    """strongSwan's script, its event-counted OakleyMainMode a lower bound from read 1 on."""
    frame = strongswan_frame(i)
    if i < 1 or frame.values.get("OakleyMainMode") is None:
        return frame
    return dataclasses.replace(frame, lower_bounds={"OakleyMainMode": LOWER_BOUND_TEXT})


async def test_a_lower_bound_total_is_marked_on_its_row_and_in_the_detail() -> None:
    """After a listener gap a total is only a lower bound: its row showed a bare ``3`` (only
    the detail said so); now ``≥`` stands before the value, and help says what it means."""
    kernel = next(p for p in standard_providers() if p.name == "kernel")
    swan = ScriptedIpsecProvider(
        "strongswan", _missed_events, instance="strongswan:charon", version="5.9.8"
    )
    feed = SteppedIpsecFeed([kernel, swan])
    app = TcpscopeApp(feed, hostname=HOST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        marked = view(app).row("strongswan", "OakleyMainMode")
        assert marked.lower_bound == LOWER_BOUND_TEXT and marked.value is not None
        assert cell(row(screen, "strongswan", "OakleyMainMode"), "value") == f"≥{marked.value:,}"
        plain = view(app).row("strongswan", "KeyAdditions")
        assert cell(row(screen, "strongswan", "KeyAdditions"), "value") == f"{plain.value:,}"
        assert any(re.search(rf"OakleyMainMode +≥{marked.value:,} ", ln) for ln in drawn_lines(app))
        await pilot.press("slash", *"oakleymain", "enter", "enter")
        detail = app.screen
        assert isinstance(detail, CounterDetailScreen)
        text = " ".join(str(s.render()) for s in detail.query(Static))
        assert f"Value  ≥{marked.value:,}" in text and LOWER_BOUND_TEXT in text
        await pilot.press("escape", "question_mark")
        console = Console(width=200, record=True, file=io.StringIO())
        for static in app.screen.query(Static):
            console.print(static.content)
        assert re.search(r"≥N +a lower bound", console.export_text())


def _footer(app: TcpscopeApp) -> dict[str, str]:
    """The footer's keys as drawn: description → key shown."""
    return {k.description: k.key_display for k in app.screen.query(FooterKey)}


@pytest.mark.parametrize("screen_key", ["1", "2"], ids=["connections", "ipsec"])
async def test_while_a_filter_is_typed_the_footer_shows_the_keys_that_work_there(
    screen_key: str,
) -> None:
    """The footer showed only ``/ Filter`` (``/`` is typed into the input): now Enter applies,
    Esc clears, Tab completes (where a completer exists); ``?`` is typed, so no ``? Help``."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ipsec(pilot, app, feed, 2)
        await pilot.press(screen_key)
        assert "Help" in _footer(app) and "Filter" in _footer(app)
        await pilot.press("slash")
        field = app.screen.query_one("#filter-input", Input)
        assert app.focused is field
        keys = _footer(app)
        assert keys.get("Apply") == "⏎" and keys.get("Clear") == "esc"
        assert ("Complete" in keys) is (screen_key == "1")  # IPsec's Tab completes nothing
        assert "Filter" not in keys and "Help" not in keys, keys
        await pilot.press("question_mark", "slash")
        assert field.value == "?/" and app.focused is field
        await pilot.press("escape")
        assert not app.screen.query_one(FilterBar).editing and app.focused is not field
        assert "Help" in _footer(app) and "Filter" in _footer(app)


async def test_in_the_counter_detail_enter_closes_it_and_question_mark_opens_help() -> None:
    """README: Enter opens and closes the counter detail; it only opened it (Esc closed it)
    and ``?`` did nothing there. The footer names both keys."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 2)
        await pilot.press("enter")
        assert isinstance(app.screen, CounterDetailScreen)
        assert _footer(app) == {"Close": "esc/⏎", "Help": "?"}
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, CounterDetailScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, IpsecScreen) and app.screen is screen


async def test_native_page_scrolls_no_further_than_its_content_while_the_daemon_is_down() -> None:
    """With charon gone (read 3 of the script) the SA list has no rows, only its column
    titles, far wider than 80 columns: → and End scrolled sideways to pages that showed those
    titles and nothing else. The sideways range is now that of the rows that exist."""
    app, feed = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ipsec(pilot, app, feed, 4)  # read 3: charon gone
        await pilot.press("n")
        await pilot.pause()
        sas, native = screen.query_one(SaList), screen.query_one(NativeTable)
        page = screen.query_one("#ipsec-native", NativePage)
        assert sas.row_count == 0 and native.row_count > 0
        width = page.scrollable_content_region.width
        assert sas.virtual_region.right > width  # the titles alone are wider than the page
        furthest = max(0, native.virtual_region.right - width)
        for keys in (("right",) * 12, ("end",), ("ctrl+pagedown",) * 4):
            await pilot.press("home", *keys)
            await pilot.pause()
            assert page.scroll_x <= furthest, (keys, page.scroll_x, furthest)
