"""The deterministic demo host: ``tcpscope --demo [--seed N]``.

It exists so tcpscope can be shown (and its screens tested and screenshotted) without exposing
a real host: documentation addresses only, invented process names, same seed → same frames.

Facade (lazy, like every package's: a run that is not the demo never loads the scenario).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "DEMO_START",
    "HOST_NAME",
    "DemoFeed",
    "DemoIpsecProvider",
    "demo_feed",
    "frame",
    "frames",
]

if TYPE_CHECKING:
    from core.demo.feed import DEMO_START, DemoFeed, demo_feed
    from core.demo.ipsec import DemoIpsecProvider
    from core.demo.scenario import HOST_NAME, frame, frames
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "feed": ("DEMO_START", "DemoFeed", "demo_feed"),
            "ipsec": ("DemoIpsecProvider",),
            "scenario": ("HOST_NAME", "frame", "frames"),
        },
    )
