"""The host's initial network namespace, seen from inside another one (tcpscope run under
``ip netns exec``): labelled as the host's, not "another, unnamed (inode N)". Real
namespaces: the test's own listener in the host's namespace, tcpscope in one the test makes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.netns.discover import PROC_NET_INIT_INO, initial_netns
from tests.netns.lab import needs_netns, netns, unique

REPO = Path(__file__).resolve().parents[2]
HOST = os.stat("/proc/self/ns/net").st_ino
INITIAL = initial_netns() or (HOST if HOST == PROC_NET_INIT_INO else None)
"""The initial namespace's inode, when this machine tells it (PID 1's readable in the root
PID namespace, or the kernel's fixed inode, Linux 6.18+)."""

pytestmark = [
    needs_netns,
    pytest.mark.skipif(
        INITIAL != HOST, reason="the tests run outside the initial namespace, or it is not told"
    ),
]

SEEN_FROM_INSIDE = """
import sys
from datetime import UTC, datetime
from core.connections.sources import get_source
from core.netns.select import namespace_dumps
from tui.connections.namespace_detail import namespace_line, namespace_table
from rich.console import Console
source = get_source("netlink", tcp_info=False, namespaces=namespace_dumps("all", tcp_info=False))
try:
    snap = source.sample(datetime.now(UTC), first=True)
finally:
    source.close()
(conn,) = [c for c in snap.connections.values()
           if c.local_port == int(sys.argv[1]) and c.state.name == "LISTEN"]
print(namespace_line(conn.netns, snap.namespaces))
Console(width=200, color_system=None).print(namespace_table(conn, snap.namespaces))
"""


def test_the_hosts_namespace_is_named_so_from_inside_another() -> None:
    with socket.socket() as host_listener, netns(unique("init")) as name:
        host_listener.bind(("127.0.0.1", 0))
        host_listener.listen()
        port = host_listener.getsockname()[1]
        done = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-c", SEEN_FROM_INSIDE, str(port)],
            capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line, *table = done.stdout.splitlines()
    assert line == f"the host's (initial) (inode {HOST})", done.stdout
    assert "another" not in done.stdout, done.stdout
    assert any(f"{HOST} (the host's initial)" in row for row in table), done.stdout
