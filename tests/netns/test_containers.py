"""Container names against real containers (podman, a private Docker daemon, containerd),
each listening on :8080 in its own network namespace; images from a local busybox rootfs.
A runtime that is missing or does not start in time skips its test with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.connections.namespaces import label
from core.connections.sources import get_source
from core.connections.sources.netlink import NetlinkSource
from core.netns.select import namespace_dumps
from tests.netns import containers
from tests.netns.lab import needs_netns

REPO = Path(__file__).resolve().parents[2]

pytestmark = needs_netns

Runtime = Callable[[Path], AbstractContextManager[tuple[str, str, int]]]


@pytest.mark.parametrize(
    ("runtime", "start"),
    [
        ("podman", containers.podman_container),
        ("docker", containers.docker_container),
        ("containerd", containers.containerd_container),
    ],
)
def test_a_container_is_found_by_name_and_named(
    runtime: str, start: Runtime, tmp_path: Path
) -> None:
    with start(tmp_path) as (cname, cid, pid):
        netns = os.stat(f"/proc/{pid}/ns/net").st_ino
        # --netns NAME finds the namespace by the container's name ...
        select = cname.rpartition("/")[2] if runtime == "containerd" else cname
        plan = namespace_dumps(select, tcp_info=False)
        source = get_source("netlink", tcp_info=False, namespaces=plan)
        assert isinstance(source, NetlinkSource) and plan is not None
        try:
            result = source.sample(datetime.now(UTC), first=True)
            (conn,) = result.connections.values()
            assert conn.local_port == 8080 and conn.netns == netns
            assert conn.owning_process == pid  # the host PID
            owner = result.processes[pid]
            assert owner.ns_pid == 1  # PID 1 inside the container
            # ... and names it, once the lookup (off the sampler's thread) is done.
            plan.settle(10.0)
            info = plan.view().index()[netns]
            assert info.container is not None
            assert info.container.runtime == runtime
            assert info.container.id == cid
            assert info.container.name == cname
            assert label(info) == cname
        finally:
            source.close()


def test_a_non_root_run_never_starts_podman(tmp_path: Path) -> None:
    """Run by any user but root, ``podman`` is rootless podman: it leaves a pause process and
    files behind (the README promises neither, on a --remote server least of all). A
    ``podman`` first on PATH records every call; nobody's run must name the container's
    namespace without one."""
    spy = Path(tempfile.mkdtemp(prefix="tcpscope-podman-spy-"))
    calls = spy / "calls"
    try:
        spy.chmod(0o777)  # nobody writes its record there
        fake = spy / "podman"
        fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 125\n')
        fake.chmod(0o755)
        with containers.podman_container(tmp_path) as (_name, cid, _pid):
            env = {**os.environ, "PATH": f"{spy}:{os.environ['PATH']}", "NO_COLOR": "1"}
            env["PYTHONPATH"] = str(REPO)
            done = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 sys.executable, "-m", "tui", "connections", "--json", "--local-port", "8080"],
                capture_output=True, text=True, timeout=60, env=env, cwd="/", check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            rows = json.loads(done.stdout)
            found = [r["tcpscope"]["namespace"]["container"] for r in rows]
            ours = [c for c in found if c and c["id"] == cid]
            # named as far as nobody can read (the runtime and the id), podman never run
            assert ours and ours[0] == {"runtime": "podman", "id": cid, "name": None, "pod": None}
            assert not calls.exists(), f"podman was run: {calls.read_text()}"
    finally:
        shutil.rmtree(spy, ignore_errors=True)
