"""Starts the Textual app for the parsed command line (the only CLI path that loads Textual)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Final

from core import allocator
from core.commands import make_feed, options_from_args
from core.connections import PageRequest
from core.errors import UsageError
from core.sampling import Sampler

FIRST_SAMPLE_SWITCH_INTERVAL_S: Final = 0.001
"""How long a thread may hold the GIL while another waits, from before the first sample."""


def first_page_request(filter_text: str) -> PageRequest | None:
    """The first page the table will show: the saved order if a first page can be worked
    out for it (State) and no filter is given, as many rows as the terminal has lines."""
    from core.connections import PAGE_COLUMN
    from tui import prefs

    saved, _problem = prefs.load(prefs.prefs_path())
    if filter_text or saved.sort_column != PAGE_COLUMN:
        return None
    try:
        lines = os.get_terminal_size().lines
    except OSError:
        return None
    return PageRequest(rows=max(1, lines), reverse=saved.sort_reverse)


NO_TERMINAL: Final = (
    "the live view needs a terminal (on stdin and stderr); for output to a file or a pipe use "
    "`tcpscope connections` (one sample) or `tcpscope record FILE` (a stream of samples)"
)


def refuse_without_terminal() -> None:
    """Refuse to start the app where nobody can see or drive it (cron, ``< /dev/null``,
    ``2> file``): Textual would draw into a file and wait for keys forever.

    Raises:
        UsageError: stdin or stderr (where Textual draws) is not a terminal.
    """
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(NO_TERMINAL)


def launch(args: argparse.Namespace) -> int:
    """Build the feed first (so bad input fails before the screen changes), then run the app."""
    allocator.tune()  # before the first sample fills the heap
    # The detail pane asks for the one connection it shows: no tcp_info in every dump.
    feed = make_feed(options_from_args(args, every_tcp_info=False))
    refuse_without_terminal()
    # Before the first sample starts: its reader thread hands the parsing thread a reply per
    # 32 KiB, and with CPython's 5 ms switch interval each hand-over waits for the imports
    # below to yield the GIL (measured at 50k: the dump took 0.8-1.3 s instead of 0.2 s).
    # The app keeps the same interval once it runs (TcpscopeApp.on_mount).
    sys.setswitchinterval(FIRST_SAMPLE_SWITCH_INTERVAL_S)
    if isinstance(feed, Sampler):
        # The first sample goes on while Textual is imported; its first page comes first.
        feed.start_early(first_page_request(getattr(args, "filter", "") or ""))
    from tui.app import TcpscopeApp
    from tui.guarded_app import bound_terminal_size, end_process, exit_code

    bound_terminal_size()

    app = TcpscopeApp(
        feed,
        ghost_ttl_s=args.ghost_ttl,
        no_color=bool(os.environ.get("NO_COLOR")),
        hostname=getattr(feed, "endpoint", None),  # a remote feed: user@host (privilege)
        filter_text=getattr(args, "filter", "") or "",
    )
    result = app.run()
    end_process(exit_code(app, result))
