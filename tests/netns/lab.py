"""Real network namespaces for the tests: ``ip netns add`` with unique names, listeners inside.

Why a helper: every namespace test needs the same thing (two namespaces, the same port
listening in each) and must clean up even when the test fails. Names carry the pid and a
random suffix so parallel test runs and other engineers' namespaces never collide.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HAVE_IP = shutil.which("ip") is not None
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_netns = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and IS_ROOT and HAVE_IP),
    reason="needs root and iproute2 (ip netns) on Linux",
)
LISTENER = (
    "import socket,sys,time\n"
    "held=[]\n"
    "for port in sys.argv[1:]:\n"
    "    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    s.bind(('127.0.0.1', int(port))); s.listen(); held.append(s)\n"
    "print('ready', flush=True); time.sleep(120)\n"
)


def unique(prefix: str) -> str:
    """A namespace name no one else uses (pid + random)."""
    return f"{prefix}{os.getpid()}{secrets.token_hex(2)}"


@contextmanager
def netns(name: str) -> Iterator[str]:
    """``ip netns add NAME`` with lo up; deleted afterwards."""
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@contextmanager
def listener(name: str, port: int, *more: int) -> Iterator[subprocess.Popen[str]]:
    """A process inside namespace ``name`` listening on 127.0.0.1:``port`` (and on the
    ``more`` ports: one process owning several sockets)."""
    ports = [str(p) for p in (port, *more)]
    with ready(["ip", "netns", "exec", name, sys.executable, "-c", LISTENER, *ports]) as proc:
        yield proc


@contextmanager
def ready(argv: list[str], **popen: object) -> Iterator[subprocess.Popen[str]]:
    """``argv`` started, once it printed ``ready`` (its sockets are open); killed at the end."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, **popen)  # type: ignore[call-overload]
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def free_port() -> int:
    """A port free on the host's loopback (the namespaces have their own, all free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: object, timeout_s: float = 10.0) -> None:
    """Poll ``check()`` until it is true (bounded)."""
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def sockets_used(name: str) -> int:
    """Namespace ``name``'s count of sockets (sockstat's ``sockets: used``, every protocol)."""
    out = subprocess.run(
        ["ip", "netns", "exec", name, "cat", "/proc/net/sockstat"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.split("sockets: used", 1)[1].split()[0])


def settle(name: str, count: int) -> None:
    """Wait until ``name`` holds ``count`` sockets: the kernel frees a closed netlink socket
    (tcpscope's check at start opens and closes its readers) only after an RCU grace period,
    which moves the count a reader compares (see core.netns.reader) a sample or more later."""
    seen = [-1]

    def done() -> bool:
        seen[0] = sockets_used(name)
        return seen[0] == count

    try:
        wait_for(done)
    except AssertionError:
        raise AssertionError(f"{name} holds {seen[0]} sockets, not {count}") from None


def nobody_env(home: str) -> dict[str, str]:
    """The environment of a run as ``nobody`` with this checkout's code: the system's Python
    (the runner's may live under /root) given the runner's site-packages of the same version."""
    repo = Path(__file__).resolve().parents[2]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "NO_COLOR": "1",
        "PYTHONPATH": f"{repo}:{sysconfig.get_paths()['purelib']}",
    }
