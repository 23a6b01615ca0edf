"""Which host name the header shows for a feed: never the local one unless it is live.

Why: a screenshot of ``--demo`` or of a replay must not leak the machine it was taken on, and
``--redact`` exists to share screens. A replay shows the host the recording names (already a
pseudonym if it was recorded with ``--redact``); the demo shows its invented host; a live run
its own name; any of them under ``--redact`` a pseudonym from the feed's own redactor.
"""

from __future__ import annotations

import socket
from typing import Any

from core.recording import RedactingFeed


def display_host(feed: Any) -> str:
    """The host name to show for ``feed`` (any :class:`core.sampling.feed.Feed`)."""
    inner = feed.feed if isinstance(feed, RedactingFeed) else feed
    recording = getattr(inner, "recording", None)
    header = getattr(recording, "header", None)
    if header is not None:
        name = str(header.host)
        if getattr(header, "redacted", False):
            return name
    elif getattr(inner, "source_name", None) == "demo":
        from core.demo import HOST_NAME  # here: a run that is not the demo never loads it

        name = HOST_NAME
    else:
        name = socket.gethostname()
    if isinstance(feed, RedactingFeed):
        return feed.redactor.redactor.host(name)
    return name
