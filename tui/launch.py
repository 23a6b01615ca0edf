"""Starts the Textual app for the parsed command line (the only CLI path that loads Textual)."""

from __future__ import annotations

import argparse
import os

from core.commands.feeds import FeedOptions, make_feed


def options_from(args: argparse.Namespace) -> FeedOptions:
    """The feed options the top-level flags describe."""
    return FeedOptions(
        source=args.source,
        netns=args.netns,
        interval_s=args.interval,
        ghost_ttl_s=args.ghost_ttl,
        ipsec=not args.no_ipsec,
        provider=args.provider,
        vici=args.vici,
        replay=args.replay,
        demo=args.demo,
        seed=args.seed,
        redact=args.redact,
        every_tcp_info=False,  # the detail pane asks for the one connection it shows
    )


def launch(args: argparse.Namespace) -> int:
    """Build the feed first (so bad input fails before the screen changes), then run the app."""
    feed = make_feed(options_from(args))
    from tui.app import run_app

    no_color = bool(os.environ.get("NO_COLOR"))
    return run_app(
        feed,
        ghost_ttl_s=args.ghost_ttl,
        no_color=no_color,
        filter_text=getattr(args, "filter", "") or "",
    )
