"""Headless recordings of the sampler stream (``tcpscope record``) and their reader.

Nothing in this package imports textual, rich or humanize: recording runs on servers over SSH
without the TUI. The format and the reasons for it are in :mod:`core.recording.format`. Facade
(lazy): the header, reader, writer, redaction and replay that ``record``, the agent and the
replay bar use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "FLUSH_EVERY_S",
    "FORMAT_VERSION",
    "IPSEC_VIEW",
    "MAX_SAMPLES",
    "FrameEncoder",
    "Recording",
    "RecordingHeader",
    "RecordingWriter",
    "RedactingFeed",
    "Redactor",
    "SnapshotDiff",
    "SnapshotRedactor",
    "diff_between",
    "next_speed",
    "open_replay",
    "parse_seek",
    "tcpscope_version",
    "this_host",
]

if TYPE_CHECKING:
    from core.recording.codec import IPSEC_VIEW
    from core.recording.format import (
        FLUSH_EVERY_S,
        FORMAT_VERSION,
        RecordingHeader,
        tcpscope_version,
        this_host,
    )
    from core.recording.frame_encoder import FrameEncoder
    from core.recording.reader import MAX_SAMPLES, Recording
    from core.recording.redact import RedactingFeed, Redactor, SnapshotRedactor
    from core.recording.replay import (
        SnapshotDiff,
        diff_between,
        next_speed,
        open_replay,
        parse_seek,
    )
    from core.recording.writer import RecordingWriter
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "codec": ("IPSEC_VIEW",),
            "format": (
                "FLUSH_EVERY_S",
                "FORMAT_VERSION",
                "RecordingHeader",
                "tcpscope_version",
                "this_host",
            ),
            "frame_encoder": ("FrameEncoder",),
            "reader": ("MAX_SAMPLES", "Recording"),
            "redact": ("RedactingFeed", "Redactor", "SnapshotRedactor"),
            "replay": ("SnapshotDiff", "diff_between", "next_speed", "open_replay", "parse_seek"),
            "writer": ("RecordingWriter",),
        },
    )
