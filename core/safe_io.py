"""Open files someone else may control without hanging, following links, or reading forever.

Why: tcpscope often runs as root and reads recordings and preference files whose path or
content another user can influence. ``open()`` on a FIFO blocks until a writer appears, on
``/dev/zero`` reads without end, and through a symlink reaches a file nobody meant. Here a
file is opened non-blocking, checked to be a regular file with ``fstat`` on the very
descriptor that is read (no check-then-open race), and writes replace the target atomically
instead of writing through it, in a folder reached without following another user's symlink
and owned by the user tcpscope runs as (root never takes over a user's file or folder).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
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


class NotOwned(FileRefused):
    """``where`` belongs to another user: tcpscope (often root) neither writes in it nor
    changes it, so a user's file keeps its owner and mode and root creates nothing of its own
    in their folder."""

    def __init__(self, where: Path, uid: int) -> None:
        self.where = where
        self.uid = uid
        euid = os.geteuid()
        running = "root" if euid == 0 else f"uid {euid}"
        super().__init__(f"{where} belongs to uid {uid} (running as {running})")


class LinkRefused(FileRefused):
    """A directory on the way is a symbolic link another user could have made."""

    def __init__(self, where: Path, uid: int) -> None:
        self.where = where
        super().__init__(f"{where} is a symbolic link owned by uid {uid}; not followed")


_MAX_LINKS: Final = 40
"""Symbolic links followed in one walk (the kernel's own limit)."""
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _trusted(uid: int) -> bool:
    """True for root and the user tcpscope runs as: nobody else's link or folder is used."""
    return uid in (0, os.geteuid())


def _open_dir(path: Path, make_parents: int) -> int:
    """A descriptor of the directory ``path``, reached one component at a time with
    ``O_NOFOLLOW`` from ``/`` (or the working directory), so nothing on the way is taken on
    trust. A symbolic link is followed only when it and the directory holding it belong to
    root or the effective user (``/home -> /var/home``; a user's own ``~/.config`` link);
    another user's is refused (:class:`LinkRefused`). Up to ``make_parents`` missing
    components at the end are created (0700), each only in a directory belonging to the
    effective user or root, else :class:`NotOwned`. OSError for the rest (missing, not a
    directory, permission)."""
    todo = list(path.parts[1:] if path.anchor else path.parts)
    fd = os.open(path.anchor or ".", _DIR_FLAGS & ~os.O_NOFOLLOW)
    here = Path(path.anchor or ".")
    links = 0
    try:
        while todo:
            name = todo.pop(0)
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if len(todo) >= make_parents:  # not one of the last ``make_parents``
                    raise
                owner = os.fstat(fd).st_uid
                if not _trusted(owner):
                    raise NotOwned(here, owner) from None
                os.mkdir(name, 0o700, dir_fd=fd)
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                if not (_trusted(st.st_uid) and _trusted(os.fstat(fd).st_uid)):
                    raise LinkRefused(here / name, st.st_uid)
                links += 1
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
                target = Path(os.readlink(name, dir_fd=fd))
                parts = list(target.parts)
                if target.is_absolute():
                    os.close(fd)
                    fd = os.open("/", _DIR_FLAGS & ~os.O_NOFOLLOW)
                    here = Path("/")
                    parts.pop(0)
                todo[:0] = parts
                continue
            sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = sub
            here = here / name
        return fd
    except BaseException:
        os.close(fd)
        raise


def write_atomic(path: Path, data: bytes, *, make_parents: int = 0) -> None:
    """Replace ``path`` with ``data`` in one step: a temporary file in the same directory,
    synced, then renamed over it, both relative to a descriptor of that directory opened by
    :func:`_open_dir` (no symbolic link another user made is followed on the way; up to
    ``make_parents`` missing directories above the file are created). A symlink or
    non-regular file at ``path`` is refused, never written through; a directory or file that
    belongs to another user is left alone (:class:`NotOwned`); a crash leaves either the old
    or the new content.
    """
    dfd = _open_dir(path.parent, make_parents)
    try:
        owner = os.fstat(dfd).st_uid
        if owner != os.geteuid():
            raise NotOwned(path.parent, owner)
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(path.name, dir_fd=dfd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                raise FileRefused(f"is {file_kind(st.st_mode)}; not replacing it")
            if st.st_uid != os.geteuid():
                raise NotOwned(path, st.st_uid)
        tmp = f".{path.name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise
    finally:
        os.close(dfd)


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
