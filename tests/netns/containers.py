"""Real containers for the tests, offline: a busybox rootfs, podman, a private Docker daemon
and a private containerd, each under unique names and private directories.

Why like this: no registry is reachable, so images come from a local busybox-static rootfs;
crun refuses the cgroup v1 hybrid hosts this runs on, so podman uses runc; busybox as PID 1
ignores SIGTERM, so containers are removed with a zero timeout. Each helper skips the test
with the reason when its runtime is missing or does not start in time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"
START_S = 30.0
SERVE = ["/bin/busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/busybox", "true"]


def need(*tools: str) -> None:
    """Skip unless every tool is on PATH and busybox is the static one."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: podman, docker.io, containerd, runc)")
    if not os.path.exists(BUSYBOX):
        pytest.skip("needs busybox-static for the container rootfs")


def name(prefix: str) -> str:
    """A container name no one else uses."""
    return f"{prefix}{os.getpid()}{secrets.token_hex(2)}"


def rootfs(where: Path) -> Path:
    """A minimal root filesystem: static busybox, sh, passwd and group."""
    root = where / "rootfs"
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    (root / "bin" / "sh").symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    return root


def run(*argv: str, stdin: bytes | None = None, timeout: float = START_S) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.skip(f"{argv[0]} {argv[1]} failed here: {done.stderr.decode()[-300:]}")
    return done.stdout.decode().strip()


def tarball(root: Path) -> bytes:
    return subprocess.run(
        ["tar", "-C", str(root), "-c", "."], capture_output=True, check=True
    ).stdout


@contextmanager
def podman_image(tmp: Path) -> Iterator[str]:
    """A podman image of the busybox rootfs (removed afterwards)."""
    need("podman", "runc")
    image = f"localhost/{name('t16img')}:latest"
    run(
        "podman",
        "import",
        "--change",
        'CMD ["/bin/busybox","sh"]',
        "-",
        image,
        stdin=tarball(rootfs(tmp)),
    )
    try:
        yield image
    finally:
        subprocess.run(["podman", "rmi", "-f", image], capture_output=True, check=False)


PODMAN_RUN = [
    "podman",
    "--runtime",
    "runc",
    "run",
    "-d",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=4096:4096",
    "--network",
    "none",
]


def podman_pid(cname: str) -> int:
    """The host PID of a running podman container's first process."""
    return int(run("podman", "inspect", "-f", "{{.State.Pid}}", cname))


def podman_rm(*cnames: str) -> None:
    """Remove containers now (busybox as PID 1 ignores SIGTERM: zero timeout)."""
    if cnames:
        subprocess.run(["podman", "rm", "-f", "-t", "0", *cnames], capture_output=True, check=False)


@contextmanager
def podman_container(tmp: Path) -> Iterator[tuple[str, str, int]]:
    """(name, id, host pid) of a podman container listening on :8080 in its own netns."""
    with podman_image(tmp) as image:
        cname = name("t16pod")
        try:
            cid = run(*PODMAN_RUN, "--name", cname, image, *SERVE)
            yield cname, cid, podman_pid(cname)
        finally:
            podman_rm(cname)


def _wait(check: object, what: str) -> None:
    deadline = time.monotonic() + START_S
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.skip(f"{what} did not start within {START_S:g} s")
        time.sleep(0.2)


@contextmanager
def _daemon(argv: list[str], log: Path, ready: object, what: str) -> Iterator[None]:
    with log.open("wb") as out:
        daemon = subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=True)
    try:
        _wait(lambda: daemon.poll() is None and ready(), what)  # type: ignore[operator]
        yield
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()


@contextmanager
def docker_container(tmp: Path) -> Iterator[tuple[str, str, int]]:
    """A private dockerd (own data root, exec root and socket) running one container."""
    need("dockerd", "docker")
    base = Path(f"/tmp/{name('t16d')}")  # short: a unix socket path has 108 bytes
    base.mkdir()
    sock = f"unix://{base}/d.sock"
    cli = ["docker", "-H", sock]

    def answers() -> bool:
        return subprocess.run([*cli, "info"], capture_output=True, check=False).returncode == 0

    argv = [
        "dockerd",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--data-root",
        f"{base}/data",
        "--exec-root",
        f"{base}/exec",
        "-H",
        sock,
        "--pidfile",
        f"{base}/d.pid",
        "--containerd-namespace",
        f"{base.name}",
        "--containerd-plugins-namespace",
        f"{base.name}p",
    ]
    try:
        with _daemon(argv, tmp / "dockerd.log", answers, "dockerd"):
            image = name("t16img")
            run(*cli, "import", "-", image, stdin=tarball(rootfs(tmp)))
            cname = name("t16dock")
            try:
                cid = run(*cli, "run", "-d", "--network", "none", "--name", cname, image, *SERVE)
                pid = int(run(*cli, "inspect", "-f", "{{.State.Pid}}", cname))
                yield cname, cid, pid
            finally:
                subprocess.run([*cli, "rm", "-f", cname], capture_output=True, check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def containerd_container(tmp: Path) -> Iterator[tuple[str, str, int]]:
    """A private containerd running one ``ctr run --rootfs`` container (its own netns)."""
    need("containerd", "ctr", "runc")
    base = Path(f"/tmp/{name('t16c')}")
    base.mkdir()
    address = f"{base}/c.sock"
    namespace = name("t16ns")
    ctr = ["ctr", "-a", address, "-n", namespace]

    def answers() -> bool:
        done = subprocess.run(["ctr", "-a", address, "version"], capture_output=True, check=False)
        return done.returncode == 0

    argv = [
        "containerd",
        "--root",
        f"{base}/root",
        "--state",
        f"{base}/state",
        "--address",
        address,
    ]
    root = rootfs(tmp)
    try:
        with _daemon(argv, tmp / "containerd.log", answers, "containerd"):
            cid = name("t16ctr")
            try:
                run(*ctr, "run", "-d", "--rootfs", str(root), cid, *SERVE)
                tasks = run(*ctr, "tasks", "ls")
                pid = next(
                    int(line.split()[1]) for line in tasks.splitlines() if line.startswith(cid)
                )
                yield f"{namespace}/{cid}", cid, pid
            finally:
                subprocess.run(
                    [*ctr, "tasks", "kill", "-s", "SIGKILL", cid], capture_output=True, check=False
                )
                time.sleep(0.3)
                subprocess.run([*ctr, "tasks", "rm", "-f", cid], capture_output=True, check=False)
                subprocess.run([*ctr, "containers", "rm", cid], capture_output=True, check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)
