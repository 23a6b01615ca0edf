"""Watching a server over SSH with nothing installed there but python3.

The client starts :mod:`core.commands.agent` on the server through the system ``ssh``
(:mod:`core.remote.target`), shipped as an in-memory zipapp (:mod:`core.remote.bundle`); the
agent streams a recording's records (:mod:`core.remote.wire`), which
:class:`core.remote.feed.RemoteFeed` turns back into snapshots for the app, and which the
one-shot commands (:mod:`core.remote.commands`) print like a local run. The facade is what the
TUI's command line needs; it is lazy (:mod:`core.lazy_facade`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = ["add_remote_arguments"]

if TYPE_CHECKING:
    from core.remote.target import add_arguments as add_remote_arguments
else:
    __getattr__ = lazy_exports(__name__, {"target": ("add_remote_arguments=add_arguments",)})
