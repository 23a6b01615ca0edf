"""``--redact`` and user names, with real processes of real users (root and nobody): no user
name (``root`` included) and no uid survives anywhere, in a recording's bytes or in the
snapshots the app is fed; home directories in command lines lose their user too."""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.connections.model import ProcessInfo, TcpConnection
from core.connections.snapshot import Snapshot
from core.recording.reader import Recording
from core.recording.redact import KEY_ENV, RedactingFeed, Redactor
from core.sampling.sampler import Sampler
from tests.integration.sockets import SYSTEM_PYTHON, listener_held_by_nobody

ROOT = Path(__file__).resolve().parents[2]
HOME_USER = "tcpscopetestuser"
"""A user named only by a home directory in a root process's command line."""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root (to run a process as nobody next to one of root)"
)


@contextlib.contextmanager
def listener_held_by_root() -> Iterator[int]:
    """A loopback listener of a root process whose command line names a home directory."""
    holder = subprocess.Popen(
        [SYSTEM_PYTHON, "-c", "import socket, sys; s = socket.create_server(('127.0.0.1', 0));"
         " print(s.getsockname()[1], flush=True); sys.stdin.read()",
         f"/home/{HOME_USER}/notes.txt"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/",
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        yield int(holder.stdout.readline())
    finally:
        holder.kill()
        holder.wait(timeout=10)


def named(name: str) -> re.Pattern[bytes]:
    """``name`` as a word (as the redactor replaces it), not letters inside another word."""
    return re.compile(rb"(?<![\w.-])" + re.escape(name.encode()) + rb"(?![\w-])")


def owner(snap: Snapshot, port: int) -> tuple[TcpConnection, ProcessInfo]:
    conn = next(c for c in snap.connections.values() if c.local_port == port and c.state == 2)
    assert conn.owning_process is not None
    return conn, snap.processes[conn.owning_process]


def check_pseudonymised(snap: Snapshot, nobody_port: int, root_port: int) -> None:
    (nobody_conn, nobody), (root_conn, root) = owner(snap, nobody_port), owner(snap, root_port)
    assert nobody.username and nobody.username.startswith("user-")
    assert root.username and root.username.startswith("user-")
    assert nobody.username != root.username
    assert nobody_conn.uid is None and root_conn.uid is None
    assert root.cmdline is not None
    assert any(a.startswith("/home/user-") for a in root.cmdline), root.cmdline
    for proc in snap.processes.values():
        text = repr((proc.name, proc.username, proc.exe, proc.cmdline)).encode()
        for name in ("root", "nobody", HOME_USER):
            assert not named(name).search(text), (name, text)
    assert all(c.uid is None for c in snap.connections.values())


def test_recording_of_root_and_nobody_keeps_no_user_name_or_uid(tmp_path: Path) -> None:
    out = tmp_path / "red.tsr"
    with listener_held_by_nobody() as nobody_port, listener_held_by_root() as root_port:
        done = subprocess.run(
            [sys.executable, "-m", "tui", "--redact", "--netns", "current", "record", str(out),
             "--samples", "2", "--interval", "0.2", "--no-ipsec"],
            env={**os.environ, KEY_ENV: "k"}, cwd=ROOT, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rec = Recording(out)
    check_pseudonymised(rec.snapshot(len(rec) - 1), nobody_port, root_port)
    raw = gzip.decompress(out.read_bytes())
    for name in ("root", "nobody", HOME_USER):
        assert not named(name).search(raw), name
    assert not re.search(rb"(?<![\d.])65534(?![\d.])", raw)  # nobody's uid


async def test_live_feed_the_app_sees_has_no_user_name_or_uid() -> None:
    """``tcpscope --redact``: the app is fed through a RedactingFeed over the live sampler."""
    from core.connections.sources import get_source

    with listener_held_by_nobody() as nobody_port, listener_held_by_root() as root_port:
        feed = RedactingFeed(Sampler(get_source("auto"), interval_s=0.2), Redactor(b"k"))
        try:
            snap = await anext(feed.stream())
        finally:
            await feed.aclose()
    check_pseudonymised(snap, nobody_port, root_port)


def test_user_names_in_free_text() -> None:
    r = Redactor(b"k")
    assert r.user("root").startswith("user-") and r.user("root") == r.user("root")
    alice = r.user("alice")
    text = r.text("sudo -u alice --root-dir /root/x /home/bob/y alice:staff malice 1000")
    assert text == (
        f"sudo -u {alice} --root-dir /{r.user('root')}/x /home/{r.user('bob')}/y"
        f" {alice}:staff malice 1000"
    )
    r.user("1000")  # an unresolved uid as a name: a number in free text stays a number
    assert r.text("port 1000") == "port 1000"
