"""Container names against real containers (podman, a private Docker daemon, containerd),
each listening on :8080 in its own network namespace; images from a local busybox rootfs.
A runtime that is missing or does not start in time skips its test with the reason."""

from __future__ import annotations

import os
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
