"""Headless recordings of the sampler stream (``tcpscope record``) and their reader.

Nothing in this package imports textual, rich or humanize: recording runs on servers over SSH
without the TUI. The format and the reasons for it are in :mod:`core.recording.format`.
"""

from __future__ import annotations
