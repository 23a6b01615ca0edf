"""The deterministic demo host: ``tcpscope --demo [--seed N]``.

It exists so tcpscope can be shown (and its screens tested and screenshotted) without exposing
a real host: documentation addresses only, invented process names, same seed → same frames.
"""

from __future__ import annotations

from core.demo.feed import DEMO_START, DemoFeed
from core.demo.ipsec import DemoIpsecProvider
from core.demo.scenario import HOST_NAME, frame, frames

__all__ = [
    "DEMO_START",
    "HOST_NAME",
    "DemoFeed",
    "DemoIpsecProvider",
    "demo_feed",
    "frame",
    "frames",
]


def demo_feed(seed: int, *, interval_s: float = 1.0, ipsec: bool = True) -> DemoFeed:
    """The demo :class:`core.sampling.feed.Feed` for ``seed`` (raises UsageError for a bad
    interval);
    ``ipsec=False`` leaves the IPsec tunnel out (``--no-ipsec``)."""
    return DemoFeed(seed, interval_s=interval_s, ipsec=ipsec)
