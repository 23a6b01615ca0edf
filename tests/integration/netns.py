"""Network namespaces a test creates for itself (root only), with unique names.

Why: some kernel states need a private network — loss on a loopback (netem), interfaces
with the same link-local addresses — that a shared machine's own namespace must not see.
Each namespace is named ``tcps<tag><pid><random>`` and deleted on exit, even after a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]


def netns_unavailable() -> str | None:
    """Why namespaces cannot be made here (the skip reason), or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux-only"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "needs iproute2's ip (Debian package iproute2)"
    return None


class Netns:
    """``ip netns add`` on enter (loopback up), ``ip netns del`` on exit."""

    def __init__(self, tag: str) -> None:
        self.name = f"tcps{tag}{os.getpid()}{secrets.token_hex(2)}"

    def __enter__(self) -> Netns:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.ip("link", "set", "lo", "up")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False)

    def argv(self, *argv: str) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, timeout: float = 60) -> str:
        """Run ``argv`` inside the namespace; its stdout (raises on failure)."""
        out = subprocess.run(
            self.argv(*argv), capture_output=True, text=True, check=False, timeout=timeout
        )
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {self.name}: {out.stderr.strip()}")
        return out.stdout

    def ip(self, *args: str) -> str:
        """``ip -n <ns> args``."""
        return self.run("ip", *args)

    def python(self, code: str, *args: str) -> subprocess.Popen[str]:
        """A Python child running ``code`` in the namespace, stdin/stdout piped (tcpscope
        importable)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.Popen(
            self.argv(sys.executable, "-c", code, *args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def tcpscope_json(self) -> list[dict[str, object]]:
        """``tcpscope connections --json --netns current`` run inside the namespace, parsed:
        its own sockets only, as ``ss`` run there lists them (as root tcpscope reads every
        namespace by default, and another namespace's sockets can use the same ports)."""
        import json

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            self.argv(sys.executable, "-m", "tui", "connections", "--json", "--netns", "current"),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        rows: list[dict[str, object]] = json.loads(out.stdout)
        return rows
