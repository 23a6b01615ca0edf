"""Why a remote session failed, in one line that names the cause.

Why a module of its own: the evidence is scattered (ssh's exit status 255 and its stderr, the
shell's 127, sudo's complaint, the loader's status line, the agent's ``fatal`` message) and
the user needs one sentence: unknown host, login refused, a changed host key (which may be an
attack: never the same words as a key not known yet), no python3, a python3 the dynamic
loader cannot start, too old a python3, no sudo right, a kernel without sock_diag. Lines from
the server are untrusted text.
"""

from __future__ import annotations

import re
import shlex
import signal
from collections.abc import Sequence
from typing import Final

from core.errors import MonitorError, RemoteError, UsageError
from core.remote.bundle import MIN_PYTHON
from core.remote.target import RemoteTarget, ssh_words
from core.textsafe import composed, printable

USAGE: Final = "usage"
"""The agent's ``fatal`` cause for the user's input refused on the server."""
SSH_FAILED: Final = 255
COMMAND_NOT_FOUND: Final = 127
_MIN: Final = ".".join(map(str, MIN_PYTHON))

_SSH_CAUSES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"Could not resolve hostname|Name or service not known", re.I), "unknown host"),
    (re.compile(r"Permission denied|Too many authentication failures", re.I), "login refused"),
    (re.compile(r"Host key verification failed|REMOTE HOST IDENTIFICATION", re.I), "host key"),
    (re.compile(r"Connection refused", re.I), "connection refused"),
    (re.compile(r"timed out|No route to host|Network is unreachable", re.I), "unreachable"),
)
_SSH_OWN: Final = re.compile(
    r"^(?:ssh: |\S+: Permission denied \(|Permission denied \(|Host key verification failed|"
    r"Received disconnect from |Disconnected from |Connection (?:to \S+ )?closed |"
    r"Connection (?:reset|timed out)|kex_exchange_identification: |@+ +WARNING: |"
    r"banner exchange: |client_loop: |ssh_dispatch_run_fatal: |Bad owner or permissions |"
    r"Load key |Host key for \S+ has changed |No \S+ host key is known for )"
)
"""ssh's own error lines, told from the server's banner (free text that may well say
"Permission denied"): only these are searched for a cause."""
_SUDO_REFUSED: Final = re.compile(
    r"sudo: .*(password is required|terminal is required|not in the sudoers|"
    r"not allowed to execute|may not run sudo)",
    re.I,
)
_CHANGED_KEY: Final = re.compile(
    r"REMOTE HOST IDENTIFICATION HAS CHANGED|^Host key for \S+ has changed", re.I
)
"""ssh's line for a key that differs from the one known_hosts saved: any other host-key failure
is a key not known yet (``No … host key is known``, or with no one to ask, only "failed")."""
_REVOKED: Final = re.compile(r"REVOKED HOST KEY|host key for \S+ was revoked", re.I)
"""ssh's lines for a key known_hosts marks ``@revoked`` (a stolen key, someone posing as it)."""
_WARNING: Final = re.compile(r"^\s*(?:@+\s*)?WARNING|certificate", re.I)
"""Any warning ssh gives before "Host key verification failed": then the key is not simply
unknown, and ssh's own line is quoted instead of advice to accept the key."""
_FINGERPRINT: Final = re.compile(r"(SHA256:[A-Za-z0-9+/]{43})\.?")
"""The fingerprint ssh prints on its own line for the key the server sent."""
_LOADER_FAILED: Final = re.compile(r": error while loading shared libraries: ")


_USAGE_MAX: Final = 1000
"""A server's usage line is cut here (a local one names at most a 255-byte netns or a path)."""


def _clean(line: str) -> str:
    return printable(line.strip())[:200]


def _ssh_line(lines: Sequence[str]) -> str:
    """The line ssh or the server's shell said last (not the server's login noise)."""
    for line in reversed(lines):
        if line.strip():
            return _clean(line)
    return "no message"


_SSH_NOTE: Final = re.compile(r"^Warning: Permanently added .* to the list of known hosts")
"""ssh's note on a key it just saved (``accept-new``): said at login, never a reason."""


def from_end(code: int | None, stderr: Sequence[str]) -> str:
    """Why a running session ended: a signal in words, else the exit status; then the last
    line ssh or the server wrote since the session started (``stderr``: only those), not
    ssh's own notes (``session ended (exit -9): Warning: Permanently added …`` quoted the
    login's host-key note for an ssh that was killed)."""
    if code is not None and code < 0:
        head = f"ssh was killed by {_signal_words(-code)}"
    else:
        head = f"session ended (exit {'unknown' if code is None else code})"
    said = [ln for ln in stderr if ln.strip() and not _SSH_NOTE.match(ln.strip())]
    return f"{head}: {printable(said[-1].strip())[:160]}" if said else head


def _signal_words(number: int) -> str:
    """``signal 9 (SIGKILL)``; the number alone for one Python does not name."""
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


def from_exit(
    target: RemoteTarget, code: int, stderr: Sequence[str], *, shell_ran: bool = True
) -> str:
    """The cause of an ssh that ended before the agent answered. ``shell_ran``: the login
    shell echoed that it runs the command (False: the interpreter never ran, whatever the
    status says)."""
    where = target.label
    if code == SSH_FAILED:
        own = [line for line in stderr if _SSH_OWN.match(line.strip())]
        for line in reversed(own):
            for pattern, cause in _SSH_CAUSES:
                if pattern.search(line):
                    if cause == "host key" and any(_CHANGED_KEY.search(o.strip()) for o in own):
                        return _changed_key(where, stderr)
                    if cause == "host key" and any(_REVOKED.search(o) for o in stderr):
                        return _revoked_key(where)
                    if cause == "host key" and not any(_WARNING.search(o) for o in stderr):
                        # ssh names a key not known yet only under StrictHostKeyChecking=yes;
                        # with `ask` and no terminal to ask on (cron, BatchMode) it says no
                        # more than "verification failed", with no warning before it (a
                        # changed or revoked key, a rejected certificate all warn).
                        return _unknown_key(target)
                    return f"{where}: {cause} ({_clean(line)})"
        return f"{where}: ssh failed ({_ssh_line(own or stderr)})"
    if not shell_ran:
        # A login shell that runs no command (nologin, false) ends at once, status 1, its
        # refusal on stdout (the session quotes it): never the interpreter's fault.
        said = [ln for ln in stderr if ln.strip() and not _SSH_NOTE.match(ln.strip())]
        context = f" (the server's stderr said: {_clean(said[-1])})" if said else ""
        return (
            f"{where}: the login shell did not run the agent's command (exit status {code}; "
            f"{target.python} never started){context}"
        )
    for line in stderr:
        if _LOADER_FAILED.search(line):
            what = target.python if target.python in line else "the agent's command"
            return f"{where}: {what} failed to start: the dynamic loader said: {_clean(line)}"
    for line in stderr:
        if _SUDO_REFUSED.search(line):
            return (
                f"{where}: sudo refused to run the agent without a password ({_clean(line)}); "
                f"--remote-sudo needs a NOPASSWD sudo rule for {target.python}"
            )
    if code == COMMAND_NOT_FOUND:
        no_sudo = any(re.search(r"\bsudo\b.*not found", ln) for ln in stderr)
        if target.sudo and no_sudo and not any(target.python in ln for ln in stderr):
            return f"{where}: no sudo on the server (needed by --remote-sudo)"
        return (
            f"{where}: no {target.python} on the server (the agent needs Python ≥ {_MIN}; "
            "name another interpreter with --remote-python)"
        )
    if any("Unknown option: -I" in ln for ln in stderr):
        return f"{where}: {target.python} is too old (Python 2 or < 3.4; the agent needs ≥ {_MIN})"
    return _ended_early(target, code, stderr)


def _ended_early(target: RemoteTarget, code: int, stderr: Sequence[str]) -> str:
    """The interpreter ran and ended without the agent: that first, then what the server
    wrote as context (often only the login shell's noise, such as a missing ``pyenv``, which
    is not why: quoting it as the reason sent users after the wrong problem)."""
    said = [line for line in stderr if line.strip()]
    context = f" (the server's stderr said: {_clean(said[-1])})" if said else ""
    return (
        f"{target.label}: {target.python} exited with status {code} without starting the "
        f"agent{context}"
    )


def _changed_key(where: str, stderr: Sequence[str]) -> str:
    """The possible-attack case, in words of its own."""
    prints = [m.group(1) for ln in stderr if (m := _FINGERPRINT.fullmatch(ln.strip()))]
    sent = f" (it sent {prints[-1]})" if prints else ""
    return (
        f"{where}: the server's host key has CHANGED since known_hosts saved it{sent}: this may "
        "be an attack (someone between you and the server) or a reinstalled server; check the "
        "new key with its administrator before replacing the old one in known_hosts"
    )


def _revoked_key(where: str) -> str:
    """Never the advice to accept it: the key was withdrawn on purpose."""
    return (
        f"{where}: the server's host key is REVOKED in known_hosts (marked @revoked): ssh "
        "refused it; this may be an attack (someone using a stolen key) — check with the "
        "server's administrator; do not accept that key"
    )


def _unknown_key(target: RemoteTarget) -> str:
    """A first connection: what to do, never in the words of a changed key. The command is
    the one tcpscope runs (``TCPSCOPE_SSH``'s words: its config, key and known_hosts), quoted
    for a shell and escaped for display, last on the line so it can be copied whole."""
    port = ["-p", str(target.port)] if target.port is not None else []
    argv = [*ssh_words(), *port, target.destination]
    return (
        f"{target.label}: the server's host key is not known yet (not in known_hosts, and "
        "ssh may not ask); add the server's key to known_hosts, or check its fingerprint and "
        f"accept it by connecting once with: {printable(shlex.join(argv))}"
    )


def from_status(target: RemoteTarget, status: str) -> str:
    """The cause behind a loader status line other than ``ok``."""
    words = status.split()
    if len(words) >= 3 and words[1] == "too-old":
        return (
            f"{target.label}: {target.python} is Python {_clean(words[2])}, too old "
            f"(the agent needs ≥ {_MIN}; name another interpreter with --remote-python)"
        )
    if len(words) >= 2 and words[1] in ("bad-hash", "bad-header"):
        return f"{target.label}: the agent arrived damaged ({words[1]}); try again"
    return f"{target.label}: unexpected answer from the server: {_clean(status)}"


def from_fatal(target: RemoteTarget, cause: str, message: str) -> str:
    """The cause the agent reported before giving up."""
    text = _clean(message)
    if cause == "source":
        if "sock_diag" in text or "netlink" in text:
            return f"{target.label}: the kernel offers no usable sock_diag ({text})"
        return f"{target.label}: cannot read connections there ({text})"
    return f"{target.label}: the agent failed ({_clean(cause)}: {text})"


def fatal_error(target: RemoteTarget, cause: str, message: str) -> MonitorError:
    """The error for the agent's ``fatal``: bad input checked on the server is a UsageError
    in the words of a local run (exit 2), anything else a RemoteError (exit 1)."""
    if cause == USAGE:
        # The agent's line already embeds printable() names (its backslashes start their
        # escapes): escaping it again doubled them. composed() still escapes any control
        # character a server sent, and leaves an already-safe line as it is.
        return UsageError(composed(message.strip())[:_USAGE_MAX])
    return RemoteError(from_fatal(target, cause, message))
