"""How a command ends when its output cannot be written: one line and exit 1, never a traceback.

Why: ``tcpscope connections > /dev/full`` fails only when Python flushes stdout, often at
interpreter exit, where the error becomes an "Exception ignored" dump; ``| head -1`` closes the
pipe under us; a locale without UTF-8 (``LC_ALL=C``) cannot encode a ``—``. Output streams are
made to escape what the locale cannot encode, the command's output is flushed while errors can
still be reported, and stdout is then pointed at /dev/null so the exit flush cannot fail again.
A standard stream closed before tcpscope started (``>&-``, ``<&-``) is given a stand-in by
:func:`stand_in_for_closed_streams`, so no code meets ``sys.stdout is None``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import TYPE_CHECKING, Final, NoReturn

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

EXIT_RUNTIME: Final = 1


class ClosedOutput(io.RawIOBase):
    """What stdout writes into when fd 1 was closed at start: every write fails with EBADF.

    Why not /dev/null: output nobody can read must not end in exit 0 (``explain State >&-``
    printed nothing and succeeded); why not None (Python's choice): every ``sys.stdout.flush()``
    became an AttributeError traceback. Once the failure is reported, :meth:`discard` lets the
    exit flush drop what is still buffered.
    """

    def __init__(self) -> None:
        super().__init__()
        self._discard = False

    def writable(self) -> bool:
        """A stream that takes writes (and fails them)."""
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        """Fail: there is no standard output (unless the failure was reported already)."""
        if self._discard:
            return memoryview(data).nbytes
        raise OSError(errno.EBADF, "standard output is closed")

    def discard(self) -> None:
        """From now on drop writes silently (the failure has been reported)."""
        self._discard = True


def stand_in_for_closed_streams() -> None:
    """Give a standard stream closed before start (``>&-``, ``<&-``, ``2>&-``) a stand-in.

    Its descriptor gets /dev/null, so a file tcpscope opens later cannot become fd 0-2 (and be
    written by a stray ``print``). stdin reads as empty (not a terminal: ``close`` and the app
    refuse as with ``< /dev/null``), stdout fails every write (:class:`ClosedOutput`: one line,
    exit 1), stderr discards (nowhere to report: the exit code alone tells).
    """
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                spare = os.open(os.devnull, flags)  # the lowest free descriptor: fd itself
                if spare != fd:
                    os.dup2(spare, fd)
                    os.close(spare)
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (the process's stdin)
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(ClosedOutput()), encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def stdout_closed() -> bool:
    """Whether stdout was closed at start (see :func:`stand_in_for_closed_streams`)."""
    buffer = getattr(sys.stdout, "buffer", None)
    return isinstance(getattr(buffer, "raw", None), ClosedOutput)


def tolerate_locale() -> None:
    """Escape (``\\u2014``) rather than raise on characters the output encoding lacks."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")


def finish_output() -> None:
    """Flush stdout now, so a failure is reported here (raises OSError)."""
    if sys.stdout is not None:
        sys.stdout.flush()


def leave(code: int) -> NoReturn:
    """Flush the output (raises OSError like :func:`finish_output`) and end the process at
    once, skipping the interpreter's teardown: a one-shot at 50k sockets would free every
    record, dict and string one by one, 0.1 s between its last byte and its exit, measured.
    Only for a command run as the process itself (``args.leave_when_done``, tui.cli)."""
    finish_output()
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
    os._exit(code)


_OUTPUT_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO})


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError that ended a command (most often: writing its output)."""
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return "output closed before everything was written (broken pipe)"
    if exc.errno in _OUTPUT_ERRNOS:
        return f"cannot write output: {exc.strerror or exc}"
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def report_os_error(exc: OSError) -> int:
    """Print :func:`describe_os_error` on stderr, drop pending stdout, return exit status 1."""
    silence_stdout()
    with contextlib.suppress(OSError, ValueError):
        print(f"tcpscope: {describe_os_error(exc)}", file=sys.stderr)
    return EXIT_RUNTIME


def silence_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered is dropped instead of failing at exit."""
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", None)
    if isinstance(raw, ClosedOutput):
        raw.discard()
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
