"""The async Sampler, the Feed protocols every screen consumes, the pause and interval
controls the feeds share (the choice of feed is :mod:`core.commands.feeds`), and the pacing
of the garbage collector in the processes that keep every record (the app, ``record``).

Facade (lazy): the Sampler, the Feed protocols, the interval bounds, the GcPacer and how
long the UI's claim on the sampling thread lasts at most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "CLAIM_S",
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "Feed",
    "GcPacer",
    "IpsecSampling",
    "Sampler",
    "Seekable",
    "ShowsPages",
    "StreamsIpsec",
    "WatchesTcpInfo",
    "YieldsToUi",
    "check_interval",
]

if TYPE_CHECKING:
    from core.sampling.controls import MAX_INTERVAL_S, MIN_INTERVAL_S, check_interval
    from core.sampling.feed import (
        Feed,
        Seekable,
        ShowsPages,
        StreamsIpsec,
        WatchesTcpInfo,
        YieldsToUi,
    )
    from core.sampling.gc_pacing import GcPacer
    from core.sampling.give_way import CLAIM_S
    from core.sampling.sampler import IpsecSampling, Sampler
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "controls": ("MAX_INTERVAL_S", "MIN_INTERVAL_S", "check_interval"),
            "feed": (
                "Feed",
                "YieldsToUi",
                "Seekable",
                "ShowsPages",
                "StreamsIpsec",
                "WatchesTcpInfo",
            ),
            "gc_pacing": ("GcPacer",),
            "give_way": ("CLAIM_S",),
            "sampler": ("IpsecSampling", "Sampler"),
        },
    )
