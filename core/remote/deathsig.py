"""ssh ends when the tcpscope that started it dies, even of SIGKILL (Linux).

Why: :meth:`core.remote.session.AgentSession.close` and the SIGTERM/SIGHUP handlers end ssh
whenever tcpscope can act; SIGKILL (the OOM killer, ``timeout -s KILL``, systemd) leaves it no
chance. A streaming session then mostly ends anyway (ssh reads EOF on its stdin, the agent
exits on it), but not one still starting (a login shell hanging in ``~/.bashrc``) nor one on
a dead link: that ssh would run on with parent 1, holding the server's session and agent.

How: the kernel's parent-death signal (``prctl(PR_SET_PDEATHSIG)``), set by util-linux's
``setpriv --pdeathsig`` which then execs ssh (the same process: the pid and process group
stay ssh's, nothing is added). Not set in Python between fork and exec (``preexec_fn``): that
is unsafe in a process with threads, and tcpscope has them.

Beware: the kernel sends it when the *thread* that started the child ends, not the process.
Sessions are started by the main thread or by the remote feed's reader thread, which closes
its sessions before it returns; a thread that ends while its session must live on must not
start one.

SIGTERM rather than SIGKILL: ssh then also ends its ProxyCommand. Where setpriv is missing or
cannot do it (util-linux before 2.33), and off Linux, the command is left as it is.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from typing import Final

SIGNAL: Final = "TERM"


@functools.cache
def _setpriv() -> str | None:
    """setpriv's path if it sets a parent-death signal here (tried once: an old one lacks the
    option, a sandbox may refuse the prctl), else None."""
    if sys.platform != "linux":
        return None
    path = shutil.which("setpriv")
    if path is None:
        return None
    try:
        done = subprocess.run(
            [path, "--pdeathsig", SIGNAL, "--", path, "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5.0,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if done.returncode == 0 else None


def dying_with_the_caller(argv: list[str]) -> list[str]:
    """``argv`` run so that it gets SIGTERM once the calling thread ends (see the module).

    ``argv`` unchanged where that cannot be done, or when its program is not found: starting
    it then fails with the error that names it, not with setpriv's."""
    setpriv = _setpriv()
    if setpriv is None or not argv or shutil.which(argv[0]) is None:
        return argv
    return [setpriv, "--pdeathsig", SIGNAL, "--", *argv]
