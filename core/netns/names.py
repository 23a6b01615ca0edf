"""Container names for namespaces: resolved off the sampler's thread, cached, never required.

Why lazily: a name comes from files (Docker's ``config.v2.json``, Podman's
``containers.json``, ``/var/log/pods``) or, failing those, from the runtime's local API or
CLI (the Docker socket, ``podman inspect``), which can take a second. The sampler asks,
gets what is known now (possibly nothing), and a worker thread fills the cache; the next
sample shows the name. Nothing here is needed for sockets to be shown.

Why only reading, and the runtimes only as they already run: tcpscope promises to leave
nothing behind, on a server reached with ``--remote`` as here. ``podman`` run by any user
but root is *rootless* podman: it starts a ``catatonit -P`` pause process that outlives us
and writes ``~/.local/share/containers``, ``/tmp/podman-run-UID`` and
``/tmp/containers-user-UID``. So the CLI runs only as root (euid 0); any other user gets the
name from the files it can read, else the container shows as ``podman:<id>``. Likewise the
Docker socket is asked only while a ``dockerd`` runs: a socket-activated ``docker.socket``
would start the daemon on our connection.
"""

from __future__ import annotations

import contextlib
import glob
import os
import queue
import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from core.connections.namespaces import ContainerInfo
from core.netns.cgroups import ContainerRef, container_of_pid

if TYPE_CHECKING:
    import http.client

API_TIMEOUT_S: Final = 1.0
"""Longest wait for a runtime's API or CLI; past it the container stays unnamed."""
DOCKER_ROOTS: Final = ("/var/lib/docker",)
PODMAN_STORAGE: Final = ("/var/lib/containers/storage",)
POD_LOGS: Final = "/var/log/pods"
CONTAINER_LOGS: Final = "/var/log/containers"


def _cmdlines(proc: str, names: Iterable[str]) -> list[list[str]]:
    """Argument vectors of running processes whose comm is one of ``names``."""
    wanted = set(names)
    out: list[list[str]] = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/comm", encoding="utf-8", errors="replace") as f:
                if f.read().strip() not in wanted:
                    continue
            with open(f"{proc}/{entry}/cmdline", "rb") as f:
                out.append([a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a])
        except OSError:
            continue
    return out


def _option(argv: list[str], *names: str) -> list[str]:
    """Values of ``--name X`` / ``--name=X`` options in an argument vector."""
    values: list[str] = []
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                values.append(argv[i + 1])
            elif arg.startswith(name + "="):
                values.append(arg[len(name) + 1 :])
    return values


def _read_json(path: str) -> object:
    import json  # (only for a host with containers: 2 ms of a one-shot's start else)

    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _json_of(data: bytes) -> object:
    import json

    return json.loads(data)


def _unix_http(path: str) -> http.client.HTTPConnection:
    """An HTTP connection over the unix socket ``path`` (http.client is imported only here:
    it costs a one-shot 15 ms, and few hosts run Docker)."""
    import http.client

    class UnixHTTP(http.client.HTTPConnection):
        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(API_TIMEOUT_S)
            sock.connect(path)
            self.sock = sock

    return UnixHTTP("localhost", timeout=API_TIMEOUT_S)


def runs_as_root() -> bool:
    """Whether this process's effective user is root: the only one for whom a runtime's CLI
    works on the host's containers without starting anything of its own (see above)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


class ContainerNamer:
    """Names for :class:`ContainerRef` s, from files first and local APIs second."""

    def __init__(self, proc: str = "/proc", root: str = "") -> None:
        """``root`` prefixes every host path (tests point it at a fixture tree)."""
        self._proc = proc
        self._root = root

    def name(self, ref: ContainerRef) -> ContainerInfo:
        """The container with whatever name and pod could be found."""
        pod = self._pod(ref.pod_uid) if ref.pod_uid else None
        name: str | None
        if ref.runtime == "nspawn":
            name = ref.id
        elif ref.pod_uid:
            name = self._pod_container(ref.id)
        elif ref.runtime == "docker":
            name = self._docker(ref.id)
        elif ref.runtime == "podman":
            name = self._podman(ref.id)
        elif ref.runtime == "containerd":
            name = ref.id if ref.namespace is None else f"{ref.namespace}/{ref.id}"
        else:
            name = None
        return ContainerInfo(ref.runtime, ref.id, name, pod)

    # -- Kubernetes ---------------------------------------------------------------------
    def _pod(self, uid: str) -> str | None:
        """``namespace/pod`` from the kubelet's ``/var/log/pods/<ns>_<pod>_<uid>``."""
        for path in glob.glob(f"{self._root}{POD_LOGS}/*_*_{glob.escape(uid)}"):
            ns, _, rest = os.path.basename(path).partition("_")
            pod = rest.rpartition("_")[0]
            if ns and pod:
                return f"{ns}/{pod}"
        return None

    def _pod_container(self, cid: str) -> str | None:
        """The container's name from the kubelet's ``<pod>_<ns>_<name>-<id>.log`` links."""
        for path in glob.glob(f"{self._root}{CONTAINER_LOGS}/*-{cid}.log"):
            stem = os.path.basename(path)[: -len(f"-{cid}.log")]
            name = stem.split("_")[-1]
            if name:
                return name
        return None

    # -- Docker ---------------------------------------------------------------------------
    def _docker(self, cid: str) -> str | None:
        daemons = _cmdlines(self._proc, ("dockerd",))
        roots = [*DOCKER_ROOTS]
        sockets = ["/var/run/docker.sock"]
        for argv in daemons:
            roots += _option(argv, "--data-root", "-g", "--graph")
            sockets += [
                h[len("unix://") :]
                for h in _option(argv, "-H", "--host")
                if h.startswith("unix://")
            ]
        for root in dict.fromkeys(roots):
            with contextlib.suppress(OSError, ValueError):
                doc = _read_json(f"{self._root}{root}/containers/{cid}/config.v2.json")
                if isinstance(doc, dict) and isinstance(doc.get("Name"), str):
                    return str(doc["Name"]).lstrip("/")
        if not daemons:  # (connecting could socket-activate one: see the module docstring)
            return None
        for path in dict.fromkeys(sockets):
            name = self._docker_api(f"{self._root}{path}", cid)
            if name is not None:
                return name
        return None

    @staticmethod
    def _docker_api(path: str, cid: str) -> str | None:
        if not os.path.exists(path):
            return None
        import http.client

        conn = _unix_http(path)
        try:
            conn.request("GET", f"/containers/{cid}/json")
            reply = conn.getresponse()
            if reply.status != 200:
                return None
            doc = _json_of(reply.read())
        except (OSError, ValueError, http.client.HTTPException):
            return None
        finally:
            conn.close()
        name = doc.get("Name") if isinstance(doc, dict) else None
        return name.lstrip("/") if isinstance(name, str) else None

    # -- Podman ---------------------------------------------------------------------------
    def _podman(self, cid: str) -> str | None:
        for storage in PODMAN_STORAGE:
            for path in glob.glob(f"{self._root}{storage}/*-containers/containers.json"):
                with contextlib.suppress(OSError, ValueError):
                    doc = _read_json(path)
                    for entry in doc if isinstance(doc, list) else ():
                        if isinstance(entry, dict) and entry.get("id") == cid:
                            names = entry.get("names")
                            if isinstance(names, list) and names and isinstance(names[0], str):
                                return names[0]
        if self._root or not runs_as_root():
            return None  # rootless podman would leave a pause process and files behind
        import shutil  # (and subprocess: 6 ms of a one-shot's start, for a rare host)
        import subprocess

        podman = shutil.which("podman")
        if podman is None:
            return None
        try:
            done = subprocess.run(
                [podman, "inspect", "--format", "{{.Name}}", cid],
                capture_output=True,
                text=True,
                timeout=API_TIMEOUT_S * 3,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        name = done.stdout.strip()
        return name if done.returncode == 0 and name else None


class NameResolver:
    """Namespace inode → container, filled by one worker thread; asking never blocks."""

    def __init__(self, proc: str = "/proc", namer: ContainerNamer | None = None) -> None:
        """Start the worker lazily, on the first request."""
        self._proc = proc
        self._namer = namer or ContainerNamer(proc)
        self._known: dict[int, ContainerInfo | None] = {}
        self._asked: set[int] = set()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[int, tuple[int, ...]] | threading.Event | None] = (
            queue.SimpleQueue()
        )
        self._worker: threading.Thread | None = None
        self.version = 0
        """Bumped whenever a lookup finished (the caller rebuilds its view then)."""

    def container(self, inode: int, pids: tuple[int, ...]) -> ContainerInfo | None:
        """What is known of ``inode``'s container now; asks the worker the first time."""
        with self._lock:
            if inode in self._known:
                return self._known[inode]
            if inode in self._asked or not pids:
                return None
            self._asked.add(inode)
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="tcpscope-names", daemon=True)
            self._worker.start()
        self._queue.put((inode, pids))
        return None

    def forget(self, inode: int) -> None:
        """The namespace is gone: drop its entry (inodes are reused)."""
        with self._lock:
            self._known.pop(inode, None)
            self._asked.discard(inode)

    def close(self) -> None:
        """Stop the worker (it finishes the lookup in hand)."""
        if self._worker is not None:
            self._queue.put(None)

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Block until every lookup asked so far finished (tests, one-shot CLI)."""
        if self._worker is None:
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            inode, pids = item
            try:
                found = self._lookup(pids)
            except Exception:  # a lookup never takes the worker down
                found = None
            with self._lock:
                if inode in self._asked:
                    self._known[inode] = found
                    self.version += 1

    def _lookup(self, pids: tuple[int, ...]) -> ContainerInfo | None:
        for pid in pids[:8]:
            ref = container_of_pid(pid, self._proc)
            if ref is not None:
                return self._namer.name(ref)
        return None
