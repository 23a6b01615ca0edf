"""The detail pane's byte-rate sparkline is drawn from zero, as the IPsec screen's are.

Why: drawn between the history's own minimum and maximum (Textual's sparkline), a steady
~100 KiB/s flow whose samples differ by a few percent drew its lowest sample as the lowest
bar: a drop to nearly nothing that never happened (met over ``--remote``, where the same
flow's samples jitter more than locally).
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.widgets.line_static import drawn_lines
from tui.widgets.rate_sparkline import MergedSparkline

STEADY = [99_000.0, 92_000.0, 105_000.0, 101_000.0, 89_000.0, 100_000.0, 97_000.0, 104_000.0]


class _Pane(App[None]):
    CSS = "MergedSparkline { height: 2; width: 16; }"

    def compose(self) -> ComposeResult:
        yield MergedSparkline([])


async def _drawn(data: list[float]) -> list[str]:
    app = _Pane()
    async with app.run_test(size=(20, 4)) as pilot:
        spark = app.query_one(MergedSparkline)
        spark.show(data)
        await pilot.pause()
        return [s.text for s in drawn_lines(spark, spark.render(), spark.size.width)]


async def test_a_steady_rate_with_jitter_is_drawn_high() -> None:
    top, bottom = await _drawn(STEADY)
    assert bottom == "█" * 16, (top, bottom)  # no sample reads as a drop (it was "▁")
    assert " " not in top, (top, bottom)


async def test_a_real_drop_still_shows() -> None:
    top, bottom = await _drawn([100_000.0, 100_000.0, 0.0, 100_000.0])
    assert top == "████████    ████" and bottom == "████████▁▁▁▁████", (top, bottom)
