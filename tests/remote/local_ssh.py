"""A stand-in for ``ssh`` that runs the remote command on this machine (``TCPSCOPE_SSH``).

Why: some server conditions are easy to create here but not inside the SSH lab — an old
interpreter from pyenv, a user without sudo rights, a kernel that refuses sock_diag — and
``TCPSCOPE_SSH`` exists precisely to replace the ssh command. This script takes its own
options, then ignores ssh's (``-T``, ``-o …``, ``-p N``, the destination) and runs the last
argument with ``sh -c`` like sshd would.

``--as USER``: run the command as USER (setpriv), like logging in as them.
``--netns NAME``: run it in that network namespace (a server with only the test's sockets).
``--no-sock-diag``: a seccomp filter makes ``socket(AF_NETLINK, …, NETLINK_SOCK_DIAG)`` fail
with EPROTONOSUPPORT, which is what a kernel built without sock_diag answers (the filter is
installed by the kernel and inherited across exec: the agent meets a real refusal).
"""

from __future__ import annotations

import ctypes
import os
import platform
import pwd
import struct
import sys
from typing import Final

_ARCH: Final = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
"""machine → (AUDIT_ARCH_*, __NR_socket)."""
_AF_NETLINK: Final = 16
_NETLINK_SOCK_DIAG: Final = 4
_EPROTONOSUPPORT: Final = 93
_PR_SET_NO_NEW_PRIVS: Final = 38
_PR_SET_SECCOMP: Final = 22
_SECCOMP_MODE_FILTER: Final = 2
_LD_ABS: Final = 0x20
_JEQ: Final = 0x15
_RET: Final = 0x06
_ALLOW: Final = 0x7FFF0000
_ERRNO: Final = 0x00050000


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def deny_sock_diag() -> None:
    """Install the seccomp filter described in the module docstring (this process and its
    children)."""
    arch, nr_socket = _ARCH[platform.machine()]
    program = [
        (_LD_ABS, 0, 0, 4),  # A = seccomp_data.arch
        (_JEQ, 0, 6, arch),
        (_LD_ABS, 0, 0, 0),  # A = seccomp_data.nr
        (_JEQ, 0, 4, nr_socket),
        (_LD_ABS, 0, 0, 16),  # A = args[0] (domain)
        (_JEQ, 0, 2, _AF_NETLINK),
        (_LD_ABS, 0, 0, 32),  # A = args[2] (protocol)
        (_JEQ, 1, 0, _NETLINK_SOCK_DIAG),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _ERRNO | _EPROTONOSUPPORT),
    ]
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(raw, len(raw))
    prog = _Fprog(len(program), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def main(argv: list[str]) -> None:
    """Parse our options, then run the remote command (the last argument)."""
    prefix: list[str] = []
    while argv and argv[0] in ("--as", "--netns", "--no-sock-diag"):
        if argv[0] == "--as":
            gid = pwd.getpwnam(argv[1]).pw_gid
            prefix += ["setpriv", f"--reuid={argv[1]}", f"--regid={gid}", "--init-groups"]
            argv = argv[2:]
        elif argv[0] == "--netns":
            prefix = ["ip", "netns", "exec", argv[1], *prefix]
            argv = argv[2:]
        else:
            deny_sock_diag()
            argv = argv[1:]
    command = [*prefix, "sh", "-c", argv[-1]]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
