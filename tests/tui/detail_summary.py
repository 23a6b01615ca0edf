"""The detail pane's summary as text, once it says what a test waits for (shared by the
tests that open it on a real socket)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from tui.app import TcpscopeApp


def static_text(widget: Static) -> str:
    """``widget``'s content as plain text, 200 columns wide."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


async def summary_of(app: TcpscopeApp, pilot: Pilot[int], port: int, marker: str) -> str:
    """Wait for a row with local port ``port``, open its detail pane (Enter) and return the
    summary's text once it contains ``marker`` (or as it is after ~4 s)."""
    for _ in range(200):
        if app.snapshot is not None and any(
            c.local_port == port for c in app.snapshot.connections.values()
        ):
            break
        await pilot.pause(0.02)
    await pilot.press("enter")
    box = app.screen.query_one("#detail-summary", Static)
    text = ""
    for _ in range(200):
        text = static_text(box)
        if marker in text:
            break
        await pilot.pause(0.02)
    return text
