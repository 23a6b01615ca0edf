"""The modal that explains one IPsec counter; ``Esc`` or ``Enter`` (which opened it) closes it.

Why a modal: the counter list stays where it was (cursor, filter, scroll) underneath, and the
detail keeps refreshing because the IPsec screen forwards every new view to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen

from core.ipsec import CounterRow
from tui import bindings
from tui.covered import CoverHeld
from tui.footer import KeysFooter
from tui.ipsec.counter_detail import CounterDetail


class CounterDetailScreen(CoverHeld, ModalScreen[None]):
    """Detail of one counter of one provider (held still under the help: see
    :mod:`tui.covered`)."""

    CSS_PATH = "../styles/ipsec.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,enter",
            "close",
            "Close",
            id="ipsec.detail.close",
            key_display="esc/⏎",  # the footer shows one key per action: name both
            tooltip="Back to counters",
        ),
        # A modal blocks the App's keys: bound here too, so ``?`` opens help over the detail.
        bindings.HELP,
    ]

    def __init__(self, row: CounterRow, versions: Mapping[str, str | None]) -> None:
        """Open on ``row`` (the counter's latest sample)."""
        super().__init__(classes="ipsec-detail-screen")
        self.provider = row.provider
        self.counter = row.name
        self._row = row
        self._versions = dict(versions)
        self._stale: str | None = None
        self._sample_no = 0
        self._history_len = 0
        self._pending = False
        """A sample came while covered: drawn when on top again."""

    def compose(self) -> ComposeResult:
        """The detail pane in a frame, and the footer."""
        with Vertical(id="ipsec-detail-frame"):
            yield CounterDetail(self.provider, self.counter, id="ipsec-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        """Show the row the modal was opened on."""
        self._draw()

    def show(
        self,
        row: CounterRow,
        versions: Mapping[str, str | None],
        stale: str | None = None,
        sample_no: int = 0,
        history_len: int = 0,
    ) -> None:
        """Refresh with the counter's newest sample (``stale``: why it is not live;
        ``sample_no``, ``history_len``: its provider view's, see :meth:`CounterDetail.show`)."""
        self._row, self._versions, self._stale = row, dict(versions), stale
        self._sample_no, self._history_len = sample_no, history_len
        self._pending = True
        if self.is_mounted and not self.covered:
            self._draw()

    def uncovered(self) -> None:
        """The newest sample, held while the help was over the detail."""
        if self._pending:
            self._draw()

    def _draw(self) -> None:
        self._pending = False
        self.query_one(CounterDetail).show(
            self._row, self._versions, self._stale, self._sample_no, self._history_len
        )

    def action_close(self) -> None:
        """Back to the counter list."""
        self.dismiss(None)
