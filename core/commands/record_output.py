"""Where ``tcpscope record`` writes: stdout, a new file, a FIFO or character device, or — with
``--force`` — a new copy that replaces an existing recording once it holds a sample; a new
file that ends up holding no sample (a full disk) is removed.

Why the copy: ``--force`` used to truncate the old recording before anything was written, so a
run that failed early (disk full, a file size limit, ``kill -9``) left neither the old
recording nor a new one. Now the new one is written to a temporary file beside it and renamed
over it once its header and first sample are on disk; a failure before that removes the
temporary file and leaves the old recording as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from core.errors import OutputFailed, RecordingError, UsageError
from core.safe_io import file_kind
from core.textsafe import printable

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

NEW_FILE_MODE = 0o644
"""A new recording's permissions (before the umask), as for any file a tool writes."""


class Replacement(io.BufferedWriter):
    """A temporary file that takes ``target``'s place at the first flush after which
    :attr:`ready` says a complete record was written; later writes go on through the same
    descriptor, which is then ``target``'s.

    Why at a flush: the recording writer flushes only after whole records (a gzip sync flush
    or the end of a member), so the renamed file always replays. Once a write or flush has
    failed the copy is never put in place (what reached it may have a hole).
    """

    def __init__(self, fd: int, temp: str, target: str) -> None:
        super().__init__(io.FileIO(fd, "wb"))
        self.temp = temp
        self.target = target
        self.ready: Callable[[], bool] = lambda: False
        """Whether what was flushed holds a complete record (set by the caller)."""
        self.placed = False
        """Whether the copy has replaced ``target``."""
        self._failed = False

    def write(self, data: ReadableBuffer, /) -> int:
        """Buffer ``data``; a failure rules out putting the copy in place."""
        try:
            return super().write(data)
        except BaseException:
            self._failed = True
            raise

    def flush(self) -> None:
        """Flush; the first time a complete record is on disk, rename the copy over the
        target (after ``fsync``: a power cut must not leave an empty file in its place)."""
        try:
            super().flush()
            if not (self.placed or self._failed) and self.ready():
                os.fsync(self.fileno())
                os.replace(self.temp, self.target)
                self.placed = True
        except BaseException:
            self._failed = True
            raise

    def abandon(self) -> None:
        """If the copy never replaced the target: remove it (the target stays as it was)."""
        self._failed = True
        if not self.placed:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)


class NewFile(io.BufferedWriter):
    """A file ``record`` created (``O_EXCL``): the only output it may remove, and only while
    the path still names it.

    Why: a run that failed before its first complete sample (a full disk) left a file that
    replays as nothing and that the next ``record`` refused as existing.
    """

    def __init__(self, fd: int, path: str) -> None:
        made = os.fstat(fd)
        super().__init__(io.FileIO(fd, "wb"))
        self.path = path
        self._made = (made.st_dev, made.st_ino)

    def discard(self) -> bool:
        """Remove the file if ``path`` is still the regular file created here (never through
        a symlink, never one put in its place); whether it was removed."""
        try:
            now = os.lstat(self.path)
            if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != self._made:
                return False
            os.unlink(self.path)
        except OSError:
            return False
        return True


def check_output_path(path: str) -> None:
    """UsageError (exit 2) for an empty FILE, before any sampling starts: ``record ''`` was
    "tcpscope: : cannot write: No such file or directory", exit 1, as if the disk had failed."""
    if not path:
        raise UsageError("record needs a file path ('-' for stdout)")


def open_output(path: str, force: bool) -> BinaryIO:
    """The output stream; called only once the input has been checked.

    ``-`` is stdout. A new file is created exclusively; an existing regular file is replaced
    only with ``--force``, through a :class:`Replacement`; an existing FIFO or character
    device is written as a stream (it holds nothing to lose). A symlink is never followed (as
    root it could point anywhere), and directories, sockets and block devices are refused
    (RecordingError, exit 2: the path given is wrong); a file the OS will not let tcpscope
    create or open (a folder not its own, no such folder) is OutputFailed (exit 1), as a
    full disk later is.
    """
    if path == "-":
        from core.commands.output_errors import stdout_closed

        if stdout_closed():
            raise OutputFailed("stdout is closed: nowhere to write the recording")
        if sys.stdout.isatty():
            raise UsageError("refusing to write a recording to a terminal; redirect stdout")
        return sys.stdout.buffer
    try:
        old = os.lstat(path)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise OutputFailed(f"{printable(path)}: cannot write: {exc.strerror or exc}") from None
    flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW
    if old is None:
        flags |= os.O_CREAT | os.O_EXCL
    elif stat.S_ISREG(old.st_mode):
        if not force:
            raise RecordingError(f"{printable(path)}: already exists (use --force to overwrite)")
        return _replacement(path, old)
    elif not (stat.S_ISFIFO(old.st_mode) or stat.S_ISCHR(old.st_mode)):
        kind = file_kind(old.st_mode)
        raise RecordingError(f"{printable(path)}: is {kind}; not writing a recording there")
    try:
        fd = os.open(path, flags, NEW_FILE_MODE)  # closed by run()
    except FileExistsError:
        shown = printable(path)
        raise RecordingError(f"{shown}: already exists (use --force to overwrite)") from None
    except OSError as exc:
        raise OutputFailed(f"{printable(path)}: cannot write: {exc.strerror or exc}") from None
    if old is None:
        return NewFile(fd, path)
    return os.fdopen(fd, "wb")


def _replacement(path: str, old: os.stat_result) -> Replacement:
    """A new file beside ``path`` (``O_EXCL``, never through a symlink) with the old file's
    permission bits and, where allowed, its owner: what truncating it used to keep."""
    folder, name = os.path.split(path)
    try:
        fd, temp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputFailed(
            f"{printable(path)}: cannot write its replacement in {printable(folder or '.')}: "
            f"{exc.strerror or exc}"
        ) from None
    try:
        os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)
        if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.fchown(fd, old.st_uid, old.st_gid)
        return Replacement(fd, temp, path)
    except BaseException as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise OutputFailed(f"{printable(path)}: cannot write: {exc.strerror or exc}") from None
        raise
