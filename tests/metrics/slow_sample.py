"""A real slow first sample: processes holding many file descriptors.

Why this way: a first sample reads every fd of every process (one ``readlink`` each) to find
the owners of the sockets it dumped; later samples only look for new ones. Processes holding
500k fds between them make that first sample take seconds (3 s on a quiet project machine;
120k took 0.8 s there), as a busy host does, with no fake source and no network load: each
fd is a ``dup`` of one listening socket on loopback, a few bytes of kernel memory.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.metrics.exporter import readline

HOLD = """
import os, resource, socket, sys, time
count = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (count + 64, count + 64))
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
for fd in range(64, count + 64):
    os.dup2(listener.fileno(), fd, inheritable=False)
print("ready", flush=True)
sys.stdin.read()
"""
"""One hoarder: ``count`` fds (dups of one listener), held until its stdin closes."""

PER_PROCESS_CAP = 20_000
"""At most this many fds a process (the project machine's hard RLIMIT_NOFILE)."""


@contextmanager
def fd_hoarders(total: int = 500_000) -> Iterator[None]:
    """Processes holding ``total`` fds between them while the block runs."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = hard if hard != resource.RLIM_INFINITY else PER_PROCESS_CAP + 64
    per = max(1, min(PER_PROCESS_CAP, limit - 64))
    procs: list[subprocess.Popen[str]] = []
    try:
        for _ in range(-(-total // per)):
            proc = subprocess.Popen(
                [sys.executable, "-c", HOLD, str(per)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
        for proc in procs:
            assert proc.stdout is not None
            assert readline(proc.stdout, 30) == "ready\n", "a hoarder did not start"
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=10)
