"""Watching a server over SSH with nothing installed there but python3.

The client starts :mod:`core.commands.agent` on the server through the system ``ssh``
(:mod:`core.remote.target`), shipped as an in-memory zipapp (:mod:`core.remote.bundle`); the
agent streams a recording's records (:mod:`core.remote.wire`), which
:class:`core.remote.feed.RemoteFeed` turns back into snapshots for the app, and which the
one-shot commands (:mod:`core.remote.commands`) print like a local run. Facade (lazy): the
target options, the feed, the one-shot readers and the agent's wire and actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "CONTROL",
    "PROTOCOL",
    "MessageWriter",
    "RemoteActions",
    "RemoteFeed",
    "RemoteTarget",
    "add_remote_arguments",
    "open_remote_feed",
    "remote_given",
    "remote_ipsec_view",
    "remote_snapshot",
    "rerun_words",
    "serve_actions",
    "stream_config",
    "target_from",
]

if TYPE_CHECKING:
    from core.remote.actions import RemoteActions
    from core.remote.actions import serve as serve_actions
    from core.remote.commands import open_remote_feed, remote_ipsec_view, remote_snapshot
    from core.remote.feed import RemoteFeed, stream_config
    from core.remote.options import add_arguments as add_remote_arguments
    from core.remote.options import remote_given
    from core.remote.target import RemoteTarget, rerun_words, target_from
    from core.remote.wire import CONTROL, PROTOCOL, MessageWriter
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "actions": ("RemoteActions", "serve_actions=serve"),
            "commands": ("open_remote_feed", "remote_ipsec_view", "remote_snapshot"),
            "feed": ("RemoteFeed", "stream_config"),
            "options": ("add_remote_arguments=add_arguments", "remote_given"),
            "target": ("RemoteTarget", "rerun_words", "target_from"),
            "wire": ("CONTROL", "PROTOCOL", "MessageWriter"),
        },
    )
