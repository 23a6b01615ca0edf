"""The exporter over real namespaces: another namespace's series carry its name in the
``netns`` label, the exporter's own namespace's carry an empty one (no label, to Prometheus),
``tcpscope_namespaces_read`` counts the namespaces read, and a namespace read without tcp_info
has no byte counters."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.metrics.exporter import START_TIMEOUT_S, exporter, value
from tests.netns.lab import free_port, listener, needs_netns, netns, unique

pytestmark = needs_netns


def test_series_name_their_namespace() -> None:
    name = unique("mx")
    port = free_port()
    with (
        netns(name),
        listener(name, port),
        socket.create_server(("127.0.0.1", 0)) as own,
        exporter("--no-ipsec", "--interval", "0.3") as running,  # --netns all: the default
    ):
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            samples = running.wait_sampled()
            theirs = [
                s for s in samples if s.name == "tcpscope_connections" and s.labels["netns"] == name
            ]
            if theirs or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        own_port = own.getsockname()[1]
    # Only the listener lives in the other namespace: one Listen series, counted once.
    assert [(s.labels["state"], s.value) for s in theirs] == [("Listen", 1.0)]
    ours = [s for s in samples if s.name == "tcpscope_connections" and s.labels["netns"] == ""]
    assert any(s.labels["state"] == "Listen" for s in ours), own_port
    # Ours and the test's at least (other tests' namespaces may come and go meanwhile).
    assert (value(samples, "tcpscope_namespaces_read") or 0) >= 2
    # Every socket the sample saw is in exactly one series, whichever its namespace.
    total = sum(s.value for s in samples if s.name == "tcpscope_connections")
    assert total == value(samples, "tcpscope_sample_sockets")


TRANSFER = (
    "import socket,threading,time\n"
    "srv=socket.create_server(('127.0.0.1',0))\n"
    "c=socket.create_connection(srv.getsockname()); s,_=srv.accept()\n"
    "def drain():\n"
    "    while s.recv(1<<16): pass\n"
    "threading.Thread(target=drain,daemon=True).start()\n"
    "print('ready',flush=True)\n"
    "while True:\n"
    "    c.sendall(b'x'*65536); time.sleep(0.1)\n"
)
"""A process that moves 64 KiB every 0.1 s over a loopback connection (and listens)."""
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@contextmanager
def _transfer(ns: str, name: str) -> Iterator[None]:
    """:data:`TRANSFER` run as ``nobody`` inside ``ns``, under the process name ``name``
    (the kernel takes a process's name from the path it was started by: a symlink)."""
    where = Path(tempfile.mkdtemp(prefix="tcpscope-met-"))
    try:
        where.chmod(0o755)
        (where / name).symlink_to(os.path.realpath(sys.executable))
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *NOBODY, str(where / name), "-c", TRANSFER],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            yield
        finally:
            proc.kill()
            proc.wait()
    finally:
        shutil.rmtree(where)


@pytest.mark.parametrize("as_nobody", [True, False], ids=["nobody", "root"])
def test_traffic_without_tcp_info_is_absent_not_zero(as_nobody: bool) -> None:
    # As nobody (no CAP_SYS_ADMIN) the exporter reads the other namespace's sockets from
    # /proc/PID/net/tcp, which has no tcp_info: ~640 KB/s moved while the exporter served
    # bytes_received 0.0. As root it enters the namespace, and the counters are real.
    name = unique("mt")
    proc_name = f"x{secrets.token_hex(4)}"
    process = {"process": proc_name}
    with (
        netns(name),
        _transfer(name, proc_name),
        exporter("--no-ipsec", "--interval", "0.3", prefix=NOBODY if as_nobody else ()) as running,
    ):
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            samples = running.wait_sampled()
            received = value(samples, "tcpscope_process_bytes_received_total", **process)
            shown = value(samples, "tcpscope_connections", state="Established", **process)
            if (shown and (as_nobody or received)) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    without = value(samples, "tcpscope_connections_without_tcp_info", **process)
    sent = value(samples, "tcpscope_process_bytes_sent_total", **process)
    retransmits = value(samples, "tcpscope_process_retransmits_total", **process)
    assert shown == 2
    if as_nobody:
        assert (received, sent, retransmits) == (None, None, None)
        assert without == 3  # both ends of the connection and the listener
    else:
        assert received and received > 0 and sent and sent > 0 and retransmits is not None
        assert without is None
