"""Open files someone else may control without hanging, following links, or reading forever.

Why: tcpscope often runs as root and reads recordings and preference files whose path or
content another user can influence. ``open()`` on a FIFO blocks until a writer appears, on
``/dev/zero`` reads without end, and through a symlink reaches a file nobody meant. Here a
file is opened non-blocking, checked to be a regular file with ``fstat`` on the very
descriptor that is read (no check-then-open race), and writes replace the target atomically
instead of writing through it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Final


class FileRefused(Exception):
    """The path is not something tcpscope will read or replace; the message says why."""


_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """ "a directory", "a FIFO", ... for an st_mode that is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> BinaryIO:
    """``path`` opened for reading, only if it is a regular file.

    Raises FileRefused (not a regular file, a symlink when ``follow_symlinks`` is false) or
    OSError (missing, permission denied, ...).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and exc.errno == errno.ELOOP:  # the last component is a symlink
            raise FileRefused("is a symbolic link (not followed)") from None
        if isinstance(exc, IsADirectoryError):
            raise FileRefused("is a directory, not a file") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"is {file_kind(mode)}, not a regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | os.PathLike[str], max_bytes: int, *, follow_symlinks: bool) -> bytes:
    """The whole regular file at ``path``; FileRefused when it is longer than ``max_bytes``."""
    with open_regular(path, follow_symlinks=follow_symlinks) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"is larger than {max_bytes} bytes")
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a temporary file in the same directory,
    synced, then renamed over it. A symlink or non-regular file at ``path`` is refused, never
    written through; a crash leaves either the old or the new content.
    """
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"is {file_kind(mode)}; not replacing it")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``, whole or not at all: a temporary file in the same
    directory (``O_EXCL``), synced, then hard-linked to ``path``, which fails if anything is
    there (a file, a symlink planted by another user): nothing is overwritten or written
    through. Raises FileExistsError or another OSError (permission, read-only, full disk).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path, follow_symlinks=False)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
