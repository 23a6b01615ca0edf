"""How a command ends when its output cannot be written: one line and exit 1, never a traceback.

Why: ``tcpscope connections > /dev/full`` fails only when Python flushes stdout, often at
interpreter exit, where the error becomes an "Exception ignored" dump; ``| head -1`` closes the
pipe under us; a locale without UTF-8 (``LC_ALL=C``) cannot encode a ``—``. Output streams are
made to escape what the locale cannot encode, the command's output is flushed while errors can
still be reported, and stdout is then pointed at /dev/null so the exit flush cannot fail again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Final, NoReturn

EXIT_RUNTIME: Final = 1


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
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
