"""LineStatic refreshes the lines it draws unlike before, and only those, whatever Textual
stamps on them that is never drawn.

Why: Textual marks each piece of a wrapped line with where it starts in its line of the
content (for mouse selection). A count before the wrap that gains a digit (the IPsec counter
detail's "History: value, last 9 samples, …" becoming "last 10 samples") moved that mark on
the next line, drawn as it was: the line was written to the terminal again each time a count
crossed 10, 100, … (tests/netns/test_terminal_resends.py met it at 9 → 10 samples).
"""

from __future__ import annotations

from typing import Self

from textual.app import App, ComposeResult
from textual.geometry import Offset, Region

from tui.widgets.line_static import LineStatic

WIDTH = 40


def caption(samples: int) -> str:
    """Two lines at WIDTH: the count on the first, the second drawn alike for any count."""
    return f"History: last {samples} samples, oldest left; gaps = reset or no value"


class Recorded(LineStatic):
    """A LineStatic that notes the regions it is refreshed with (None: all of it)."""

    refreshed: list[Region | None]

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        """Textual's refresh, noted once limited to the lines that :meth:`show` changes."""
        out = super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        if hasattr(self, "refreshed"):
            self.refreshed.extend(self._lines_only or [None])
        return out


class One(App[None]):
    CSS = f"Recorded {{ width: {WIDTH}; height: auto; }}"

    def compose(self) -> ComposeResult:
        yield Recorded("")


async def test_a_count_gaining_a_digit_refreshes_its_line_alone() -> None:
    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        widget = app.query_one(Recorded)
        for samples in (8, 9):
            widget.show(caption(samples))
            await pilot.pause()
        assert widget.size.height == 2
        assert widget.render_line(1).text.rstrip() == "gaps = reset or no value"
        for samples in (10, 11, 99, 100):
            widget.refreshed = []
            widget.show(caption(samples))
            await pilot.pause()
            assert widget.refreshed == [Region(0, 0, WIDTH, 1)], samples
        # Selecting with the mouse still reads the content shown: "gaps" starts at
        # its place in "…100 samples…", not where the line drawn at 9 samples put it.
        _, offset = app.screen.get_widget_and_offset_at(0, 1)
        assert offset == Offset(caption(100).index("gaps"), 0)
