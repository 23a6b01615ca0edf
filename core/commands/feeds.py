"""Picks the feed a run shows: live sampler, recording, or demo — decided in one place.

The app, the recorder and the tests ask this module for a :class:`core.sampling.feed.Feed` and never
branch on where the data comes from themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.sampling.feed import Feed
from core.sampling.sampler import IpsecSampling, Sampler


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


def ipsec_sampler(options: FeedOptions) -> IpsecSampling | None:
    """The live IPsec sampler for ``options``, or None when IPsec is off."""
    if not options.ipsec:
        return None
    from core.ipsec.providers import get_providers
    from core.ipsec.sampling import IpsecSampler

    providers = get_providers(options.provider, options.vici)
    return IpsecSampler(providers, interval_s=options.interval_s)


def make_feed(options: FeedOptions) -> Feed:
    """The feed for ``options`` (raises MonitorError on bad input, e.g. a corrupt recording)."""
    feed: Feed
    if options.replay is not None:
        from core.recording.replay import open_replay

        feed = open_replay(options.replay)
    elif options.demo:
        from core.demo import demo_feed

        feed = demo_feed(options.seed, interval_s=options.interval_s, ipsec=options.ipsec)
    else:
        from core.connections.sources import get_source
        from core.netns.select import namespace_dumps

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
        from core.recording.redact import RedactingFeed

        feed = RedactingFeed(feed)
    return feed
