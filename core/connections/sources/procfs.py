"""Owning-process details straight from Linux's /proc, with psutil's exact semantics.

Why: the remote agent runs where psutil is not installed, yet ``tcpscope --remote … connections``
must print what a local run prints. So each field is read the way psutil 7 reads it on Linux:
name from ``stat`` (extended from the command line when the kernel cut it at 15 characters),
user from the *real* uid in ``status``, command line split on NULs (or spaces for processes
that rewrote it), exe from the ``exe`` link, create time as start ticks / CLK_TCK + boot time.
A field the kernel refuses becomes None and is listed in ``denied``. Linux only; stdlib only.
"""

from __future__ import annotations

import functools
import os
import pwd
from typing import Final

from core.connections.model import ProcessInfo

_NAME_LIMIT: Final = 15
"""The kernel's comm length; psutil then prefers the command line's program name."""
_DELETED: Final = " (deleted)"


class _Gone(Exception):
    """The process exited while being read."""


@functools.cache
def _boot_time(proc: str) -> float:
    with open(f"{proc}/stat", "rb") as f:
        for line in f:
            if line.startswith(b"btime"):
                return float(line.split()[1])
    raise OSError(f"no btime in {proc}/stat")


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        raise _Gone from None


def _stat(proc: str, pid: int) -> tuple[str, float]:
    """(name, create time) from ``/proc/<pid>/stat``."""
    data = _read(f"{proc}/{pid}/stat")
    rpar = data.rfind(b")")
    name = os.fsdecode(data[data.find(b"(") + 1 : rpar])
    fields = data[rpar + 2 :].split()
    ticks = float(fields[19]) / os.sysconf("SC_CLK_TCK")
    return name, ticks + _boot_time(proc)


def _cmdline(proc: str, pid: int) -> list[str]:
    text = os.fsdecode(_read(f"{proc}/{pid}/cmdline"))
    if not text:
        return []
    sep = "\0" if text.endswith("\0") else " "
    if text.endswith(sep):
        text = text[:-1]
    args = text.split(sep)
    if sep == "\0" and len(args) == 1 and " " in text:
        args = text.split(" ")
    return args


def _username(proc: str, pid: int) -> str:
    for line in _read(f"{proc}/{pid}/status").splitlines():
        if line.startswith(b"Uid:"):
            real = int(line.split()[1])
            try:
                return pwd.getpwuid(real).pw_name
            except KeyError:
                return str(real)
    raise _Gone


def _exe(proc: str, pid: int) -> str:
    try:
        path = os.readlink(f"{proc}/{pid}/exe")
    except (FileNotFoundError, ProcessLookupError):
        if os.path.lexists(f"{proc}/{pid}"):
            return ""  # a kernel thread or a zombie: psutil's fallback
        raise _Gone from None
    path = path.split("\0")[0]
    if path.endswith(_DELETED) and not os.path.exists(path):
        path = path[: -len(_DELETED)]
    return path


def fetch_process(pid: int, proc: str = "/proc") -> ProcessInfo | None:
    """Details of ``pid`` now (as psutil would give them), or None when it no longer exists."""
    try:
        try:
            name, create_time = _stat(proc, pid)
        except PermissionError:
            return ProcessInfo(pid, None, None, None, None, None, ("create_time", *_FIELDS))
        denied: list[str] = []
        cmdline: list[str] | None
        try:
            cmdline = _cmdline(proc, pid)
        except PermissionError:
            cmdline = None
            denied.append("cmdline")
        if len(name) >= _NAME_LIMIT and cmdline:
            extended = os.path.basename(cmdline[0])
            if extended.startswith(name):
                name = extended
        username: str | None
        try:
            username = _username(proc, pid)
        except PermissionError:
            username = None
            denied.append("username")
        exe: str | None
        try:
            exe = _exe(proc, pid)
        except PermissionError:
            exe = None
            denied.append("exe")
    except _Gone:
        return None
    return ProcessInfo(
        pid=pid,
        name=name,
        username=username,
        cmdline=tuple(cmdline) if cmdline is not None else None,
        exe=exe or None,
        create_time=create_time,
        denied=tuple(sorted(denied, key=_FIELDS.index)),
    )


def create_time(pid: int, proc: str = "/proc") -> float | None:
    """``pid``'s start time (None when gone or unreadable): the PID-reuse check."""
    try:
        return _stat(proc, pid)[1]
    except (_Gone, OSError, IndexError, ValueError):
        return None


_FIELDS: Final = ("name", "username", "cmdline", "exe")
