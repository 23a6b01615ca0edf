"""Which container a process belongs to, read from the path of its cgroup.

Why the cgroup: every runtime puts a container's processes in a cgroup named after the
container, and ``/proc/PID/cgroup`` is readable without asking the runtime anything. The
shapes recognised (cgroupfs and systemd drivers, v1 and v2):

* Docker ``/docker/<id>``, ``docker-<id>.scope``;
* Podman ``/libpod_parent/libpod-<id>``, ``libpod-<id>.scope`` (not ``libpod-conmon-``);
* CRI-O ``crio-<id>.scope``; containerd's CRI ``cri-containerd-<id>.scope``;
* Kubernetes ``kubepods…/pod<uid>/<id>`` and ``kubepods-…-pod<uid_with_underscores>.slice/…``;
* plain containerd (``ctr run``) ``/<namespace>/<id>``, told from any other two-level path
  by its task directory under ``/run/containerd``;
* systemd-nspawn ``systemd-nspawn@<name>.service`` and ``machine-<name>.scope``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Final

CONTAINERD_TASKS: Final = "/run/containerd/io.containerd.runtime.v2.task"
_HEX64: Final = r"[0-9a-f]{64}"
_SCOPED: Final = re.compile(rf"(?:^|/)(docker|libpod|crio|cri-containerd)-({_HEX64})\.scope(?:/|$)")
_DOCKER: Final = re.compile(rf"(?:^|/)docker/({_HEX64})(?:/|$)")
_LIBPOD: Final = re.compile(rf"(?:^|/)libpod-({_HEX64})(?:/|$)")
_POD: Final = re.compile(
    r"(?:^|/)kubepods[^/]*(?:/[^/]+)*?/(?:kubepods-(?:[a-z]+-)?)?pod([0-9a-f_-]{36})(?:\.slice)?/"
    rf"(?:[a-z-]+-)?({_HEX64})(?:\.scope)?(?:/|$)"
)
_NSPAWN: Final = re.compile(
    r"(?:^|/)machine\.slice/(?:systemd-nspawn@([^/]+)\.service|machine-([^/]+)\.scope)(?:/|$)"
)
_RUNTIMES: Final = {
    "docker": "docker",
    "libpod": "podman",
    "crio": "cri-o",
    "cri-containerd": "containerd",
}


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container as its cgroup path names it (no name yet)."""

    runtime: str
    id: str
    pod_uid: str | None = None
    """Kubernetes pod UID (with dashes), for pods."""
    namespace: str | None = None
    """containerd namespace (``default``, ``k8s.io``, ``moby``), for plain containerd."""


def systemd_unescape(text: str) -> str:
    r"""systemd unit-name escaping: ``\x2d`` is ``-``."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def container_of_path(path: str, containerd_tasks: str = CONTAINERD_TASKS) -> ContainerRef | None:
    """The container a cgroup path belongs to, or None for a host process."""
    if match := _POD.search(path):
        uid, cid = match.groups()
        scoped = _SCOPED.search(path)
        runtime = _RUNTIMES[scoped.group(1)] if scoped else "kubernetes"
        return ContainerRef(runtime, cid, pod_uid=uid.replace("_", "-"))
    if match := _SCOPED.search(path):
        return ContainerRef(_RUNTIMES[match.group(1)], match.group(2))
    if match := _DOCKER.search(path):
        return ContainerRef("docker", match.group(1))
    if match := _LIBPOD.search(path):
        return ContainerRef("podman", match.group(1))
    if match := _NSPAWN.search(path):
        name = systemd_unescape(match.group(1) or match.group(2))
        return ContainerRef("nspawn", name)
    parts = path.strip("/").split("/")
    if len(parts) == 2 and all(parts) and os.path.isdir(f"{containerd_tasks}/{'/'.join(parts)}"):
        return ContainerRef("containerd", parts[1], namespace=parts[0])
    return None


def container_of_cgroup(text: str, containerd_tasks: str = CONTAINERD_TASKS) -> ContainerRef | None:
    """The container named by any line of a ``/proc/PID/cgroup`` text."""
    for line in text.splitlines():
        _hier, _, rest = line.partition(":")
        _controllers, _, path = rest.partition(":")
        found = container_of_path(path, containerd_tasks)
        if found is not None:
            return found
    return None


def _shim_of(pid: int, proc: str) -> ContainerRef | None:
    """containerd's shim is the parent of a container's first process and names it:
    ``containerd-shim-runc-v2 -namespace NS -id ID`` (any containerd state directory)."""
    try:
        with open(f"{proc}/{pid}/stat", encoding="utf-8", errors="replace") as f:
            ppid = int(f.read().rpartition(")")[2].split()[1])
        with open(f"{proc}/{ppid}/cmdline", "rb") as f:
            argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0")]
    except (OSError, ValueError, IndexError):
        return None
    if not argv or not os.path.basename(argv[0]).startswith("containerd-shim"):
        return None
    opts = dict(zip(argv[1::2], argv[2::2], strict=False))
    ns, cid = opts.get("-namespace"), opts.get("-id")
    if not ns or not cid:
        return None
    return ContainerRef("containerd", cid, namespace=ns)


def container_of_pid(pid: int, proc: str = "/proc") -> ContainerRef | None:
    """The container process ``pid`` runs in: its cgroup path, else its containerd shim."""
    try:
        with open(f"{proc}/{pid}/cgroup", encoding="utf-8", errors="replace") as f:
            found = container_of_cgroup(f.read())
    except OSError:
        return None
    if found is not None and found.runtime == "containerd" and found.namespace == "moby":
        return ContainerRef("docker", found.id)
    return found if found is not None else _shim_of(pid, proc)
