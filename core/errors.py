"""tcpscope's error hierarchy: one base, a few meaningful kinds, each with a one-line message.

Sources translate OS and library exceptions into these at their boundary so the sampler and
the CLI can report them as one line and keep going (or exit 2), never as a traceback.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error tcpscope reports to a user."""

    title = "tcpscope error"
    exit_code = 2
    """Exit status when this ends a command: 2 for bad input, 1 for a runtime failure."""


class SourceUnavailable(MonitorError):
    """The requested source cannot run here (platform, kernel feature, missing daemon)."""

    title = "source unavailable"


class AccessDenied(MonitorError):
    """The OS refused us something; the message says what privilege would help."""

    title = "permission denied"


class UsageError(MonitorError):
    """Bad command-line input; the CLI prints it on one line and exits 2."""

    title = "usage"


class RecordingError(MonitorError):
    """A recording cannot be read or written; names the file and, where known, the record."""

    title = "recording"


class OutputFailed(MonitorError):
    """Output could not be written (disk full, broken pipe, I/O error); exits 1."""

    title = "output failed"
    exit_code = 1


class RemoteError(MonitorError):
    """Watching a server over SSH failed (host, login, its python3, its kernel); exits 1."""

    title = "remote"
    exit_code = 1
