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


def test_a_session_s_end_names_a_signal_and_skips_ssh_s_host_key_note() -> None:
    note = "Warning: Permanently added '[10.219.7.2]:2299' (ED25519) to the list of known hosts."
    assert failures.from_end(-9, [note]) == "ssh was killed by signal 9 (SIGKILL)"
    assert failures.from_end(-15, []) == "ssh was killed by signal 15 (SIGTERM)"
    assert failures.from_end(255, [note, "client_loop: send disconnect: Broken pipe"]) == (
        "session ended (exit 255): client_loop: send disconnect: Broken pipe"
    )
    assert failures.from_end(None, ["\x1b[2Jbye"]) == "session ended (exit unknown): \\x1b[2Jbye"
