"""IPsec IKE main-mode counters shaped like Windows' MSiSCSI_MMIPSECStats.

The package turns Linux sources (kernel XFRM, strongSwan VICI, libreswan whack) into the 21
counters of the seed class, each with its provenance. It must stay importable on every platform
and must never import textual, rich or humanize. Facade (lazy): the counter
model and mapping, the providers and the IPsec sampler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "CLASS_NAME",
    "COUNTERS",
    "COUNTER_NAMES",
    "DEFAULT_VICI",
    "PROVIDERS",
    "PROVIDER_NAMES",
    "ChildSa",
    "CounterRow",
    "Grade",
    "IkeSa",
    "IpsecSampler",
    "IpsecView",
    "Kind",
    "ProviderView",
    "check_vici_path",
    "counters_unreachable",
    "daemons_first",
    "get_providers",
    "is_provider_name",
    "one_shot_view",
    "source_for",
    "start_hint",
]

if TYPE_CHECKING:
    from core.ipsec.counters import CLASS_NAME, COUNTERS, PROVIDERS, source_for
    from core.ipsec.model import (
        COUNTER_NAMES,
        ChildSa,
        CounterRow,
        Grade,
        IkeSa,
        IpsecView,
        Kind,
        ProviderView,
        is_provider_name,
    )
    from core.ipsec.one_shot import one_shot as one_shot_view
    from core.ipsec.presence import DEFAULT_VICI, counters_unreachable, daemons_first, start_hint
    from core.ipsec.providers import PROVIDER_NAMES, check_vici_path, get_providers
    from core.ipsec.sampling import IpsecSampler
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "counters": ("CLASS_NAME", "COUNTERS", "PROVIDERS", "source_for"),
            "model": (
                "COUNTER_NAMES",
                "ChildSa",
                "CounterRow",
                "Grade",
                "IkeSa",
                "IpsecView",
                "Kind",
                "ProviderView",
                "is_provider_name",
            ),
            "one_shot": ("one_shot_view=one_shot",),
            "presence": ("DEFAULT_VICI", "counters_unreachable", "daemons_first", "start_hint"),
            "providers": ("PROVIDER_NAMES", "check_vici_path", "get_providers"),
            "sampling": ("IpsecSampler",),
        },
    )
