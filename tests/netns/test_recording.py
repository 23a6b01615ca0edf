"""``record`` across namespaces: the replay has the namespace view and the namespaced
InstanceIDs; ``--redact`` pseudonymises namespace names; files without namespaces still load."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from core.connections.namespaces import NamespaceInfo, NamespaceView, ReadBy
from core.recording.codec import CONNECTION, NAMESPACES
from core.recording.reader import Recording
from tests.netns.lab import free_port, listener, needs_netns, netns, unique

ROOT = Path(__file__).resolve().parents[2]


def record(path: Path, *flags: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--no-ipsec", *flags, "record", str(path), "--samples", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@needs_netns
def test_record_and_redact_carry_namespaces(tmp_path: Path) -> None:
    port = free_port()
    with (
        netns(unique("t16ra")) as a,
        netns(unique("t16rb")) as b,
        listener(a, port),
        listener(b, port),
    ):
        plain, hidden = tmp_path / "plain.tsr", tmp_path / "redacted.tsr"
        record(plain, "--netns", f"{a},{b}")
        record(hidden, "--netns", f"{a},{b}", "--redact")
    snap = Recording(plain).snapshot(1)
    assert snap.namespaces is not None
    names = {i.name for i in snap.namespaces.namespaces}
    assert names == {a, b}
    ours = [c for c in snap.connections.values() if c.local_port == port]
    assert len(ours) == 2 and all(c.instance_id.startswith("tcpscope:ns") for c in ours)
    redacted = Recording(hidden).snapshot(1)
    assert redacted.namespaces is not None
    shown = {i.name for i in redacted.namespaces.namespaces}
    assert len(shown) == 2 and not shown & {a, b}
    assert all(n is not None and n.startswith("netns-") for n in shown)
    assert redacted.namespaces.selection == "(redacted)"


def test_records_written_before_namespaces_still_decode() -> None:
    from datetime import UTC, datetime

    from core.connections.model import OwnerStatus, TcpState
    from core.connections.records import LINUX_DEFAULTS, new_connection

    conn = new_connection(
        family=4,
        local_address="127.0.0.1",
        local_port=80,
        remote_address="0.0.0.0",
        remote_port=0,
        state=TcpState.LISTEN,
        owning_process=None,
        owner_status=OwnerStatus.NOT_FOUND,
        first_seen=datetime(2026, 1, 1, tzinfo=UTC),
        created_before_start=True,
        defaults=LINUX_DEFAULTS,
        netns=4026532000,
    )
    encoded = CONNECTION.encode(conn)
    old = encoded[:-1]  # a version-1 file has no netns field
    assert CONNECTION.decode(old).netns is None
    assert CONNECTION.decode(encoded) == conn
    view = NamespaceView((NamespaceInfo(4026532000, False, ReadBy.PROCFS, "blue"),), "blue")
    assert NAMESPACES.decode(NAMESPACES.encode(view)) == view


def test_stand_in_keys_and_learned_inodes_round_trip() -> None:
    """A namespace keyed by a stand-in (negative: the PID it was found through) records and
    replays with its ``nspid`` InstanceIDs and the inode learned since; views written before
    ``learned_inode`` existed still decode."""
    from datetime import UTC, datetime

    from core.connections.model import OwnerStatus, TcpState
    from core.connections.records import LINUX_DEFAULTS, new_connection

    conn = new_connection(
        family=4, local_address="127.0.0.1", local_port=80, remote_address="0.0.0.0",
        remote_port=0, state=TcpState.LISTEN, owning_process=None,
        owner_status=OwnerStatus.NOT_FOUND, first_seen=datetime(2026, 1, 1, tzinfo=UTC),
        created_before_start=True, defaults=LINUX_DEFAULTS, netns=-4242,
    )  # fmt: skip
    assert conn.instance_id.startswith("tcpscope:nspid4242/")
    assert CONNECTION.decode(CONNECTION.encode(conn)) == conn
    info = NamespaceInfo(-4242, False, ReadBy.PROCFS, "blue", stand_in=True, via_pid=4242)
    learned = NamespaceView((dataclasses.replace(info, learned_inode=4026532000),))
    assert NAMESPACES.decode(NAMESPACES.encode(learned)) == learned
    assert learned.namespaces[0].own_inode == 4026532000 and info.own_inode is None
    old = NAMESPACES.encode(NamespaceView((info,)))
    old[0][0] = old[0][0][:-2]  # a file from before learned_inode (and cookie)
    assert NAMESPACES.decode(old) == NamespaceView((info,))
