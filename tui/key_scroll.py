"""A scrolling page whose arrow and page keys add up, however fast they arrive.

Why: Textual's key scrolls aim at the page's scroll target but set it only after the next
refresh (↑/↓/←/→), or aim from the position drawn so far (PgUp/PgDn). Keys that arrive
together (a held key, a slow SSH link, pasted input) all aimed at the same line: ten Downs
scrolled the page one line. Here each key moves the target at once, from where the last left it.
Every page of the app that scrolls by keys is one (VerticalKeyScroll where it scrolls up and
down only): the IPsec native page, the detail panes, help, the replay diff.
"""

from __future__ import annotations

from textual.actions import SkipAction
from textual.containers import ScrollableContainer, VerticalScroll


class KeyScroll(ScrollableContainer):
    """A ``ScrollableContainer`` whose keys scroll one line (or page) each, also in a burst."""

    def _scroll_by(self, dx: int = 0, dy: int = 0) -> None:
        if (dx and not self.allow_horizontal_scroll) or (dy and not self.allow_vertical_scroll):
            raise SkipAction()  # as Textual's own: the key goes on to an ancestor
        self.scroll_to(
            x=self.scroll_target_x + dx if dx else None,
            y=self.scroll_target_y + dy if dy else None,
            animate=False,
            immediate=True,
        )

    def action_scroll_down(self) -> None:
        """One line down."""
        self._scroll_by(dy=1)

    def action_scroll_up(self) -> None:
        """One line up."""
        self._scroll_by(dy=-1)

    def action_scroll_right(self) -> None:
        """One column right."""
        self._scroll_by(dx=1)

    def action_scroll_left(self) -> None:
        """One column left."""
        self._scroll_by(dx=-1)

    def action_scroll_home(self) -> None:
        """To the top; at the top already, to the left end too (as Textual's Home)."""
        if not (self.allow_vertical_scroll or self.allow_horizontal_scroll):
            raise SkipAction()
        self.scroll_home(x_axis=self.scroll_target_y == 0, animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        """To the bottom; at the bottom already, to the right end too."""
        if not (self.allow_vertical_scroll or self.allow_horizontal_scroll):
            raise SkipAction()
        at_end = self.scroll_target_y >= self.max_scroll_y
        self.scroll_end(x_axis=at_end, animate=False, immediate=True)

    def action_page_down(self) -> None:
        """One page down."""
        self._scroll_by(dy=self.scrollable_content_region.height)

    def action_page_up(self) -> None:
        """One page up."""
        self._scroll_by(dy=-self.scrollable_content_region.height)

    def scroll_pages(self, pages: int) -> None:
        """``pages`` pages down (up when negative) at once, for keys bound elsewhere (the
        connections screen pages its detail pane from the table); nothing when all is shown."""
        self.scroll_to(
            y=self.scroll_target_y + pages * self.scrollable_content_region.height,
            animate=False,
            immediate=True,
        )

    def action_page_right(self) -> None:
        """One page right."""
        self._scroll_by(dx=self.scrollable_content_region.width)

    def action_page_left(self) -> None:
        """One page left."""
        self._scroll_by(dx=-self.scrollable_content_region.width)


class VerticalKeyScroll(VerticalScroll, KeyScroll):
    """A ``VerticalScroll`` (it scrolls up and down only) whose keys add up as KeyScroll's.

    VerticalScroll first: Textual takes default CSS and CSS type names along first bases
    only. It defines no key actions, so KeyScroll's still come before ScrollableContainer's.
    """
