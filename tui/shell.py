"""What a screen may ask of the app shell, typed without importing :mod:`tui.app`.

Why a Protocol: screens need a few shared facts (preferences, the ghost TTL, the replay
controls) and two ways to act (save preferences, say whose tcp_info is on screen). Typing
``self.app`` as the concrete App would make every screen import ``tui.app``, which imports the
screens: a cycle. The App implements this Protocol; screens only know the Protocol. Data that
changes over time does not come through here: it flows down through the App's reactives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.dom import DOMNode

from core.connections import Snapshot
from tui.prefs import Prefs

if TYPE_CHECKING:
    from tui.replay.controls import ReplayControls


@dataclass(frozen=True, slots=True)
class HeaderState:
    """Everything the one-line header shows, published by the App as one reactive value."""

    host: str
    source: str
    interval_s: float
    paused: bool
    snapshot: Snapshot | None
    clock: Callable[[], datetime]
    """"Now" for the age of the last sample (wall clock live, recorded time in a replay)."""
    link: str | None = None
    """A remote feed's trouble with its connection (``disconnected — reconnecting``)."""
    link_cause: str | None = None
    """Why that link is down (``connection refused (ssh: …)``), said below the header: the
    header has room for the state, attempt and since only."""
    live: bool = False
    """This machine's data now: the header says what it covers (this network namespace)."""
    other_namespaces: bool = False
    """The live run reads namespaces besides its own (``--netns all``, or named ones): no
    "this network namespace" before a sample says which ones the rows come from."""


class Shell(Protocol):
    """The App as screens see it."""

    prefs: Prefs
    ghost_ttl_s: float
    replay: ReplayControls | None
    actions_off: str | None
    """Why ending a process is off (replay, demo, --redact, --remote), or None."""
    remote: bool
    """The rows are another host's (``--remote``): closing and ending are never offered."""
    own_namespace: str
    """What to call the namespace the sampler ran in (core.commands.own_namespace_words)."""
    tcpscope_words: str
    """How a hint says to run tcpscope for the host shown (``tcpscope --remote web1``:
    core.commands.tcpscope_words)."""
    close_off: str | None
    """Why closing a connection is off: as for :attr:`actions_off` (over --remote pointing to
    the CLI's ``close``), or no CAP_NET_ADMIN (the kernel would refuse every close), or None.
    Ending a process may still work (one's own)."""
    initial_filter: str
    """The connections filter this run starts with (``--filter``; never saved)."""

    def update_prefs(self, **changes: Any) -> None:
        """Change and save preferences."""
        ...

    def show_tcp_info_for(self, instance_ids: Collection[str]) -> None:
        """Tell the feed whose tcp_info is on screen."""
        ...


def shell_of(node: DOMNode) -> Shell:
    """The App that runs ``node``, as the shell Protocol."""
    return cast(Shell, node.app)
