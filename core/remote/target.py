"""Where to connect: ``[user@]host[:port]`` and the ssh command line that reaches it.

Why the system ``ssh`` client and not a library: the user's ``~/.ssh/config``, agent, ProxyJump,
ControlMaster and known_hosts then apply exactly as for their own ``ssh``. ``TCPSCOPE_SSH``
replaces the ``ssh`` command itself (the ``GIT_SSH_COMMAND`` convention), split into words like
a shell would, a word's leading unquoted ``~`` or ``~user`` expanded (README's
``ssh -F ~/lab/config``).
Not run by ``sh`` as git does: dash would fork ssh rather than exec it, and the parent-death
signal (core.remote.deathsig) would then end only the shell, leaving ssh behind. tcpscope
appends ``-T``, ``-p PORT`` when a port was given, ``-o BatchMode=yes`` for unattended
reconnections (a password prompt would land in the middle of the TUI), then the destination
and the remote command.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import os
import re
import shlex
from dataclasses import dataclass
from typing import Final

from core.errors import UsageError
from core.remote.options import add_arguments as add_arguments  # (its old home)
from core.textsafe import is_digits, rquoted

SSH_ENV: Final = "TCPSCOPE_SSH"
_NAME: Final = re.compile(r"^[A-Za-z0-9._%+~-]+$")


@dataclass(frozen=True, slots=True)
class RemoteTarget:
    """A server to watch and how to start the agent there."""

    host: str
    user: str | None = None
    port: int | None = None
    sudo: bool = False
    """Run the agent under ``sudo -n`` (``--remote-sudo``)."""
    python: str = "python3"
    """The server's interpreter (``--remote-python``)."""

    @property
    def destination(self) -> str:
        """The ssh destination argument."""
        return f"{self.user}@{self.host}" if self.user else self.host

    @property
    def label(self) -> str:
        """``[user@]host[:port]`` as the user wrote it (for messages)."""
        host = f"[{self.host}]" if ":" in self.host and self.port else self.host
        text = f"{self.user}@{host}" if self.user else host
        return f"{text}:{self.port}" if self.port else text


def parse_target(text: str, *, sudo: bool = False, python: str = "python3") -> RemoteTarget:
    """``[user@]host[:port]`` (IPv6 as ``[addr]:port``); UsageError with one line if malformed."""
    user, sep, rest = text.rpartition("@")
    if not sep:
        user, rest = "", text
    elif not user:  # "@lab": not a login as whoever ssh picks, a user name left out
        raise UsageError(f"--remote {rquoted(text)}: empty user name (expected [user@]host[:port])")
    port: int | None = None
    if rest.startswith("["):
        host, close, tail = rest[1:].partition("]")
        if not close or (tail and not tail.startswith(":")):
            raise UsageError(f"--remote {rquoted(text)}: expected [user@]host[:port]")
        port_text = tail[1:] if tail else None
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
    elif rest.count(":") > 1 and not _is_ipv6(rest):  # "lab:22:33" went to ssh as a host
        raise UsageError(
            f"--remote {rquoted(text)}: expected [user@]host[:port] (IPv6 as [addr]:port)"
        )
    else:
        host, port_text = rest, None  # a bare IPv6 address, or no port
    if port_text is not None:
        if not is_digits(port_text) or not 0 < int(port_text) < 65536:
            raise UsageError(f"--remote {rquoted(text)}: port must be 1-65535")
        port = int(port_text)
    if not host or host.startswith("-") or not _NAME.match(host.replace(":", "")):
        raise UsageError(f"--remote {rquoted(text)}: not a host name or address")
    if user and (user.startswith("-") or not _NAME.match(user)):
        raise UsageError(f"--remote {rquoted(text)}: not a user name")
    if not python or python.startswith("-") or any(c.isspace() for c in python):
        raise UsageError(f"--remote-python {rquoted(python)}: not an interpreter path or name")
    return RemoteTarget(host, user or None, port, sudo, python)


def _shell_words(line: str) -> list[str]:
    """``line`` split as a shell splits it, a word's leading ``~`` or ``~user`` expanded.

    Only when the word's raw text begins with an unquoted ``~`` and holds no quote or
    backslash before its first ``/`` (POSIX: no quoted character in the tilde-prefix), so
    ``"~/q"``, ``'~'`` and ``\\~`` stay literal as in a shell; ``shlex.split`` alone returns
    words with their quotes already removed, too late to tell."""
    stream = io.StringIO(line)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    start = 0
    for word in lexer:
        end = stream.tell()  # just past the word and the blank that ended it
        raw = line[start:end].lstrip()
        start = end
        prefix = raw.partition("/")[0]
        literal = not raw.startswith("~") or any(c in prefix for c in "'\"\\")
        words.append(word if literal else os.path.expanduser(word))
    return words


def _is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address (a scope such as ``%eth0`` allowed)."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def ssh_words() -> list[str]:
    """The ssh command itself: ``$TCPSCOPE_SSH``'s words, or ``ssh`` (UsageError if they do
    not split). Also what advice to run ssh by hand names: a bare ``ssh`` lost the user's
    ``-F``/``-i``/``-o`` (a Host alias it could not resolve, another known_hosts)."""
    custom = os.environ.get(SSH_ENV, "").strip()
    try:
        return _shell_words(custom) if custom else ["ssh"]
    except ValueError as exc:
        raise UsageError(f"{SSH_ENV}: cannot split {rquoted(custom)} ({exc})") from None


def ssh_argv(target: RemoteTarget, remote_command: str, *, batch: bool) -> list[str]:
    """The ssh command line (``$TCPSCOPE_SSH`` or ``ssh``, then our options)."""
    argv = [*ssh_words(), "-T"]
    if batch:
        argv += ["-o", "BatchMode=yes"]
    if target.port is not None:
        argv += ["-p", str(target.port)]
    return [*argv, target.destination, remote_command]


def rerun_words(target: RemoteTarget, *, hidden: bool = False) -> str:
    """``tcpscope --remote web1 --remote-sudo``: how a hint tells the user to run tcpscope
    for this server (a bare ``tcpscope --vici <socket>`` looked at the local machine).
    ``hidden`` (``--redact``): ``HOST`` stands for user@host:port."""
    words = ["tcpscope", "--remote", "HOST" if hidden else target.label]
    if target.sudo:
        words.append("--remote-sudo")
    if target.python != "python3":
        words += ["--remote-python", target.python]
    return shlex.join(words)


def target_from(args: argparse.Namespace) -> RemoteTarget | None:
    """The ``--remote`` target of a parsed command line, or None (UsageError if it clashes)."""
    text = getattr(args, "remote", None)
    if text is None:
        for flag, dest in (("--remote-sudo", "remote_sudo"), ("--remote-python", "remote_python")):
            if getattr(args, dest, None) not in (None, False):
                raise UsageError(f"{flag} needs --remote HOST")
        return None
    for flag, clash in (("--replay", "replay"), ("--demo", "demo")):
        if getattr(args, clash, None):
            raise UsageError(f"--remote cannot be combined with {flag}")
    if getattr(args, "source", "auto") not in ("auto", "netlink"):
        raise UsageError("--remote samples with netlink on the server; drop --source")
    python = getattr(args, "remote_python", None)
    return parse_target(
        text,
        sudo=bool(getattr(args, "remote_sudo", False)),
        python="python3" if python is None else str(python),
    )
