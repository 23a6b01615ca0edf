"""The sampler and the one place a feed is chosen: live, replay or demo.

The facade is what tui/ and the commands need; it is lazy (:mod:`core.lazy_facade`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = [
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "Feed",
    "IpsecSampling",
    "Sampler",
    "Seekable",
    "StreamsIpsec",
    "WatchesTcpInfo",
    "check_interval",
]

if TYPE_CHECKING:
    from core.sampling.controls import MAX_INTERVAL_S, MIN_INTERVAL_S, check_interval
    from core.sampling.feed import Feed, Seekable, StreamsIpsec, WatchesTcpInfo
    from core.sampling.sampler import IpsecSampling, Sampler
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "controls": ("MAX_INTERVAL_S", "MIN_INTERVAL_S", "check_interval"),
            "feed": ("Feed", "Seekable", "StreamsIpsec", "WatchesTcpInfo"),
            "sampler": ("IpsecSampling", "Sampler"),
        },
    )
