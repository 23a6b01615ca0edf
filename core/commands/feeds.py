"""Picks the feed a run shows: live sampler, recording, or demo — decided in one place.

The app, the recorder and the tests ask this module for a :class:`core.sampling.feed.Feed` and never
branch on where the data comes from themselves.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import UsageError
from core.sampling import Feed, IpsecSampling, Sampler, check_interval

if TYPE_CHECKING:
    from core.remote import RemoteTarget


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """What the command line says about the data to show."""

    source: str = "auto"
    netns: str | None = None
    """``--netns`` (see core.netns.select); None: tcpscope's own namespace only."""
    interval_s: float = 1.0
    ghost_ttl_s: float = 5.0
    ipsec: bool = True
    provider: str = "auto"
    vici: str | None = None
    replay: str | None = None
    demo: bool = False
    seed: int = 1
    redact: bool = False
    every_tcp_info: bool = True
    """Every connection's tcp_info in every live sample (recording); False: the app's
    choice, tcp_info only for the connection it shows (see core.sampling.feed.WatchesTcpInfo)."""
    remote: RemoteTarget | None = None
    """Sample on this server over SSH (``--remote``) instead of here."""
    recorded: bool = False
    """The feed is written to a recording (``record``): a remote link's drop is then one
    stale sample, not every connection closed (see core.remote.feed)."""


def options_from_args(
    args: argparse.Namespace,
    *,
    every_tcp_info: bool,
    interval_s: float | None = None,
    ipsec: bool = True,
    redact: bool = False,
) -> FeedOptions:
    """The feed options the top-level flags describe, with a subcommand's own overrides.

    Why one function: the app, ``record`` and ``metrics`` read the same global flags; a
    subcommand may give its own interval, turn IPsec off or ask for redaction on top.
    """
    from core.remote import target_from

    if getattr(args, "demo", False) and getattr(args, "replay", None) is not None:
        # Both say where the rows come from; neither may win silently.
        raise UsageError("--demo cannot be combined with --replay")
    interval = interval_s if interval_s is not None else getattr(args, "interval", 1.0)
    return FeedOptions(
        source=getattr(args, "source", "auto"),
        netns=getattr(args, "netns", None),
        interval_s=check_interval(float(interval)),
        ghost_ttl_s=getattr(args, "ghost_ttl", 5.0),
        ipsec=ipsec and not getattr(args, "no_ipsec", False),
        provider=getattr(args, "provider", "auto"),
        vici=getattr(args, "vici", None),
        replay=getattr(args, "replay", None),
        demo=bool(getattr(args, "demo", False)),
        seed=getattr(args, "seed", 1),
        redact=redact or bool(getattr(args, "redact", False)),
        every_tcp_info=every_tcp_info,
        remote=target_from(args),
    )


def ipsec_sampler(options: FeedOptions) -> IpsecSampling | None:
    """The live IPsec sampler for ``options``, or None when IPsec is off."""
    if not options.ipsec:
        return None
    from core.ipsec import IpsecSampler, check_vici_path, get_providers

    # Before the screen changes, in the same words as `tcpscope ipsec --vici`.
    check_vici_path(options.vici)
    providers = get_providers(options.provider, options.vici)
    return IpsecSampler(providers, interval_s=options.interval_s)


def make_feed(options: FeedOptions) -> Feed:
    """The feed for ``options`` (raises MonitorError on bad input, e.g. a corrupt recording)."""
    feed: Feed
    if options.replay is not None:
        from core.recording import open_replay

        feed = open_replay(options.replay)
    elif options.remote is not None:
        from core.remote import open_remote_feed, stream_config

        feed = open_remote_feed(
            options.remote,
            stream_config(
                interval_s=options.interval_s,
                ghost_ttl_s=options.ghost_ttl_s,
                ipsec=options.ipsec,
                provider=options.provider,
                vici=options.vici,
                every_tcp_info=options.every_tcp_info,
                netns=options.netns,
            ),
            recording=options.recorded,
        )
    elif options.demo:
        from core.demo import demo_feed

        feed = demo_feed(options.seed, interval_s=options.interval_s, ipsec=options.ipsec)
    else:
        from core.connections import get_source
        from core.netns import namespace_dumps

        ipsec = ipsec_sampler(options)
        feed = Sampler(
            get_source(
                options.source,
                tcp_info=options.every_tcp_info,
                namespaces=namespace_dumps(options.netns, tcp_info=options.every_tcp_info),
            ),
            interval_s=options.interval_s,
            ghost_ttl_s=options.ghost_ttl_s,
            ipsec=ipsec,
        )
    if options.redact:
        from core.recording import RedactingFeed

        feed = RedactingFeed(feed)
    return feed


def actions_off(feed: Feed, kind: str) -> str | None:
    """Why ``kind`` ("close" a connection or "terminate" a process) is off for the connections
    ``feed`` shows, or None.

    A replay, the demo or ``--remote`` shows sockets that are not this host's now; under
    ``--redact`` the table shows pseudonyms, so a confirmation could not say exactly what
    would be closed. Why ``kind``: over ``--remote`` a close has a way round (the CLI's
    ``close`` on the server) and terminating has none; K's refusal pointed to ``close``.
    """
    from core.recording import RedactingFeed
    from core.remote import RemoteFeed
    from core.sampling import Seekable

    if isinstance(feed, Seekable):
        return "not available in replay: these connections are a recording, not this host now"
    if not feed.live:
        return "not available in the demo: its connections are invented"
    if isinstance(feed, RedactingFeed):
        return "not available under --redact: the table shows pseudonyms, not the real sockets"
    if isinstance(feed, RemoteFeed):
        why = "not available with --remote in the TUI: these sockets and PIDs are on another host"
        return f"{why} (use tcpscope --remote HOST close)" if kind == "close" else why
    return None


def is_remote(feed: Feed) -> bool:
    """Whether ``feed`` samples another host (``--remote``, under ``--redact`` too): its
    close and terminate keys are never available, so the TUI does not offer them."""
    from core.recording import RedactingFeed
    from core.remote import RemoteFeed

    return isinstance(feed.feed if isinstance(feed, RedactingFeed) else feed, RemoteFeed)


def tcpscope_words(feed: Feed) -> str:
    """How a hint tells the user to run tcpscope for the host ``feed`` samples: ``tcpscope``,
    or over ``--remote`` ``tcpscope --remote web1 --remote-sudo`` (``HOST`` under
    ``--redact``: a hint does not name what the redactor hides)."""
    from core.recording import RedactingFeed
    from core.remote import RemoteFeed, rerun_words

    redacting = isinstance(feed, RedactingFeed)
    inner = feed.feed if isinstance(feed, RedactingFeed) else feed
    if not isinstance(inner, RemoteFeed):
        return "tcpscope"
    return rerun_words(inner.target, hidden=redacting)


def own_namespace_words(feed: Feed) -> str:
    """What to call the network namespace the sampler itself ran in ("tcpscope's own" here).

    Why: a connection in that namespace is shown without a name; over ``--remote`` it is the
    SSH login's namespace on the server, in a replay the recording tcpscope's, and "tcpscope's
    own" would point at this machine's.
    """
    from core.recording import RedactingFeed
    from core.remote import RemoteFeed
    from core.sampling import Seekable

    inner = feed.feed if isinstance(feed, RedactingFeed) else feed
    if isinstance(inner, Seekable):
        return "the recording tcpscope's own"
    if isinstance(inner, RemoteFeed):
        return "the SSH login's own, on the server"
    return "tcpscope's own"
