"""IPsec IKE main-mode counters shaped like Windows' MSiSCSI_MMIPSECStats.

The package turns Linux sources (kernel XFRM, strongSwan VICI, libreswan whack) into the 21
counters of the seed class, each with its provenance. It must stay importable on every platform
and must never import textual, rich or humanize.
"""

from __future__ import annotations
