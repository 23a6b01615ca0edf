"""Headless recordings of the sampler stream (``tcpscope record``) and their reader.

Nothing in this package imports textual, rich or humanize: recording runs on servers over SSH
without the TUI. The format and the reasons for it are in :mod:`core.recording.format`. The
facade is what the TUI's replay controls need; it is lazy (:mod:`core.lazy_facade`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy_facade import lazy_exports

__all__ = ["SnapshotDiff", "diff_between", "next_speed", "parse_seek"]

if TYPE_CHECKING:
    from core.recording.replay import SnapshotDiff, diff_between, next_speed, parse_seek
else:
    __getattr__ = lazy_exports(
        __name__, {"replay": ("SnapshotDiff", "diff_between", "next_speed", "parse_seek")}
    )
