"""Which host name the header shows for a feed: never the local one unless it is live.

Why: a screenshot of ``--demo`` or of a replay must not leak the machine it was taken on, and
``--redact`` exists to share screens. A replay shows the host the recording names (already a
pseudonym if it was recorded with ``--redact``); the demo shows its invented host; a live run
its own name; any of them under ``--redact`` a pseudonym from the feed's own redactor.
"""

from __future__ import annotations

import socket
import sys
from typing import Any


def display_host(feed: Any) -> str:
    """The host name to show for ``feed`` (any :class:`core.sampling.feed.Feed`)."""
    # Not imported at the top: the demo and the redactor cost 80 ms of a live app's start,
    # and a RedactingFeed exists only once its module is loaded.
    redact = sys.modules.get("core.recording.redact")
    redacting = redact is not None and isinstance(feed, redact.RedactingFeed)
    inner = feed.feed if redacting else feed
    recording = getattr(inner, "recording", None)
    header = getattr(recording, "header", None)
    if header is not None:
        name = str(header.host)
        if getattr(header, "redacted", False):
            return name
    elif getattr(inner, "source_name", None) == "demo":
        from core.demo import HOST_NAME

        name = HOST_NAME
    else:
        name = socket.gethostname()
    if redacting:
        return str(feed.redactor.redactor.host(name))
    return name
