"""What ``--remote`` says across a dropped link, and which failure it names, through a real sshd
(tests/lab/ssh_lab.py): the recording of an outage, a slow reconnection's stages, the
CreationTime bounds of rows seen on both sides of the gap, and ssh's and the loader's errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from core.connections import Snapshot, TcpConnection, TcpState
from core.connections.property_rules import cell_rule
from core.recording.reader import Recording
from core.remote import session
from core.remote.feed import DISCONNECTED, RemoteFeed
from tests.lab.ssh_lab import SERVER_PYTHON, TC, SshLab, have_ssh_lab, listen_in_namespace
from tests.remote.lab_feed import open_feed
from tui.connections.summary import age_text

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]
TCPSCOPE = [sys.executable, "-m", "tui"]


def wait_for(ok: Callable[[], bool], timeout_s: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


def record_across_a_drop(
    lab: SshLab, path: Path, duration_s: float = 8, drop_after_s: float = 0.6
) -> Recording:
    """``record --remote`` for ``duration_s`` with sshd killed ``drop_after_s`` into the
    recording and started again 0.5 s later (the first attempt comes 1 s after the drop)."""
    proc = subprocess.Popen(
        [*TCPSCOPE, "--remote", lab.target, "--netns", "current", "--interval", "0.2",
         "record", str(path), "--duration", str(duration_s)],
        env=lab.env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(lab.agent_pids()) and path.exists() and path.stat().st_size > 0)
        time.sleep(drop_after_s)
        lab.kill_sshd()
        time.sleep(0.5)
        lab.start_sshd()
        code = proc.wait(40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None
    assert code == 0, proc.stderr.read()
    return Recording(str(path))


def listener_of(snap: Snapshot | None, port: int) -> TcpConnection | None:
    if snap is None:
        return None
    conns = snap.connections.values()
    found = [c for c in conns if c.local_port == port and c.state == TcpState.LISTEN]
    return found[0] if found else None


def open_outage_feed(lab: SshLab, monkeypatch: pytest.MonkeyPatch) -> RemoteFeed:
    return open_feed(lab, monkeypatch, interval_s=0.3, ghost_ttl_s=30.0, netns="current")


def test_a_recorded_outage_is_one_stale_sample_and_rows_stay_the_same(
    lab: SshLab, server_listener: int, tmp_path: Path
) -> None:
    """Not every connection closed at the last good sample's time and reopened after: one
    sample at the drop's own time keeps the rows (stale, with the error), and the listener
    open across the gap is the same row before, during and after."""
    rec = record_across_a_drop(lab, tmp_path / "outage.tsr")
    snaps = [rec.snapshot(i) for i in range(len(rec))]
    down = [i for i, s in enumerate(snaps) if s.error is not None]
    assert len(down) == 1, [(s.seq, s.time, s.error) for s in snaps]
    (i,) = down
    before, marker, after = snaps[i - 1], snaps[i], snaps[i + 1]
    assert DISCONNECTED in marker.error.message and marker.stale  # type: ignore[union-attr]
    assert marker.link_down == DISCONNECTED  # a replay shows it as not live, as the TUI did
    assert before.link_down is None and after.link_down is None
    assert marker.time > before.time  # stamped with its own time
    assert after.time - marker.time > (marker.time - before.time)  # the gap stays a gap
    assert marker.connections.keys() == before.connections.keys() and not marker.diff.removed
    row = listener_of(before, server_listener)
    assert row is not None
    assert all(s.connections.get(row.instance_id) is not None for s in snaps[i - 1 :])
    assert row.instance_id not in after.diff.added | after.diff.removed
    # What changed is what really changed: the restarted sshd's listener and the new session.
    changed = [*after.diff.added, *after.diff.removed]
    assert changed and all(f"]:{lab.port}-" in cid for cid in changed), changed
    assert after.seq == marker.seq + 1 and after.started_at == before.started_at


@pytest.mark.skipif(not os.access(TC, os.X_OK), reason=f"iproute2's tc not found ({TC})")
def test_a_slow_reconnection_says_what_it_does_now(
    lab: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While an attempt sends the agent over a slow link, the header and the banner say so,
    not the last attempt's failure."""
    feed = open_outage_feed(lab, monkeypatch)
    try:
        wait_for(lambda: feed.latest is not None, what="a first sample")
        lab.limit_upload(640)  # the agent takes ~4 s to send
        lab.kill_sshd()
        wait_for(lambda: feed.link_status is not None, what="the drop")
        lab.start_sshd()
        seen: list[tuple[str | None, str]] = []

        def sending() -> bool:
            latest = feed.latest
            banner = latest.error.message if latest and latest.error else ""
            seen.append((feed.link_status, banner))
            return "sending the agent" in (feed.link_status or "")

        wait_for(sending, 30, "the sending stage")
        status, banner = seen[-1]
        assert status is not None and status.startswith(f"{DISCONNECTED}: attempt ")
        assert ", sending the agent (" in status and "kB)…" in status
        assert "failed" not in banner and ": sending the agent (" in banner
        wait_for(lambda: feed.reconnects == 1, 60, "the reconnection")
        wait_for(lambda: feed.link_status is None, 10, "the header cleared")
    finally:
        lab.limit_upload(None)
        asyncio.run(feed.aclose())


@pytest.mark.skipif(not os.access(TC, os.X_OK), reason=f"iproute2's tc not found ({TC})")
def test_a_link_that_got_slower_since_the_start_still_reconnects(
    lab: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first start was quick, so a reconnection gets the minimum time; the link then got
    slower than that minimum allows for sending the agent. An attempt cut while the server
    was still receiving it says so, and the next one gets twice the time, until one is
    enough. (The minimum is lowered from 30 s so the test takes seconds.)"""
    monkeypatch.setattr(session, "START_TIMEOUT_S", 2.0)
    feed = open_outage_feed(lab, monkeypatch)
    try:
        wait_for(lambda: feed.latest is not None, what="a first sample")
        lab.limit_upload(640)  # the agent now takes ~4 s to send: more than the 2 s allowed
        lab.kill_sshd()
        wait_for(lambda: feed.link_status is not None, what="the drop")
        lab.start_sshd()
        said: list[str] = []

        def back() -> bool:
            latest = feed.latest
            message = latest.error.message if latest and latest.error else None
            if message is not None and (not said or said[-1] != message):
                said.append(message)
            return feed.reconnects == 1

        wait_for(back, 90, "the reconnection")
    finally:
        lab.limit_upload(None)
        asyncio.run(feed.aclose())
    failed = [m for m in said if " failed: " in m]
    assert failed and all("still sending the agent after " in m for m in failed), said
    assert not any("no answer" in m for m in said), said
    assert "attempt 1 failed" in failed[0] and "after 2 s" in failed[0]
    assert "after 4 s" in failed[1] if len(failed) > 1 else True  # doubled


def plain(text: object) -> str:
    console = Console(width=300, record=True)
    console.print(text)
    return " ".join(console.export_text().split())


def test_a_row_seen_before_the_drop_keeps_its_creation_bound(
    lab: SshLab, server_listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a reconnection the new agent finds every socket "open before its start"; a row
    seen before the drop keeps its earlier bound (and "tcpscope's start" stays the first
    session's), one first found at the reconnection is said to be bounded by it, and one
    that closed during the gap fades out as a ghost."""
    closing, closing_port = listen_in_namespace(lab.netns)
    feed = open_outage_feed(lab, monkeypatch)
    opened: subprocess.Popen[str] | None = None
    try:
        wait_for(lambda: listener_of(feed.latest, closing_port) is not None, what="rows")
        first = feed.latest
        assert first is not None
        kept = listener_of(first, server_listener)
        assert kept is not None and kept.created_before_start
        time.sleep(1.2)  # the reconnection's bound is later to the second
        lab.kill_sshd()
        wait_for(lambda: feed.link_status is not None, what="the drop")
        closing.kill()
        closing.wait()
        opened, opened_port = listen_in_namespace(lab.netns)  # during the gap
        lab.start_sshd()
        wait_for(lambda: feed.reconnects == 1 and feed.link_status is None, 60, "reconnection")
        snap = feed.latest
        assert snap is not None
        again, new = listener_of(snap, server_listener), listener_of(snap, opened_port)
        assert again is not None and new is not None
        assert again.instance_id == kept.instance_id
        assert (again.creation_time, again.created_before_start) == (
            kept.creation_time,
            kept.created_before_start,
        )
        assert snap.started_at == first.started_at
        assert new.creation_time is not None and new.creation_time > first.started_at
        said = plain(age_text(again, snap.started_at, snap.time))
        assert "(tcpscope's start)" in said
        said = plain(age_text(new, snap.started_at, snap.time))
        assert "(tcpscope's start)" not in said and "(tcpscope's reconnection)" in said
        why = cell_rule(new, "CreationTime", snap.source, snap.started_at).text
        assert "reconnected" in why and "first sample" not in why
        why = cell_rule(again, "CreationTime", snap.source, snap.started_at).text
        assert "open before tcpscope's first sample" in why
        ghosts = {g.connection.local_port for g in snap.ghosts}
        assert closing_port in ghosts and server_listener not in ghosts
    finally:
        asyncio.run(feed.aclose())
        for proc in (closing, opened):
            if proc is not None:
                proc.kill()
                proc.wait()


def run_with_ssh(lab: SshLab, ssh: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TCPSCOPE, "--remote", lab.target, *args, "connections"],
        capture_output=True,
        text=True,
        env={**lab.env, "TCPSCOPE_SSH": ssh},
        timeout=60,
        check=False,
    )


def test_a_changed_host_key_is_named_apart_from_an_unknown_one(lab: SshLab, tmp_path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
        check=True,
    )
    other = (tmp_path / "other.pub").read_text().split()[:2]
    changed, unknown = tmp_path / "changed", tmp_path / "unknown"
    changed.write_text(f"[{lab.address}]:{lab.port} {' '.join(other)}\n")
    unknown.write_text("")
    revoked = tmp_path / "revoked"
    known = (lab.dir / "known_hosts").read_text()
    revoked.write_text("".join(f"@revoked {line}\n" for line in known.splitlines()) + known)
    saved = f"UserKnownHostsFile={lab.dir / 'known_hosts'}"
    assert saved in lab.ssh_command
    said = {}
    strict = "StrictHostKeyChecking=yes"
    assert strict in lab.ssh_command
    for name, path, checking in (
        ("changed", changed, strict),
        ("unknown", unknown, strict),
        # ssh's default, with no terminal to ask on: it says only "verification failed"
        ("unknown-ask", unknown, "StrictHostKeyChecking=ask"),
        ("revoked", revoked, strict),
        ("revoked-ask", revoked, "StrictHostKeyChecking=ask"),
    ):
        command = lab.ssh_command.replace(saved, f"UserKnownHostsFile={path}")
        done = run_with_ssh(lab, command.replace(strict, checking))
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        said[name] = done.stderr
    # the same words, the advice naming the command each ran
    assert said["unknown-ask"] == said["unknown"].replace(strict, "StrictHostKeyChecking=ask")
    # A revoked key is never "not known yet, accept it".
    for name in ("revoked", "revoked-ask"):
        assert "REVOKED" in said[name] and "attack" in said[name], said[name]
        assert "not known yet" not in said[name] and "accept it" not in said[name], said[name]
    assert "host key has CHANGED" in said["changed"] and "attack" in said["changed"]
    assert "SHA256:" in said["changed"]
    assert "CHANGED" not in said["unknown"] and "attack" not in said["unknown"]
    assert "host key is not known yet" in said["unknown"], said["unknown"]
    # what to do: check the key and accept it with the ssh tcpscope runs (TCPSCOPE_SSH's
    # words, with the known_hosts it names), the lab's port and destination
    command = lab.ssh_command.replace(saved, f"UserKnownHostsFile={unknown}")
    advice = f"{command} -p {lab.port} root@{lab.address}"
    assert said["unknown"].rstrip("\n").endswith(f"connecting once with: {advice}"), said
    assert "known_hosts" in said["unknown"]


def test_an_interpreter_the_loader_cannot_start_is_not_called_missing(
    lab: SshLab, tmp_path: Path
) -> None:
    """An interpreter that exists but needs a library the server lacks: the shell's 127
    comes from the dynamic loader, whose own words are quoted."""
    data = Path(os.path.realpath(SERVER_PYTHON)).read_bytes()
    needed = b"libexpat.so.1\x00"
    if data.count(needed) != 1:
        pytest.skip(f"{SERVER_PYTHON} does not link {needed[:-1]!r} once")
    broken = tmp_path / "python3"
    broken.write_bytes(data.replace(needed, b"libnopat.so.1\x00"))  # a library nobody has
    broken.chmod(0o755)
    done = run_with_ssh(lab, lab.ssh_command, "--remote-python", str(broken))
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert f"no {broken} on the server" not in done.stderr
    assert f"{broken} failed to start" in done.stderr
    assert "error while loading shared libraries: libnopat.so.1" in done.stderr
    assert "Traceback" not in done.stderr
