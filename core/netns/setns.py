"""Running one call inside another network namespace, from a dedicated thread.

Why a thread: ``setns(CLONE_NEWNET)`` moves only the calling thread, and a socket keeps the
namespace it was created in for its whole life. So a short-lived thread enters the namespace,
creates what the sampler needs there (a sock_diag socket, an open ``/proc/thread-self/net``
file) and ends; the sampler's own threads never leave their namespace, and the objects made
there are reused every sample. ``os.setns`` exists from Python 3.12; older Pythons call
libc's ``setns`` through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from typing import Final, TypeVar

from core.errors import AccessDenied, MonitorError, SourceUnavailable
from core.textsafe import printable

CLONE_NEWNET: Final = 0x40000000
T = TypeVar("T")
_libc: ctypes.CDLL | None = None


def _setns_libc(fd: int, nstype: int) -> None:
    global _libc
    if _libc is None:
        # The process's own symbols, libc's among them: ``find_library`` would run
        # ``ldconfig -p`` (a fork and exec, ~10 ms of a one-shot's start) to find the same.
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """Move the calling thread into the namespace ``fd`` refers to (raises OSError)."""
    native = getattr(os, "setns", None)
    if native is not None:
        native(fd, nstype)
    else:
        _setns_libc(fd, nstype)


def open_namespace(path: str) -> int:
    """An fd of the namespace at ``path`` (close it): kept, it reaches the namespace after
    ``path`` is gone (``ip netns del``, its last process left), while sockets keep it.

    Raises:
        AccessDenied: the path cannot be opened (ptrace access to its process is denied).
        SourceUnavailable: the namespace is gone.
        MonitorError: anything else, as one line.
    """
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except PermissionError as err:
        raise AccessDenied(
            f"{printable(path)} cannot be opened ({err.strerror}): ptrace access to its process "
            "is denied"
        ) from err
    except OSError as err:
        raise _translate(err, path) from err


def run_in(path: str, call: Callable[[], T], *, fd: int | None = None) -> T:
    """``call()`` run by a fresh thread that first entered the network namespace at ``path``
    (or, given, at ``fd``, an fd of :func:`open_namespace`: ``path`` then only names it).

    ``path`` is anything nsfs accepts: ``/proc/PID/ns/net`` or a ``/run/netns/NAME`` bind
    mount.

    Raises:
        AccessDenied: no CAP_SYS_ADMIN over that namespace (or the path is unreadable).
        SourceUnavailable: the namespace is gone.
        MonitorError: anything else ``call`` or ``setns`` raised, as one line.
    """
    result: list[T] = []
    failure: list[BaseException] = []

    def enter_and_call() -> None:
        try:
            if fd is not None:
                setns(fd)
            else:
                opened = open_namespace(path)
                try:
                    setns(opened)
                finally:
                    os.close(opened)
            result.append(call())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=enter_and_call, name="tcpscope-setns", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise _translate(failure[0], path)
    return result[0]


def _translate(exc: BaseException, path: str) -> MonitorError:
    """One line naming the namespace's file escaped: it becomes a note on stderr and in the
    header, and an ``ip netns`` name may hold any byte but ``/`` (ESC, BEL, U+202E)."""
    if isinstance(exc, MonitorError):
        return exc
    path = printable(path)
    if isinstance(exc, OSError):
        if exc.errno in (errno.EPERM, errno.EACCES):
            return AccessDenied(
                f"entering the network namespace {path} needs CAP_SYS_ADMIN ({exc.strerror})"
            )
        if exc.errno in (errno.ENOENT, errno.ESRCH, errno.EINVAL):
            return SourceUnavailable(f"network namespace {path} is gone ({exc.strerror})")
        return MonitorError(f"network namespace {path}: {exc.strerror or exc}")
    return MonitorError(f"network namespace {path}: {type(exc).__name__}: {exc}")
