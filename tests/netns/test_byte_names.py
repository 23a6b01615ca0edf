"""An ``ip netns`` name that is not UTF-8, with controls, bidi and mountinfo's escaped bytes.

Why: ``/proc/self/mountinfo`` was decoded with ``errors="replace"``, so the nsfs file of a
name with a ``\\xff`` byte became a path that does not exist: root read its listeners from
``/proc/PID/net/tcp`` (no tcp_info) under a note saying the namespace "is gone" (ESC, BEL
and U+202E written raw to stderr), the Namespace column showed U+FFFD instead of ``\\xff``,
a namespace with no process lost its sockets, and ``--netns NAME`` failed. Real namespaces,
real listeners, the real CLI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.connections.namespaces import NamespaceInfo, NamespaceView, ReadBy
from core.errors import SourceUnavailable
from core.netns.discover import nsfs_mounts
from core.netns.setns import run_in
from core.recording.redact import Redactor, SnapshotRedactor
from core.textsafe import printable
from tests.netns.lab import free_port, listener, needs_netns, netns, unique

REPO = Path(__file__).resolve().parents[2]
HOSTILE = ("-e\x1b]0;NS\x07\udcff\u202e", "-e\x1b]0;NS\x07\udcff\u202e a\\b\t\r\u2028z")
"""What follows the unique prefix: OSC title, BEL, a byte 0xff that is no UTF-8 (as argv and
``os.fsdecode`` carry it), RLO (the review's name); then also the space, backslash and tab
mountinfo writes as octal, and a CR and U+2028 (line breaks to ``str.splitlines``), not
last: ``--netns`` strips a word."""
RAW = ("\x1b", "\x07", "\u202e", "\ufffd", "\r", "\u2028")
"""What must never reach the terminal (U+FFFD: the byte was lost)."""


def tcpscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        env={**os.environ, "NO_COLOR": "1"}, errors="surrogateescape",
    )  # fmt: skip


def spaces(done: subprocess.CompletedProcess[str]) -> list[tuple[int, dict[str, object]]]:
    """(local port, namespace object) of each row of ``connections --json``."""
    assert done.returncode == 0, done.stderr
    return [(d["LocalPort"], d["tcpscope"]["namespace"]) for d in json.loads(done.stdout)]


def assert_clean(done: subprocess.CompletedProcess[str]) -> None:
    for raw in RAW:
        assert raw not in done.stdout and raw not in done.stderr, (raw, done.stderr)
    assert not any("\udc80" <= ch <= "\udcff" for ch in done.stdout + done.stderr)


def test_mountinfo_mount_points_keep_their_bytes() -> None:
    """Each escaped byte decoded once, raw bytes kept (os.fsencode gives them back)."""
    line = (
        b"612 29 0:4 net:[4026532999] /run/netns/n\\040s\\011x\\134y\\012z\xff\x1b\r\xe2\x80\xa8"
        b" rw,nosuid,nodev,noexec,relatime shared:5 - nsfs nsfs rw\n"
        b"613 29 0:4 net:[4026533000] /run/netns/plain rw shared:5 - nsfs nsfs rw\n"
    )
    found = nsfs_mounts(line)
    assert [os.fsencode(p) for p in found[4026532999]] == [
        b"/run/netns/n s\tx\\y\nz\xff\x1b\r\xe2\x80\xa8"
    ]
    assert found[4026533000] == ["/run/netns/plain"]


def test_a_path_in_a_namespace_error_is_escaped() -> None:
    """A note or error naming a namespace's file wrote ESC, BEL and U+202E to stderr."""
    path = f"/run/netns/{unique('nsbGone')}\x1b]0;x\x07\udcff\u202e"
    with pytest.raises(SourceUnavailable) as caught:
        run_in(path, lambda: None)
    text = str(caught.value)
    assert printable(path) in text and text.isprintable(), text


def test_a_reason_in_a_note_is_escaped_once() -> None:
    """A reason read back from a recording may hold anything: the note shows it escaped, and
    an already escaped name in it keeps its single backslashes."""
    info = NamespaceInfo(
        inode=4026532999, current=False, read_by=ReadBy.PROCFS, name="x",
        reason="network namespace /run/netns/a\\x1b\x1b]0;t\x07\u202e is gone",
    )  # fmt: skip
    [note] = NamespaceView((info,)).notes()
    assert note.isprintable(), note
    assert "/run/netns/a\\x1b\\x1b]0;t\\x07\\u202e is gone" in note


def test_redact_hides_the_name_in_its_escaped_reason() -> None:
    """Errors name a namespace's file escaped; ``--redact`` replaced only the raw name."""
    name = "nsb-e\x1b]0;x\x07\udcff\u202e"
    info = NamespaceInfo(
        inode=4026532999, current=False, read_by=ReadBy.PROCFS, name=name,
        reason=f"network namespace /run/netns/{printable(name)} is gone (No such file)",
    )  # fmt: skip
    hidden = SnapshotRedactor(Redactor(b"k")).namespace(info)
    assert hidden is not None and hidden.reason is not None and hidden.name is not None
    assert "nsb-e" not in hidden.reason and hidden.name in hidden.reason, hidden.reason


@pytest.fixture(params=HOSTILE, ids=["review", "mountinfo-escapes"])
def hostile(request: pytest.FixtureRequest) -> Iterator[str]:
    with netns(unique("nsb") + request.param) as name:
        yield name


@needs_netns
def test_a_namespace_named_with_any_bytes_is_read_by_sock_diag(hostile: str) -> None:
    port = free_port()
    with listener(hostile, port):
        done = tcpscope("connections", "--json", "--local-port", str(port))
        assert_clean(done)
        assert done.stderr == ""  # no "read from /proc/PID/net/tcp … is gone" note
        [(got, space)] = spaces(done)
        assert got == port
        assert space["name"] == printable(hostile) and "\\xff" in printable(hostile)
        assert space["read_by"] == "sock_diag"
        assert space["inode"] == os.stat(f"/run/netns/{hostile}").st_ino
        table = tcpscope("connections", "--local-port", str(port))
        assert_clean(table)
        assert printable(hostile) in table.stdout
        # What the table shows, and the name itself as a shell passes it, both find it.
        for word in (hostile, printable(hostile)):
            done = tcpscope("connections", "--json", "--netns", word)
            assert_clean(done)
            assert [(p, s["name"]) for p, s in spaces(done)] == [(port, printable(hostile))]


@needs_netns
def test_a_namespace_with_no_process_and_any_bytes_is_read(hostile: str) -> None:
    """Kept by its mount alone: its sockets were missing, and ``--netns NAME`` "is gone"."""
    sock = run_in(f"/run/netns/{hostile}", socket.socket)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        for which in ("all", hostile):
            done = tcpscope("connections", "--json", "--local-port", str(port), "--netns", which)
            assert_clean(done)
            assert [(p, s["name"]) for p, s in spaces(done)] == [(port, printable(hostile))]
    finally:
        sock.close()
