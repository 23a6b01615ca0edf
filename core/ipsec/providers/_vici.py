"""VICI plumbing shared by the strongSwan provider and its event listener.

Why: both need a session on a socket *we* create (custom path, timeout) and the same decoding of
VICI's all-bytes values. Values come from the daemon and, through it, from IKE peers
(identities, names): they are decoded leniently (undecodable bytes kept as surrogate escapes)
and escaped where they are shown. Every read has a deadline and a size cap
(:mod:`core.ipsec.providers._vici_transport`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from core.ipsec.presence import NOT_A_SOCKET
from core.ipsec.providers._vici_transport import (
    BoundedTransport,
    ReplyTooLarge,
    ViciProtocolError,
)
from core.ipsec.providers.base import count
from core.textsafe import printable


def open_session(path: str, timeout_s: float) -> tuple[Any, socket.socket]:
    """Connect to charon's VICI socket; returns ``(vici.Session, socket)``.

    Raises:
        ImportError: the ``vici`` package is missing.
        OSError: FileNotFoundError / ConnectionRefusedError / PermissionError / timeouts.
    """
    import vici

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    session = vici.Session(sock)
    # vici's own transport waits forever after a message's first byte and believes any length.
    session.transport = BoundedTransport(sock, timeout_s)
    return session, sock


def close_socket(sock: socket.socket | None) -> None:
    """Close a VICI socket, ignoring a peer that is already gone."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def text(value: object) -> str:
    """A VICI value as text, undecodable bytes kept as surrogate escapes.

    Untrusted (peer identities, names): nothing is replaced here, so no information is lost;
    every screen and output escapes it with :func:`core.textsafe.printable`.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    if isinstance(value, list):
        return ",".join(text(v) for v in value)
    return str(value)


def number(value: object) -> int | None:
    """A VICI number (sent as a decimal string) or None: not a count (:func:`count`)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    return count(value) if isinstance(value, str) else None


def section(reply: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
    """``reply[key]`` where charon sends a section (empty when absent).

    Raises:
        ViciProtocolError: ``WHAT is not a section``: a value or a list there is no reply of
            charon's, and reading on would take it for one (``'bytes' object has no
            attribute 'get'`` was all a user saw).
    """
    got = reply.get(key, {})
    if not isinstance(got, Mapping):
        raise ViciProtocolError(f"{what} is not a section")
    return got


def values(reply: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    """Check that each of ``keys`` that ``reply`` has is a value or a list, not a section.

    Raises:
        ViciProtocolError: ``WHERE: KEY is not a value``.
    """
    for key in keys:
        if isinstance(reply.get(key), Mapping):
            raise ViciProtocolError(f"{where}: {key} is not a value")


def sent(value: object) -> str | None:
    """A value :func:`number` refused, as :func:`core.ipsec.providers.base.invalid_value`
    quotes it: its text, None for a section."""
    return None if isinstance(value, Mapping) else text(value)


def flatten(prefix: str, data: Mapping[str, object]) -> dict[str, int]:
    """Numeric leaves of a nested VICI reply as ``prefix.a.b`` → int."""
    out: dict[str, int] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(flatten(name, value))
        else:
            n = number(value)
            if n is not None:
                out[name] = n
    return out


def not_a_socket(path: str) -> str | None:
    """``'PATH' is not a UNIX socket`` when something else is at ``path`` (a file, a FIFO);
    None for a socket, or a path that is not there or cannot be examined.

    Why one wording: ``--vici`` refuses such a path at start with it, and a path that turns
    into one while tcpscope runs is reported with it too. Connecting to a file or a FIFO is
    refused as if no daemon listened ("charon not running"), but charon is not what is wrong.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISSOCK(mode) else f"{path!r} {NOT_A_SOCKET}"


def describe_error(err: BaseException, path: str, timeout_s: float = 2.0) -> tuple[bool, str]:
    """``(daemon_present, one-line reason)`` for a failure to talk to charon (``timeout_s``:
    the per-answer wait that a :class:`TimeoutError` ran out)."""
    if isinstance(err, FileNotFoundError):
        return False, f"charon not running (no VICI socket at {path})"
    if isinstance(err, ConnectionRefusedError) and (problem := not_a_socket(path)):
        return False, f"VICI path {problem}"
    if isinstance(err, ConnectionRefusedError):
        return False, f"charon not running (VICI socket at {path} refuses connections)"
    if isinstance(err, PermissionError):
        return True, f"not reported: permission denied on the VICI socket {path}{_who_may(path)}"
    if isinstance(err, ImportError):
        return False, "python package 'vici' not installed"
    if isinstance(err, TimeoutError):
        return True, f"not responding: charon on {path} did not answer within {timeout_s:g} s"
    if isinstance(err, ConnectionResetError | BrokenPipeError) and not _is_protocol_error(err):
        # charon closed the socket under a request: it stopped or is restarting (tried again
        # next sample at no cost). Raw, it read "lost connection to charon ([Errno 104] …)".
        return False, f"charon closed the connection on {path} (stopped or restarting)"
    if isinstance(err, BlockingIOError):
        # connect() to a UNIX socket whose backlog is full: charon accepts no connection (a
        # stopped or wedged daemon). Raw, it read "lost connection to charon ([Errno 11] …)".
        return True, f"not responding: charon accepts no connection on {path} (its queue is full)"
    if isinstance(err, ReplyTooLarge):
        return True, f"{err} (on {path}); read abandoned"
    if _is_protocol_error(err):
        return True, f"protocol error on {path}: {str(err) or type(err).__name__}"
    detail = str(err) or type(err).__name__
    return True, f"lost connection to charon ({detail})"


def _who_may(path: str) -> str:
    """`` (root:vici, mode 0770): run as root or as a member of group vici`` for a socket
    this user may not use: what to change, not only that it failed."""
    import grp
    import pwd

    try:
        info = os.stat(path)
    except OSError:
        return ": run as root"
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    mode = oct(info.st_mode & 0o777)[2:].zfill(4)
    where = printable(f"{owner}:{group}, mode {mode}")
    # Connecting needs write permission on the socket: name only who has it.
    who = ["root"]
    if info.st_mode & stat.S_IWUSR and info.st_uid != 0:
        who.append(f"user {printable(owner)}")
    if info.st_mode & stat.S_IWGRP:
        who.append(f"a member of group {printable(group)}")
    return f" ({where}): run as {' or as '.join(who)}"


def _is_protocol_error(err: BaseException) -> bool:
    """The peer sent something that is not VICI (or not what was asked)."""
    if isinstance(err, ViciProtocolError | struct.error | UnicodeDecodeError):
        return True
    try:
        from vici.exception import DeserializationException, SessionException
    except ImportError:
        return False
    return isinstance(err, DeserializationException | SessionException)
