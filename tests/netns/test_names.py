"""Container identity from cgroup paths, and pod names from the kubelet's log directories.

Kubernetes and systemd-nspawn cannot run here, so these use fixtures: cgroup paths in the
exact shapes real hosts produce (cgroupfs and systemd drivers, cgroup v1 and v2, copied from
kubelet/containerd/CRI-O/nspawn hosts) and a ``/var/log/pods`` + ``/var/log/containers``
tree laid out as the kubelet lays it out. Docker, Podman and containerd are tested against
real containers in test_containers.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.netns.cgroups import ContainerRef, container_of_cgroup, container_of_path
from core.netns.names import ContainerNamer

CID = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa99887766554433221100"
UID = "0f1e2d3c-aaaa-4bbb-8ccc-0123456789ab"
UID_ = UID.replace("-", "_")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # Kubernetes, cgroupfs driver (kubelet --cgroup-driver=cgroupfs), containerd or docker
        (f"/kubepods/besteffort/pod{UID}/{CID}", ContainerRef("kubernetes", CID, UID)),
        (f"/kubepods/burstable/pod{UID}/{CID}", ContainerRef("kubernetes", CID, UID)),
        (f"/kubepods/pod{UID}/{CID}", ContainerRef("kubernetes", CID, UID)),  # Guaranteed QoS
        # Kubernetes, systemd driver: containerd's CRI, CRI-O, cri-dockerd
        (
            "/kubepods.slice/kubepods-besteffort.slice/"
            f"kubepods-besteffort-pod{UID_}.slice/cri-containerd-{CID}.scope",
            ContainerRef("containerd", CID, UID),
        ),
        (
            f"/kubepods.slice/kubepods-pod{UID_}.slice/crio-{CID}.scope",
            ContainerRef("cri-o", CID, UID),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID_}.slice/docker-{CID}.scope",
            ContainerRef("docker", CID, UID),
        ),
        # systemd-nspawn: the machine's payload, and machinectl-registered scopes
        (
            "/machine.slice/systemd-nspawn@web\\x2d01.service/payload",
            ContainerRef("nspawn", "web-01"),
        ),
        (
            "/machine.slice/machine-web\\x2d01.scope/payload/system.slice",
            ContainerRef("nspawn", "web-01"),
        ),
        # Docker and Podman, both drivers
        (f"/docker/{CID}", ContainerRef("docker", CID)),
        (f"/system.slice/docker-{CID}.scope", ContainerRef("docker", CID)),
        (f"/libpod_parent/libpod-{CID}", ContainerRef("podman", CID)),
        (f"/machine.slice/libpod-{CID}.scope/container", ContainerRef("podman", CID)),
        # Not containers: conmon's own scope, the host, a user session
        (f"/machine.slice/libpod-conmon-{CID}.scope", None),
        ("/user.slice/user-1000.slice/session-3.scope", None),
        ("/", None),
    ],
)
def test_cgroup_shapes(path: str, expected: ContainerRef | None) -> None:
    assert container_of_path(path, containerd_tasks="/nonexistent") == expected


def test_plain_containerd_needs_its_task_directory(tmp_path: Path) -> None:
    tasks = tmp_path / "io.containerd.runtime.v2.task"
    (tasks / "default" / "web").mkdir(parents=True)
    assert container_of_path("/default/web", str(tasks)) == ContainerRef(
        "containerd", "web", namespace="default"
    )
    assert container_of_path("/system/cron", str(tasks)) is None


def test_a_v1_cgroup_file_is_read_line_by_line() -> None:
    text = f"12:pids:/docker/{CID}\n1:name=systemd:/docker/{CID}\n0::/\n"
    assert container_of_cgroup(text) == ContainerRef("docker", CID)


def test_pod_and_container_names_come_from_the_kubelet_logs(tmp_path: Path) -> None:
    pods = tmp_path / "var/log/pods" / f"shop_frontend-7d9c_{UID}" / "nginx"
    pods.mkdir(parents=True)
    logs = tmp_path / "var/log/containers"
    logs.mkdir(parents=True)
    (logs / f"frontend-7d9c_shop_nginx-{CID}.log").symlink_to(pods / "0.log")
    namer = ContainerNamer(root=str(tmp_path))
    info = namer.name(ContainerRef("containerd", CID, UID))
    assert info.pod == "shop/frontend-7d9c"
    assert info.name == "nginx"
    assert info.runtime == "containerd" and info.id == CID


def test_nspawn_machines_are_named_by_their_unit() -> None:
    info = ContainerNamer(root="/nonexistent").name(ContainerRef("nspawn", "web-01"))
    assert info.name == "web-01" and info.pod is None


def test_the_docker_socket_is_not_asked_while_no_dockerd_runs(tmp_path: Path) -> None:
    """Connecting to a socket-activated docker.socket would start dockerd: a container of a
    daemon that is not running stays unnamed rather than start one."""
    (tmp_path / "proc").mkdir()  # a /proc without a dockerd
    (tmp_path / "var/run").mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as activator:
        activator.bind(str(tmp_path / "var/run/docker.sock"))
        activator.listen()
        activator.setblocking(False)
        namer = ContainerNamer(proc=str(tmp_path / "proc"), root=str(tmp_path))
        assert namer.name(ContainerRef("docker", CID)).name is None
        with pytest.raises(BlockingIOError):
            activator.accept()
