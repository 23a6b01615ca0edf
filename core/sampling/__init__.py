"""The async Sampler, the Feed protocols every screen consumes, and the pause and interval
controls the feeds share (the choice of feed is :mod:`core.commands.feeds`).

Facade (lazy): the Sampler, the Feed protocols, the interval bounds and how long the UI's
claim on the sampling thread lasts at most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "CLAIM_S",
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "Feed",
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
            "give_way": ("CLAIM_S",),
            "sampler": ("IpsecSampling", "Sampler"),
        },
    )
