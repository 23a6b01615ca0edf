"""Network namespaces: finding them, naming them and reading sockets inside them.

The facade is what the TUI needs; it is lazy (:mod:`core.lazy_facade`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = ["PROCNET_MISSING", "add_netns_argument", "sock_diag_in"]

if TYPE_CHECKING:
    from core.netns.options import add_netns_argument
    from core.netns.procnet import MISSING as PROCNET_MISSING
    from core.netns.select import sock_diag_in
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "options": ("add_netns_argument",),
            "procnet": ("PROCNET_MISSING=MISSING",),
            "select": ("sock_diag_in",),
        },
    )
