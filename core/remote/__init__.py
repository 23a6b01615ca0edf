"""Watching a server over SSH with nothing installed there but python3.

The client starts :mod:`core.commands.agent` on the server through the system ``ssh``
(:mod:`core.remote.target`), shipped as an in-memory zipapp (:mod:`core.remote.bundle`); the
agent streams a recording's records (:mod:`core.remote.wire`), which
:class:`core.remote.feed.RemoteFeed` turns back into snapshots for the app, and which the
one-shot commands (:mod:`core.remote.commands`) print like a local run.
"""
