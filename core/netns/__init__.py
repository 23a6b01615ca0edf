"""Network namespaces: finding them, naming them and reading sockets inside them.

Facade (lazy): the ``--netns`` option and its values, the dumps of the chosen namespaces, a
sock_diag socket inside one, and what a /proc/net/tcp read lacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "ALL_NETNS",
    "CURRENT_NETNS",
    "DEFAULT_NETNS",
    "PROCNET_MISSING",
    "add_netns_argument",
    "check_netns",
    "namespace_dumps",
    "netns_chosen",
    "readable_here",
    "sock_diag_in",
]

if TYPE_CHECKING:
    from core.netns.options import ALL as ALL_NETNS
    from core.netns.options import CURRENT as CURRENT_NETNS
    from core.netns.options import DEFAULT as DEFAULT_NETNS
    from core.netns.options import add_netns_argument
    from core.netns.options import check as check_netns
    from core.netns.options import chosen as netns_chosen
    from core.netns.procnet import MISSING as PROCNET_MISSING
    from core.netns.select import namespace_dumps, readable_here, sock_diag_in
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "options": (
                "add_netns_argument",
                "ALL_NETNS=ALL",
                "CURRENT_NETNS=CURRENT",
                "DEFAULT_NETNS=DEFAULT",
                "check_netns=check",
                "netns_chosen=chosen",
            ),
            "procnet": ("PROCNET_MISSING=MISSING",),
            "select": ("namespace_dumps", "readable_here", "sock_diag_in"),
        },
    )
