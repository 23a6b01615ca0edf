"""The netlink message and attribute headers (``<linux/netlink.h>``), shared by every
hand-rolled netlink client here: sock_diag (:mod:`core.connections.sources.inet_diag`) and
XFRM (:mod:`core.ipsec.providers._xfrm_netlink`).

Why a module of its own at the top of ``core``: the two clients live in packages that must
not depend on each other, and the header is one kernel ABI, so it gets one definition.
Plain constants and structs only, importable on every OS.
"""

from __future__ import annotations

import struct
from typing import Final

NLMSG_ERROR: Final = 2
NLMSG_DONE: Final = 3
NLM_F_REQUEST: Final = 0x1
NLM_F_ACK: Final = 0x4
NLM_F_DUMP: Final = 0x300
NLMSG_HDR: Final = struct.Struct("=IHHII")
"""nlmsghdr: len, type, flags, seq, pid."""
NLA_HDR: Final = struct.Struct("=HH")
"""nlattr (rtattr has the same layout): len, type; the payload follows, padded to 4 bytes."""
