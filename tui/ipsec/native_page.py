"""The IPsec native view's page: scrolled a column at a time, never past what it shows.

Why: the SA list is far wider than 80 columns (Remote, traffic, Local, Algorithms) and the
native counters below it are narrow. One column per → took about 120 presses to Algorithms
over SSH; scrolled right, End went down to the native counters, all left of the screen, and
showed an empty page. Here ←/→ jump from one SA column to the next (a page at most, so a
column wider than the screen is read a page at a time), and no key scrolls further right than
the rows then on screen reach. A table without rows (no SAs while a daemon is down) is only its
column titles, no content: it sets no sideways stop or reach (→ went to pages of titles
alone). A provider's failure is said in a banner above the page (:func:`failure_banner`): in a
table cell it was cut at its start by the sideways scroll.
"""

from __future__ import annotations

from textual.actions import SkipAction

from core.ipsec import ProviderView, counters_unreachable
from tui import format as tfmt
from tui.ipsec import format as fmt
from tui.ipsec.sa_list import PageTable, SaList
from tui.key_scroll import KeyScroll


def failure_banner(providers: tuple[ProviderView, ...], tcpscope: str = "tcpscope") -> str:
    """One paragraph per provider that gave nothing native because it failed (as the counters'
    banner: what was tried and how to start the daemon); empty when none did. ``tcpscope``:
    how to run tcpscope for the host shown."""
    parts = []
    for view in providers:
        if view.error is None or view.native:
            continue
        if counters_unreachable(view):
            parts.append(fmt.absent_banner(view, tcpscope))
        else:
            parts.append(f"✗ {tfmt.safe(view.name)}: {tfmt.safe(view.error)}")
    return "\n".join(parts)


class NativePage(KeyScroll):
    """The SA list and native counters, scrolled as one page by column, line and page."""

    def column_stops(self) -> list[int]:
        """Where each SA column starts on the page (its title at the left edge)."""
        sas = self.query_one(SaList)
        if not sas.row_count:
            return []  # titles only: nothing to scroll to
        x = sas.virtual_region.x
        stops = []
        for column in sas.ordered_columns:
            stops.append(x)
            x += column.get_render_width(sas)
        return stops

    def last_x(self, y: float) -> int:
        """The furthest right the page may scroll with line ``y`` at its top: the last
        columns of the widest row then on screen, never beyond them to nothing."""
        bottom = y + self.scrollable_content_region.height
        right = 0
        for child in self.displayed_children:
            if isinstance(child, PageTable) and not child.row_count:
                continue  # its titles alone are no content to scroll to
            region = child.virtual_region
            if region.y < bottom and region.bottom > y:
                right = max(right, region.right)
        return max(0, min(right - self.scrollable_content_region.width, self.max_scroll_x))

    def _go(self, x: float, y: float) -> None:
        """To column ``x`` and line ``y``, kept within the page and the rows on screen."""
        y = min(max(y, 0), self.max_scroll_y)
        x = min(max(x, 0), self.last_x(y))
        self.scroll_to(x=x, y=y, animate=False, immediate=True)

    def _scroll_by(self, dx: int = 0, dy: int = 0) -> None:
        if (dx and not self.allow_horizontal_scroll) or (dy and not self.allow_vertical_scroll):
            raise SkipAction()
        self._go(self.scroll_target_x + dx, self.scroll_target_y + dy)

    def keep_in_content(self) -> None:
        """After the tables changed (a daemon gone, SAs closed): not scrolled past them."""
        self._go(self.scroll_target_x, self.scroll_target_y)

    def action_scroll_right(self) -> None:
        """To the next SA column (a page at most)."""
        x = self.scroll_target_x
        width = self.scrollable_content_region.width
        after = [stop for stop in self.column_stops() if stop > x]
        self._scroll_by(dx=round(min([*after[:1], x + width]) - x))

    def action_scroll_left(self) -> None:
        """To the SA column before (a page at most)."""
        x = self.scroll_target_x
        width = self.scrollable_content_region.width
        before = [stop for stop in self.column_stops() if stop < x]
        self._scroll_by(dx=round(max([*before[-1:], x - width]) - x))

    def action_scroll_home(self) -> None:
        """To the start: the first row and the first column."""
        self._go(0, 0)

    def action_scroll_end(self) -> None:
        """To the last row, with the last columns of the rows then on screen."""
        self._go(self.max_scroll_x, self.max_scroll_y)
