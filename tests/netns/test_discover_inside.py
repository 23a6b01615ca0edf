"""Run inside ``ip netns exec``: the host's namespace is found once, and notes tell the truth.

Why: a process whose ``/proc/PID/ns/net`` cannot be read (here, often PID 1: a supervisor
holding capabilities root lacks) is identified by its ``net/tcp`` inode instead. Outside a
namespace that inode is compared with tcpscope's own; inside one, it must be compared with
every namespace already found, or the host's namespace shows up twice, the second time read
through /proc and said to need CAP_SYS_ADMIN, which root has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.netns.lab import needs_netns, netns, unique

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os
from core.netns.discover import Discoverer
found = Discoverer().discover()
rows = []
for ns in found.namespaces.values():
    tcp = None
    for pid in ns.pids:
        try:
            tcp = os.stat(f"/proc/{pid}/net/tcp").st_ino
            break
        except OSError:
            continue
    rows.append({"inode": ns.inode, "surrogate": ns.surrogate, "tcp": tcp, "pids": len(ns.pids)})
print(json.dumps({"own": found.own, "rows": rows}))
"""


@needs_netns
def test_host_namespace_is_found_once_from_inside_another() -> None:
    host = os.stat("/proc/self/ns/net").st_ino
    with netns(unique("tsdi")) as name:
        done = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-c", SCRIPT],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        report = json.loads(done.stdout)
        rows = report["rows"]
        assert report["own"] != host
        assert any(r["inode"] == host and not r["surrogate"] for r in rows)
        tcp = [r["tcp"] for r in rows if r["tcp"] is not None]
        assert len(tcp) == len(set(tcp)), rows  # no namespace twice
        shown = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-m", "tui", "connections"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        # Root may enter every namespace ip netns made: no note may claim it needs a capability.
        assert "CAP_SYS_ADMIN" not in shown.stderr
