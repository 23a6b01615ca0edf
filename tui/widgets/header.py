"""The one-line header: host, source, interval, last sample time and age, PAUSED, privilege.

Why not Textual's Header: it shows a title and a clock; tcpscope's header must say how fresh
the data is and whether cells are hidden for lack of privilege. What it shows comes down from
the App's ``header`` reactive (:class:`tui.shell.HeaderState`); the age is computed from the
state's clock, so screenshots of a replay or a scripted feed do not depend on the wall clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from time import monotonic
from typing import Final

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from core.connections import NamespaceView, ReadBy
from core.netns import ALL_NETNS, CURRENT_NETNS
from tui import format as fmt
from tui.shell import HeaderState

AGE_TICK_S = 1.0
"""How often the age of the last sample is redrawn while no new state comes (a new state,
i.e. every sample, redraws it anyway)."""


HELD: Final = "(held under pop-up)"
"""In the place of the sample's age while a pop-up covers the screen (see :class:`HeaderBar`)."""

LIVE_SCOPE = "this network namespace"
"""What a live view covers when it reads no namespace but its own (``--netns current``)."""


def scope_words(view: NamespaceView | None, *, here: bool, others: bool = False) -> tuple[str, str]:
    """What a sample covers, and how many namespaces it could not read ("" when none): near
    the start of the header, where a narrow terminal does not cut it. ``here``: the sample is
    this machine's now (a remote feed's or a recording's own namespace alone says nothing:
    "this" would mean here). ``others``: the run reads other namespaces too; without a view
    (the first page, before the first whole sample) nothing is said, as the rows may come
    from several of them already.

    Why: on a container host the rows come from several namespaces (``--netns all``), and at
    80 columns the Namespace column does not fit; the header must not call that "this
    network namespace"."""
    if view is None:
        return (LIVE_SCOPE if here and not others else ""), ""
    if not view.present and view.selection not in (ALL_NETNS, CURRENT_NETNS):
        # The namespaces --netns named are fixed at start: none left means they are gone
        # (``ip netns del``, the container stopped), not an empty host.
        return f"--netns {fmt.safe(view.selection)}: gone", ""
    # Unmatched: nsfs files that may be namespaces already counted (NamespaceInfo.unmatched).
    words = [
        f"{n} {what}"
        for n, what in ((view.unreadable, "unreadable"), (view.unmatched, "unmatched"))
        if n
    ]
    unreadable = f" ({', '.join(words)})" if words else ""
    current = view.current
    if view.shown == 1 and current is not None and current.read_by is not ReadBy.UNREADABLE:
        return (LIVE_SCOPE if here else ""), unreadable
    return f"{view.shown} network namespace{'' if view.shown == 1 else 's'}", unreadable


_ATTEMPT: Final = re.compile(r"^(.*?attempt \d+)\b.*$", re.S)
"""A reconnection's words up to its attempt number: the stage or "failed" and the cause
after it is the first thing a narrow header drops (the connections screen says the cause
on a line of its own)."""


_ATTEMPT_WORDS: Final = re.compile(r": attempt (\d+)$")


def link_words(link: str, since: datetime | None, compact: int = 0, terse: int = 0) -> str:
    """A remote link's trouble, once, with when it began (the connections screen's banner
    says only its cause). ``compact`` >= 3 drops the attempt's stage or cause, >= 7 the
    words "disconnected — " before "reconnecting" (with the source): at 80 columns state,
    attempt and since still fit beside the host. Narrower, for a privilege note kept whole
    (:func:`fitted_header`): ``terse`` 1 says the attempt as ``#N``, 2 leaves it out."""
    words = fmt.safe(link)
    if compact >= 3:
        words = _ATTEMPT.sub(r"\1", words)
    if compact >= 7:
        words = words.removeprefix("disconnected — ")
        if terse:
            words = _ATTEMPT_WORDS.sub(r" #\1" if terse == 1 else "", words)
    return words if since is None else f"{words} since {fmt.clock(since)}"


class HeaderBar(Static):
    """Shows the App's :class:`HeaderState`; redraws when it changes, and every second
    while it does not (the age of the last sample).

    Held under a pop-up (:mod:`tui.covered`), it says so in the place of the age
    (:data:`HELD`): it read ``last 15:52:03 (0s ago)`` at 15:52:14 under the help while
    sampling went on. Kept live instead, each line of it made Textual write the whole help
    again (7.5 KB/s at 80x24 against 0), the cost the holding spares a slow link."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; }
    """

    held = False
    """Set by :meth:`hold` while a screen over this one hides it."""

    def on_mount(self) -> None:
        """Follow the App's header state."""
        self._state: HeaderState | None = None
        self._shown: Text | None = None
        self._shown_at = 0.0
        self.watch(self.app, "header", self.show, init=True)
        self.set_interval(AGE_TICK_S, self._tick)

    def _tick(self) -> None:
        # Only when no state came for a whole tick: at 1 Hz every sample redraws the line,
        # and a tick of its own in between cost a frame of its own (measured at 50k rows:
        # one of the 4-5 frames a second).
        if self._state is not None and monotonic() - self._shown_at >= AGE_TICK_S:
            self.show(self._state)

    def on_resize(self) -> None:
        """A new width may need a more (or less) compact line."""
        state: HeaderState | None = getattr(self, "_state", None)  # a resize may come first
        if state is not None:
            self._draw(state)

    def show(self, state: HeaderState | None) -> None:
        """Redraw from ``state``; host and source are untrusted-safe text. The line is made
        more compact, step by step, until it fits the width: at 80 columns the full wording
        cut off the sample's age, PAUSED and the privilege note, the words that say whether
        the rows can be trusted now."""
        self._state = state
        self._shown_at = monotonic()
        if state is not None and not self.held:
            self._draw(state)

    def _draw(self, state: HeaderState) -> None:
        text = fitted_header(state, self.size.width, held=self.held)
        if text == self._shown:
            return  # the same line (samples within one second): not written to the terminal again
        self._shown = text
        self.update(text, layout=False)  # always one line: no relayout

    def hold(self, held: bool) -> None:
        """Stop drawing new states (``held``: the line says so once, in the place of the
        age), or draw the latest again. Why: Textual redraws every line of a screen over this
        one when a line beneath it is redrawn (the IPsec counter detail, which hides the
        whole list at 80x24: ~12 KB/s, for this clock)."""
        self.held = held
        state: HeaderState | None = getattr(self, "_state", None)
        if state is not None:
            self._draw(state)


COMPACT_STEPS = 13
"""How many ways :func:`header_line` has to shorten the line, applied in this order."""

HOST_MIN_CELLS: Final = 8
"""A long host label is cut (with "…") to no fewer cells than this before whole parts go."""


def fitted_header(state: HeaderState, width: int, *, held: bool = False) -> Text:
    """The header for ``width`` cells (0: not laid out yet, the full line): the fewest
    shortenings that fit. When even the shortest line does not, the rest gives way to the
    words that say whether the rows are current: the age, PAUSED and the privilege note,
    and while a remote link is down its state, attempt and since (which stand for the age).
    A long host label is cut first (to :data:`HOST_MIN_CELLS`; a remote feed's user@host,
    its privilege kept whole: see :func:`host_parts`), then the scope goes whole,
    then the stretch note (the rows come slower than asked), then that privilege note. Cutting by
    cells made "(3 unreadab…", "(stre…" and "reconnecting: …", which said nothing; only a
    terminal too narrow for the name, the shortest host and those words is still cut at the
    end. ``held``: :data:`HELD` in the place of the age (see :class:`HeaderBar`)."""
    text = fmt.fitted(partial(header_line, state, held=held), COMPACT_STEPS, width)
    if not width or text.cell_len <= width:
        return text
    tail = _tail(state, COMPACT_STEPS, held)
    host = cell_len(host_parts(fmt.safe(state.host))[0])
    ways: list[tuple[bool, bool, bool, int, int]] = [
        (True, True, True, 0, HOST_MIN_CELLS),
        (False, True, True, 0, HOST_MIN_CELLS),
        (False, False, True, 0, HOST_MIN_CELLS),
    ]
    if state.link:
        # While a link is down its words stay in the head: before the privilege goes,
        # the attempt is said as "#N", then user@host goes (whole if need be), then the
        # attempt (at 60 columns "(root via sudo)" was dropped for "rvremot…").
        ways += [(False, False, True, 1, HOST_MIN_CELLS), (False, False, True, 1, 0)]
        ways += [(False, False, True, 2, 0)]
    ways.append((False, False, False, 0, HOST_MIN_CELLS))
    for scope, stretch, note, terse, floor in ways:
        head_of = partial(
            _head, state, COMPACT_STEPS, scope=scope, stretch=stretch, privilege=note, terse=terse
        )
        head = head_of()
        cut = host - (_joined(head, tail).cell_len - width)
        cells = max(cut if cut > 1 else 0, floor)  # "…" alone names no host: none then
        if cells < host:  # (a host shorter than the floor was padded to it)
            head = head_of(host_cells=cells)
        line = _joined(head, tail)
        if line.cell_len <= width:
            return line
    return line  # not even the name, the shortest host and the tail fit: cut at the end


_NOTE: Final = re.compile(r"^(\S+)( \([^()]+\))$")
"""``user@host (root via sudo)``: a remote feed's label and its privilege (neither can hold a
space or a parenthesis: core.remote.target checks user and host)."""


def host_parts(host: str) -> tuple[str, str]:
    """The host label and a privilege note after it (" (root via sudo)", else ""): the label
    is cut, the note is never cut but only left out whole, last ("revremote@lab (root …"
    could not tell root from root via sudo, and "revremote@10.…" lost it)."""
    match = _NOTE.match(host)
    return (match.group(1), match.group(2)) if match else (host, "")


def header_line(state: HeaderState, compact: int = 0, *, held: bool = False) -> Text:
    """The header's text; ``compact`` > 0 applies the first ``compact`` shortenings: "source "
    goes, then "last ", the stretch note's reason, the interval, the scope's "network
    namespace" becomes "netns", "privileged cells hidden" becomes "cells hidden", the source
    goes, the sample's clock time (its age stays; a remote link's "since" replaces both
    while it is down), the "(N unmatched)" count (nsfs files that may be namespaces already
    counted), "stretched to 2.3s" becomes "stretched 2.3s", then "stretched", then "(N
    unreadable)" becomes "(N unread.)", and last that count goes. A remote
    link's trouble loses its stage with the stretch note's reason and "disconnected — " with
    the source (see :func:`link_words`). Nothing that tells whether the rows are current is
    ever dropped; a line still too long is cut before the age (:func:`fitted_header`), never
    wrapped out of sight."""
    return _joined(_head(state, compact), _tail(state, compact, held))


def _joined(head: Text, tail: Text) -> Text:
    """One line of ``head`` and ``tail``; while a link is down the tail may be empty, and
    the head's last two spaces then end nothing (they made the line two cells longer)."""
    text = Text.assemble(head, tail, no_wrap=True, overflow="ellipsis")
    text.rstrip()
    return text


def _link_since(state: HeaderState) -> datetime | None:
    """Since when a remote link is down (None: no link, or it is up)."""
    snap = state.snapshot
    return snap.error.since if state.link and snap is not None and snap.error else None


def _head(
    state: HeaderState,
    compact: int,
    *,
    host_cells: int | None = None,
    scope: bool = True,
    stretch: bool = True,
    privilege: bool = True,
    terse: int = 0,
) -> Text:
    """What comes before the age: name, host, link, scope, source, interval, stretch note.
    For a line that is still too long (:func:`fitted_header`): the host cut to
    ``host_cells`` (0: left out), the scope (``scope``), the stretch note (``stretch``) or
    the host's privilege note (``privilege``) left out, the link's attempt shortened
    (``terse``, see :func:`link_words`)."""
    snap = state.snapshot
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("tcpscope", style="bold")  # kept: scripts and people find the app by it
    text.append("  ")
    host, note = host_parts(fmt.safe(state.host))
    shown = host if host_cells is None else fmt.fit(host, host_cells)
    text.append(f"{shown}{note if privilege else ''}".lstrip() + "  ")
    if state.link:
        words = link_words(state.link, _link_since(state), compact, terse)
        text.append(words, style="bold reverse")
        text.append("  ")
    if snap is not None and scope:
        _append_scope(text, state, snap.namespaces, compact)
    source = fmt.safe(state.source)
    if compact < 7:
        text.append(f"{source if compact >= 1 else 'source ' + source}  ")
    if compact < 4:
        text.append(f"every {state.interval_s:g}s  ")
    stats = snap.stats if snap is not None else None
    if stretch and stats is not None and stats.stretched_interval_s is not None:
        # The sampler keeps up by itself; say so, and why, rather than fall behind silently.
        took = stats.sample_ms / 1000
        stretched = f"{stats.stretched_interval_s:.1f}s"
        if compact >= 11:
            note = "(stretched)"
        elif compact >= 10:
            note = f"(stretched {stretched})"
        else:
            why = "" if compact >= 3 else f": a sample takes {took:.1f}s"
            note = f"(stretched to {stretched}{why})"
        text.append(f"{note}  ", style="bold")
    return text


def _append_scope(text: Text, state: HeaderState, view: NamespaceView | None, compact: int) -> None:
    """The scope and its unreadable/unmatched counts, shortened per ``compact``."""
    scope, unreadable = scope_words(view, here=state.live, others=state.other_namespaces)
    if compact >= 5:
        scope = scope.replace("network namespaces", "netns").replace("network namespace", "netns")
    if compact >= 9 and view is not None and view.unmatched:
        # Maybe namespaces already counted: the least sure words; unreadable ones stay.
        unreadable = f" ({view.unreadable} unreadable)" if view.unreadable else ""
    if compact >= 12 and view is not None and view.unreadable:
        # Still too long: the stretch note keeps its word; the count goes, whole, after it.
        unreadable = "" if compact >= 13 else f" ({view.unreadable} unread.)"
    if scope or unreadable:
        text.append(scope)
        text.append(unreadable, style="italic")
        text.append("  ")


def _tail(state: HeaderState, compact: int, held: bool = False) -> Text:
    """The words that say whether the rows are current: the sample's age (``held``:
    :data:`HELD`, an age that would stop), PAUSED, the privilege note (kept whole by
    :func:`fitted_header`)."""
    snap = state.snapshot
    text = Text(no_wrap=True, overflow="ellipsis")
    if snap is None:
        text.append("reading the first sample…")
    elif _link_since(state) is not None:
        pass  # the link's "since" says when the rows stopped coming: the age would repeat it
    else:
        seconds = max(0.0, (state.clock() - snap.time).total_seconds())
        late = seconds > max(2.5 * state.interval_s, state.interval_s + 2) and not state.paused
        text.append("" if compact >= 2 else "last ")
        if compact < 8:  # a long host label and unreadable namespaces: the age says enough
            text.append(f"{fmt.clock(snap.time)} ")
        if held:
            text.append(HELD, style="italic")
        else:
            text.append(f"({seconds:.0f}s ago)", style="bold reverse" if late else "")
    if state.paused:
        text.append("  " if text.plain else "")  # no age while a link is down: no gap
        text.append("PAUSED", style="bold reverse")
    if snap is not None and snap.privilege.limited:
        note = "cells hidden" if compact >= 6 else "privileged cells hidden"
        text.append("  " if text.plain else "")
        text.append(note, style="italic")
    return text
