"""IPsec IKE main-mode counters shaped like Windows' MSiSCSI_MMIPSECStats.

The package turns Linux sources (kernel XFRM, strongSwan VICI, libreswan whack) into the 21
counters of the seed class, each with its provenance. It must stay importable on every platform
and must never import textual, rich or humanize. The facade is what the TUI needs; it is lazy
(:mod:`core.lazy_facade`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = [
    "COUNTERS",
    "COUNTER_NAMES",
    "PROVIDERS",
    "ChildSa",
    "CounterRow",
    "Grade",
    "IkeSa",
    "IpsecView",
    "Kind",
    "ProviderView",
    "source_for",
]

if TYPE_CHECKING:
    from core.ipsec.counters import COUNTERS, PROVIDERS, source_for
    from core.ipsec.model import (
        COUNTER_NAMES,
        ChildSa,
        CounterRow,
        Grade,
        IkeSa,
        IpsecView,
        Kind,
        ProviderView,
    )
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "counters": ("COUNTERS", "PROVIDERS", "source_for"),
            "model": (
                "COUNTER_NAMES",
                "ChildSa",
                "CounterRow",
                "Grade",
                "IkeSa",
                "IpsecView",
                "Kind",
                "ProviderView",
            ),
        },
    )
