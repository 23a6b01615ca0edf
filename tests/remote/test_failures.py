"""core.remote.failures: the one line that names why a remote session failed."""

from __future__ import annotations

from core.errors import UsageError
from core.remote import failures
from core.remote.target import parse_target

WEB1 = parse_target("web1")


def test_a_usage_line_from_the_server_is_escaped_once_and_never_carries_a_control() -> None:
    """The agent's line is already printable() (``\\x1b`` as four characters): kept as it
    is; a raw ESC a server sends anyway is still escaped."""
    escaped = "--netns: no network namespace or container named '\\x1b[31mbad'"
    error = failures.fatal_error(WEB1, failures.USAGE, escaped)
    assert isinstance(error, UsageError) and str(error) == escaped
    raw = failures.fatal_error(WEB1, failures.USAGE, "named '\x1b[31mbad'\r")
    assert str(raw) == "named '\\x1b[31mbad'"
