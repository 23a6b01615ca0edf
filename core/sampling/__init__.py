"""The sampler and the one place a feed is chosen: live, replay or demo.

The facade is what the TUI needs; it is lazy (:mod:`core.lazy_facade`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = ["Feed", "Sampler", "Seekable", "StreamsIpsec", "WatchesTcpInfo", "check_interval"]

if TYPE_CHECKING:
    from core.sampling.controls import check_interval
    from core.sampling.feed import Feed, Seekable, StreamsIpsec, WatchesTcpInfo
    from core.sampling.sampler import Sampler
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "feed": ("Feed", "Seekable", "StreamsIpsec", "WatchesTcpInfo"),
            "controls": ("check_interval",),
            "sampler": ("Sampler",),
        },
    )
