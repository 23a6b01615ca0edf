"""``--source psutil`` under the default ``--netns all``: psutil lists tcpscope's own network
namespace only, which is every namespace it can read, so the app, ``connections`` and
``record`` run (``connections`` says on stderr what was not read) instead of refusing;
named namespaces still need netlink. Where there are no namespaces to tell apart (macOS,
Windows), ``all`` is this one view."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from core.commands.connections import PSUTIL_OWN_NAMESPACE
from core.errors import UsageError
from core.netns import namespace_dumps
from core.recording import Recording
from tests.test_cli import tcpscope

LINUX = sys.platform.startswith("linux")


def test_connections_with_psutil_reads_this_namespace_and_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        done = tcpscope("--source", "psutil", "connections", "--json", "--local-port", str(port))
    assert done.returncode == 0, done.stderr
    (doc,) = json.loads(done.stdout)
    assert doc["LocalPort"] == port and doc["State"] == 2
    if LINUX:
        assert f"tcpscope: note: {PSUTIL_OWN_NAMESPACE}" in done.stderr.splitlines()
    # Asked for this namespace only, nothing was left out: no note.
    current = tcpscope("--source", "psutil", "connections", "--netns", "current")
    assert current.returncode == 0, current.stderr
    assert PSUTIL_OWN_NAMESPACE not in current.stderr


def test_record_with_psutil_writes_a_recording(tmp_path: Path) -> None:
    out = tmp_path / "psutil.tsr"
    with socket.create_server(("127.0.0.1", 0)):
        done = tcpscope("--source", "psutil", "record", str(out), "--samples", "2", "--no-ipsec")
    assert done.returncode == 0, done.stderr
    recording = Recording(out)
    assert recording.header.source == "psutil"
    assert len(recording) == 2
    assert recording.snapshot(1).namespaces is None  # this namespace only, as it says


@pytest.mark.skipif(not LINUX, reason="the Linux side of the same choice")
def test_where_namespaces_cannot_be_told_apart_all_is_this_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """macOS and Windows have no /proc/self/ns/net: a fake platform, as no such host is here."""
    monkeypatch.setattr(sys, "platform", "darwin")
    assert namespace_dumps("all", tcp_info=False) is None
    assert namespace_dumps("current", tcp_info=False) is None
    with pytest.raises(UsageError, match="needs Linux"):
        namespace_dumps("web", tcp_info=False)
