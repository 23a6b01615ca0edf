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


BORN = "nc -ll -p 8091 -e /bin/busybox cat & sleep 1; (sleep 100000 | nc 127.0.0.1 8091) & sleep 1d"
"""A listener on 8091 and a client connected to it (the connection stays open)."""


def test_a_container_started_during_the_first_owner_scan_gets_its_owners_next_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A podman container started after the first sample's owner scan listed /proc (just
    before the app, on a busy host), whose processes connect before the dump: no table the
    scan read holds their sockets, so that sample says not found. The next sample reads the
    new processes' tables whole and every row gets its owner (they kept "(not found)" for
    good, while ``ss -tanp`` in the container's namespace named them)."""
    with containers.podman_image(tmp_path) as image:
        cname = containers.name("t16born")
        plan = namespace_dumps("all", tcp_info=False)
        source = get_source("netlink", tcp_info=False, namespaces=plan)
        assert isinstance(source, NetlinkSource)
        scan = source.resolver.prefetch
        started: list[int] = []

        def scan_then_start() -> None:
            scan()  # lists /proc and starts the first scan: the container is not in it
            if started:
                return
            containers.run(
                *containers.PODMAN_RUN, "--name", cname, image, "/bin/busybox", "sh", "-c", BORN
            )
            started.append(containers.podman_pid(cname))
            # listener, client, accepted (nc listens on IPv6): 1F9B is port 8091 in hex
            net = Path(f"/proc/{started[0]}/net")
            containers._wait(
                lambda: sum((net / f).read_text().count(":1F9B ") for f in ("tcp", "tcp6")) >= 3,
                "nc in a container",
            )

        monkeypatch.setattr(source.resolver, "prefetch", scan_then_start)
        try:
            owners = []
            for n in range(3):
                sample = source.sample(datetime.now(UTC), first=n == 0)
                netns = os.stat(f"/proc/{started[0]}/ns/net").st_ino
                owners.append(
                    sorted(
                        (c.owner_status.value, c.owning_process is not None)
                        for c in sample.connections.values()
                        if c.netns == netns and 8091 in (c.local_port, c.remote_port)
                    )
                )
            assert owners[0] == [("not-found", False)] * 3  # the interleaving met
            assert owners[1] == owners[2] == [("found", True)] * 3
        finally:
            containers.podman_rm(cname)
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
