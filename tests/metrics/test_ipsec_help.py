"""HELP of the lower-bound gauge names the kernel's cause as well as the daemon's.

Why: one family serves every provider, and for provider="kernel" the gap is the XFRM netlink
socket overflowing (ENOBUFS), not a lost daemon; the HELP named only "lost the daemon".
"""

from __future__ import annotations

import os

import pytest

from core.ipsec.providers.kernel import KernelProvider
from core.ipsec.sampling import IpsecSampler
from core.metrics.families import ipsec_families


@pytest.mark.skipif(os.geteuid() != 0, reason="the XFRM multicast needs CAP_NET_ADMIN")
def test_lower_bound_help_covers_the_kernel_overflow() -> None:
    sampler = IpsecSampler([KernelProvider()], interval_s=1.0)
    try:
        view = sampler.sample()
    finally:
        sampler.close()
    families = {f.name: f for f in ipsec_families(view)}
    family = families["tcpscope_ipsec_lower_bound"]  # KeyAdditions/KeyUpdates, from events
    assert {s.labels["provider"] for s in family.samples} == {"kernel"}
    assert "ENOBUFS" in family.documentation and "lost the daemon" in family.documentation
