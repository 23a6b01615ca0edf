"""The IPsec screen: MSiSCSI_MMIPSECStats counters per provider, and a native/SA view.

Why: it shows the 21 Windows-shaped counters with rates, sparklines and provenance, and, on
``n``, what the sources natively say (native counters, IKE and CHILD SAs). It renders core's
``IpsecView`` from each snapshot and computes nothing: rates, resets, peaks and history come from
``core.ipsec.sampling``. Provider failures (socket missing, permission denied, daemon gone) are
shown in the provider's header line and clear themselves when the provider is back. While a
remote feed's link is down the last view received stays, marked not live (dimmed, no rates,
no provider active) with the reason in a banner: nothing is measured during the outage.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, Static

from core.ipsec import CounterRow, IpsecView, ProviderView, daemons_first
from tui import bindings
from tui import format as tfmt
from tui.covered import CoverHeld
from tui.footer import KeysFooter
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.ipsec_table import CounterRowView, CounterTable
from tui.ipsec.native_page import NativePage, failure_banner
from tui.ipsec.sa_list import NativeTable, SaList
from tui.replay.controls import ReplayBar
from tui.shell import HeaderState, shell_of
from tui.toasts import dismiss_toasts, say_filter_cleared
from tui.widgets.filter_bar import FilterBar
from tui.widgets.header import HeaderBar

NARROW = 100
"""Below this many columns the rows drop the kind and provider cells (see ipsec.tcss)."""
FILTER_HINT = "counter name, e.g. failures — Enter applies, Esc clears"
NO_IPSEC = "IPsec sampling is off (--no-ipsec) or has not produced a sample yet."
NO_IPSEC_YET = "No IPsec values were recorded up to this sample."


def providers_line(
    view: IpsecView, current: str | None = None, width: int | None = None, *, live: bool = True
) -> Text:
    """``IPsec providers: ● strongswan  ● kernel`` — which providers are active, the IKE
    daemons first as their sections are; ``current`` (the provider of the counter row with the
    cursor) is shown reversed.

    Why mark it: at 80x24 one provider's 21 rows fill the screen, and below 100 columns the
    rows have no provider cell; scrolled past its section header, this line still says whose
    counters the cursor is on. An inactive provider's reason is added when the line still fits
    ``width``: its section says it in full, and a second line here would push a row off 80x24.
    Not ``live`` (the link to the server is down): no provider is known to be active now.
    """
    providers = daemons_first(view.providers)
    for reasons in (True, False):
        text = Text("IPsec providers: ", style="bold")
        for i, p in enumerate(providers):
            if i:
                text.append("  ")
            active = p.available and p.stats.active
            if not live:
                text.append("◌ ", style="dim")
                text.append(tfmt.safe(p.name), style="dim reverse" if p.name == current else "dim")
                if reasons:
                    text.append(" (not live)", style="italic")
                continue
            text.append("● " if active else "✗ ", style="green" if active else "red")
            text.append(tfmt.safe(p.name), style="reverse" if p.name == current else "")
            if not active and reasons:
                why = tfmt.safe(p.error) if p.error else "not available"
                text.append(f" ({why})", style="italic")
        if not providers:
            text.append("none configured", style="italic")
        if width is None or text.cell_len <= width:
            break
    return text


class IpsecScreen(CoverHeld, Screen[None]):
    """Counters (default) or native counters and SAs, of the latest IPsec view (held still
    under a screen pushed over it, see :mod:`tui.covered`; an open detail is fed)."""

    CSS_PATH = "../styles/ipsec.tcss"
    # The counters, as the screen opens. (None took the App's "*": the first focusable widget,
    # the hidden filter input, which the letters read with the `2` were then typed into.)
    AUTO_FOCUS = "#ipsec-counters"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail", id="ipsec.open", tooltip="Explain this counter"),
        Binding(
            "n",
            "toggle_native",
            "Native/SAs",
            id="ipsec.native",
            tooltip="Switch between the 21 counters and the native counters with SAs",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="ipsec.filter",
            tooltip="Show only counters whose name contains the text",
        ),
        Binding("escape", "escape", "Clear filter", id="ipsec.clear", show=False),
        bindings.show_screen("connections", footer=True),
        # Screen's own Tab (focus next) would shadow the App's screen switch; say it here.
        bindings.next_screen(),
    ]

    native: reactive[bool] = reactive(False)
    """True while the native counters and SA list are shown instead of the 21 counters."""

    def __init__(self) -> None:
        """Built by the App's screen registry; snapshots arrive through the App's reactive."""
        super().__init__(id="ipsec")
        self.view: IpsecView | None = None
        self._shown: tuple[IpsecView, str | None] | None = None
        """The view the list shows, and :attr:`stale` then (older while covered)."""
        self._detail: CounterDetailScreen | None = None
        self._providers_text: Text | None = None
        self._row_focus: CounterRowView | None = None
        self._current: str | None = None
        """The provider of the counter row with the cursor (marked on the providers line)."""
        self.stale: str | None = None
        """Why the view shown is not live (a remote link down), or None."""

    def compose(self) -> ComposeResult:
        """Header, providers line, filter, the two switchable views, footer."""
        yield HeaderBar(id="header")
        replay = shell_of(self).replay
        if replay is not None:
            yield ReplayBar(replay.feed, replay.marks, id="replay-bar")
        yield Static(NO_IPSEC, id="ipsec-providers")
        yield Static(id="banner")
        yield FilterBar(id="ipsec-filter", submitted=self._filter_submitted, escape="screen.escape")
        with ContentSwitcher(initial="ipsec-counters", id="ipsec-switcher"):
            yield CounterTable(id="ipsec-counters")
            with Vertical(id="ipsec-native-view"):
                # Above the page: its sideways scroll would cut a failure's words at their start.
                yield Static(id="native-banner", classes="native-banner", markup=False)
                # One page scrolled as a whole (both ways): the tables take no focus of their own.
                with NativePage(id="ipsec-native"):
                    yield Static("Security associations", classes="ipsec-section-title")
                    yield SaList(id="ipsec-sa-list")
                    yield Static("Native counters", classes="ipsec-section-title")
                    yield NativeTable(id="ipsec-native-table")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        """Give the filter input this screen's hint, then follow the App's snapshots."""
        self.query_one("#filter-input", Input).placeholder = FILTER_HINT
        self.query_one(CounterTable).focus()
        self.set_class(self.size.width < NARROW, "-narrow")
        self.watch(self.app, "ipsec_view", self._view_changed, init=True)
        self.watch(self.app, "header", self._header_changed, init=True)

    def on_resize(self) -> None:
        """Drop or restore the optional row cells; the providers line fits the new width."""
        self.set_class(self.size.width < NARROW, "-narrow")
        self._show_providers()

    # --- data ----------------------------------------------------------------------
    def _view_changed(self, view: IpsecView | None) -> None:
        if view is not None:
            self.show_view(view)
        elif self.view is not None:
            self._show_none()

    def _show_none(self) -> None:
        """A replay sought back before its first IPsec view: no values are known for this
        sample, and a later sample's must not stay shown as if they were its."""
        self.view = None
        self._providers_text = None
        self.query_one("#ipsec-providers", Static).update(NO_IPSEC_YET)
        self.query_one("#banner", Static).display = False
        self.query_one(ContentSwitcher).display = False

    def _header_changed(self, state: HeaderState | None) -> None:
        """A remote feed's link went down or came back: the view shown is live or not."""
        stale: str | None = None
        if state is not None and state.link is not None:
            error = state.snapshot.error if state.snapshot is not None else None
            stale = error.message if error is not None else state.link
        if stale != self.stale:
            self.stale = stale
            if self.view is not None:
                self.show_view(self.view)

    def _show_banner(self) -> None:
        """Why the counters are not live: the link's state and what it does now, and that
        the values shown are the last received (the connections screen, whose rows say so
        as ghosts, shows the cause alone)."""
        banner = self.query_one("#banner", Static)
        if self.stale is None or self.view is None:
            banner.display = False
            return
        text = Text()
        text.append(" not live: ", style="bold")
        text.append(tfmt.safe(self.stale))
        text.append(
            f" — showing the last IPsec values received, at {tfmt.clock(self.view.time)}; "
            "no rates until the link is back",
            style="italic",
        )
        banner.update(text)
        banner.display = True

    def show_view(self, view: IpsecView) -> None:
        """Render one IPsec view on both sub-views, or in the detail while one is open.

        Why not beneath an open detail (or any screen over this one) too: Textual then writes
        every line of the screen on top again (see :mod:`tui.covered`). The list shows the
        latest view when it is on top again."""
        self.view = view
        if self._detail is not None:
            self._show_detail(view, self._detail)
        if self.covered:
            return
        self._shown = (view, self.stale)
        switcher = self.query_one(ContentSwitcher)
        if not switcher.display:  # back from a sample with no view (see _show_none)
            switcher.display = True
            self.call_after_refresh(self._refocus)
        self._show_providers()
        self._show_banner()
        self.query_one(CounterTable).show(view.providers, self.stale)
        if self.native:
            self._show_native(view.providers)

    def _show_detail(self, view: IpsecView, detail: CounterDetailScreen) -> None:
        """The detail's counter in ``view`` (while its provider has it)."""
        row = _find_row(view, detail.provider, detail.counter)
        if row is not None:
            detail.show(row, _versions(view), self.stale, *_axis(view, detail.provider))

    def uncovered(self) -> None:
        """The latest view, held while a screen was over this one."""
        shown = self._shown
        if self.view is not None and (
            shown is None or shown[0] is not self.view or shown[1] != self.stale
        ):
            self.show_view(self.view)

    def _refocus(self) -> None:
        """The cursor back on the sub-view shown (hiding it had taken the focus away)."""
        if self.focused is not None:
            return
        if self.native:
            self.set_focus(self.query_one(NativePage))
        else:
            self.query_one(CounterTable).focus_first()

    def _show_providers(self) -> None:
        if self.view is None:
            return
        widget = self.query_one("#ipsec-providers", Static)
        width = widget.size.width or None  # (0 before the first layout: reasons included)
        current = None if self.native else self._current
        line = providers_line(self.view, current, width, live=self.stale is None)
        if line != self._providers_text:
            self._providers_text = line
            widget.update(line)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The cursor moved: mark its row's provider on the providers line."""
        widget = event.widget
        if isinstance(widget, CounterRowView) and widget.provider != self._current:
            self._current = widget.provider
            self._show_providers()

    def _show_native(self, providers: tuple[ProviderView, ...]) -> None:
        """SAs and native counters, the IKE daemon's before the kernel's (as the counters)."""
        ordered = tuple(daemons_first(providers))
        live = self.stale is None
        self.query_one(NativeTable).show(ordered, live=live)
        self.query_one(SaList).show(ordered, live=live)
        banner = self.query_one("#native-banner", Static)
        text = failure_banner(ordered, shell_of(self).tcpscope_words)
        banner.update(text)
        banner.display = bool(text)
        # Fewer SAs or columns than before: not left scrolled past them, once laid out.
        self.call_after_refresh(self.query_one(NativePage).keep_in_content)

    # --- actions -------------------------------------------------------------------
    def watch_native(self, native: bool) -> None:
        """Switch the visible sub-view (filling the native one on the way in)."""
        switcher = self.query_one(ContentSwitcher)
        switcher.current = "ipsec-native-view" if native else "ipsec-counters"
        self._show_providers()  # no row has the cursor in the native view
        if native:
            # Keys must not reach a hidden counter row (Enter would open its detail).
            focused = self.focused
            self._row_focus = focused if isinstance(focused, CounterRowView) else None
            # Now, not queued: a key right behind ``n`` scrolls the page, not a hidden row.
            self.set_focus(self.query_one(NativePage))
            if self.view is not None:
                self._show_native(self.view.providers)
        elif self._row_focus is not None and self._row_focus.is_attached:
            # Its daemon may have gone while the native view was shown: then a row near it.
            self.query_one(CounterTable).focus_near(self._row_focus)
        else:
            self.query_one(CounterTable).focus_first()

    def action_toggle_native(self) -> None:
        """Counters ↔ native counters and SAs."""
        self.native = not self.native

    def action_filter(self) -> None:
        """Open the filter input with the current filter."""
        if self.native:
            self.native = False
        self.query_one(FilterBar).edit(self.query_one(CounterTable).filter_text)

    def action_escape(self) -> None:
        """Dismiss the toasts shown, else clear the filter (as the connections screen: Esc
        pressed to get rid of a toast cleared the filter too, unseen)."""
        if not dismiss_toasts(self):
            self.action_clear_filter()

    def action_clear_filter(self) -> None:
        """Drop the filter and close the input, and say which filter it was."""
        was = self.query_one(CounterTable).filter_text
        self._filter_submitted("")
        say_filter_cleared(self, was)

    def _filter_submitted(self, text: str) -> None:
        """Enter in the filter (Escape: ``""``): applied, the bar closed and the counters
        focused now, so that the keys read with the Enter act on them, not on the input."""
        bar = self.query_one(FilterBar)
        bar.close()
        bar.show_active(text)
        table = self.query_one(CounterTable)
        table.apply_filter(text)
        if table.focus_first() is None:  # no counter matches: the list, not the closed input
            self.set_focus(table)

    @on(Input.Changed, "#filter-input")
    def _filter_typed(self, event: Input.Changed) -> None:
        # Filtering 21 names is cheap: narrow the list while the user types. Only while the
        # input is open: a closed one's text is not what the filter line shows.
        if self.query_one(FilterBar).editing:
            self.query_one(CounterTable).apply_filter(event.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter (Detail) is a counter row's key: not shown nor run elsewhere."""
        if action == "open":
            return isinstance(self.focused, CounterRowView)
        return True

    def action_open(self) -> None:
        """The detail of the counter with the cursor, pushed now.

        Why here and at once, not from a message the row posts: keys read with the Enter (a
        slow SSH link, pasted input) are bound after it; while the push waited in a queue,
        their Downs moved the list under the detail, which then opened unscrolled.
        """
        focused = self.focused
        if self.view is None or not isinstance(focused, CounterRowView):
            return
        row = _find_row(self.view, focused.provider, focused.counter)
        if row is None:
            return
        self._detail = CounterDetailScreen(row, _versions(self.view))
        axis = _axis(self.view, focused.provider)
        self._detail.show(row, _versions(self.view), self.stale, *axis)
        self.app.push_screen(self._detail, callback=self._detail_closed)

    def _detail_closed(self, _result: None) -> None:
        """Back to the list (which shows the latest view: :meth:`uncovered`)."""
        self._detail = None


def _find_row(view: IpsecView, provider: str, counter: str) -> CounterRow | None:
    try:
        return view.row(provider, counter)
    except KeyError:
        return None


def _axis(view: IpsecView, provider: str) -> tuple[int, int]:
    """The sample number of the newest history entry of ``provider``'s rows and the samples
    a full history holds (0: not known): its sparklines' time axis. By the section's
    provider, not the row's own field: it names the same provider in every view the decoder
    lets through, and a view that did not cannot stop the app (KeyError)."""
    provider_view = view.provider(provider)
    return provider_view.sample_no, provider_view.history_len


def _versions(view: IpsecView) -> dict[str, str | None]:
    return {p.name: p.version for p in view.providers}
