"""An honest stand-in for the IPsec screen until ``tui/ipsec/screen.py`` exists.

The App's screen registry picks the real screen when it can be imported; until then this one
says plainly that the screen is not built yet, instead of showing a fake table.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static


class IpsecPlaceholderScreen(Screen[None]):
    """Says the IPsec screen is not built yet."""

    def __init__(self) -> None:
        """Built by the App's screen registry."""
        super().__init__(id="ipsec")

    def compose(self) -> ComposeResult:
        """One message and the footer."""
        yield Static(
            "IPsec (MSiSCSI_MMIPSECStats)\n\n"
            "The IPsec screen is not built yet in this version of tcpscope.\n"
            "Use `tcpscope ipsec` for the counters; press 1 or Tab for connections.",
            id="ipsec-placeholder",
        )
        yield Footer()
