"""Names of the server's namespaces over ``--remote``, against a real podman container and
the SSH lab (tests/lab/ssh_lab.py): a remote one-shot prints what a run on the server prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lab.ssh_lab import SshLab, have_ssh_lab
from tests.netns import containers

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TCPSCOPE, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def container_row(out: str, netns: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = json.loads(out)
    (row,) = [r for r in rows if r["tcpscope"]["namespace"]["inode"] == netns]
    return row


def test_a_remote_one_shot_names_a_container_as_a_run_on_the_server(
    lab: SshLab, tmp_path: Path
) -> None:
    """The container's name is looked up off the sampler's thread: a one-shot waits for it
    (core.connections.oneshot), on the server as here."""
    with containers.podman_container(tmp_path) as (cname, cid, pid):
        netns = os.stat(f"/proc/{pid}/ns/net").st_ino
        remote = ["--remote", lab.target, "connections"]
        local = run(lab.env, "connections", "--json")
        there = run(lab.env, *remote, "--json")
        assert local.returncode == 0 and there.returncode == 0, (local.stderr, there.stderr)
        mine = container_row(local.stdout, netns)["tcpscope"]["namespace"]["container"]
        assert mine == {"runtime": "podman", "id": cid, "name": cname, "pod": None}
        theirs = container_row(there.stdout, netns)["tcpscope"]["namespace"]["container"]
        assert theirs == mine
        for fmt in ("--csv", None):
            table = run(lab.env, *remote, *([fmt] if fmt else []))
            assert table.returncode == 0, table.stderr
            # (another test's container may listen on 8080 meanwhile: the one named here)
            (line,) = [
                ln
                for ln in table.stdout.splitlines()
                if (":8080" in ln or ",8080," in ln) and cname in ln
            ]
            assert f"ns:{netns}" not in line
