"""A ghost keeps its namespace: a real unnamed namespace (``unshare --net``) whose only process
listens and is then ended leaves its socket as a ghost, and the ghost still says where it
lived (it lost it: the ``ns:``/``container:`` filters dropped the row and the pane read
"inode N (no longer seen)"). The app, a recording of the kill, and one written before
namespaces were kept for ghosts; the header counts never count the gone one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual.widgets import Static

from core.commands.feeds import FeedOptions, make_feed
from core.commands.record import header_factory
from core.connections.model import TcpConnection, TcpState
from core.connections.namespaces import ContainerInfo, NamespaceInfo, NamespaceView, ReadBy
from core.connections.snapshot import Snapshot
from core.recording.codec import NAMESPACES
from core.recording.reader import Recording
from core.recording.writer import RecordingWriter
from tests.netns.lab import LISTENER, free_port, listener, needs_netns, netns, unique
from tests.tui.test_actions import confirm, until
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable
from tui.connections.namespace_detail import namespace_line


@contextmanager
def unnamed_listener(port: int) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """(process, netns inode): a listener alone in a fresh namespace no ``ip netns`` names;
    reaped as soon as it ends, so its namespace goes with it."""
    script = f'ip link set lo up && exec "{sys.executable}" -c "$0" {port}'
    proc = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", script, LISTENER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        inode = os.stat(f"/proc/{proc.pid}/ns/net").st_ino
        threading.Thread(target=proc.wait, daemon=True).start()
        yield proc, inode
    finally:
        proc.kill()
        proc.wait()


def ours(snap: Snapshot | None, port: int) -> TcpConnection | None:
    if snap is None:
        return None
    return next(
        (
            c
            for c in snap.connections.values()
            if c.local_port == port and c.state is TcpState.LISTEN and c.netns is not None
        ),
        None,
    )


@needs_netns
async def test_ghost_of_a_killed_namespace_keeps_it() -> None:
    port = free_port()
    with unnamed_listener(port) as (proc, inode):
        feed = make_feed(FeedOptions(netns="all", ipsec=False, interval_s=0.2))
        app = TcpscopeApp(feed, hostname="testhost")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: ours(app.snapshot, port))
            conn = ours(app.snapshot, port)
            assert conn is not None and conn.netns == inode
            await pilot.press("slash", *f"ns:{inode}", "enter")
            table = app.screen.query_one(ConnTable)
            await until(pilot, lambda: table.row_count == 1 and table.cursor_id)
            assert table.cursor_id == conn.instance_id
            await pilot.press("K")
            text = await confirm(pilot, app)
            assert f"another, unnamed (inode {inode})" in text
            await pilot.press("y")
            await until(pilot, lambda: conn.instance_id in table.index.ghosts)
            assert proc.poll() is not None
            # The filter still matches the ghost (it read "0 of N shown").
            await pilot.pause(0.5)
            # (A namespace made meanwhile by a test beside this one may get the freed inode
            # number, and its rows match the filter too: the ghost is checked, not the count.)
            assert table.cursor_id == conn.instance_id
            assert table.render_line(1 + table.cursor_row).text.startswith("x")
            snap = app.snapshot
            assert snap is not None and snap.namespaces is not None
            info = gone_in(snap, inode)
            assert info is not None, "the ghost's namespace left the view"
            assert not info.gone or info not in snap.namespaces.present
            await pilot.press("enter")
            if info.gone:  # (not when a namespace made beside this test took the number)
                box = app.screen.query_one("#detail-summary", Static)
                want = f"Netns    another, unnamed (inode {inode}, gone)"
                await until(pilot, lambda: want in static_text(box, width=box.region.width))
                more = app.screen.query_one("#detail-more", Static)
                assert "the namespace no longer exists" in static_text(more, width=200)
            # A ghost has no dialog: x and K still say it closed already.
            await pilot.press("K")
            await pilot.pause(0.1)
            assert not app.screen.query("#confirm-body")


async def record_kill(path: Path, port: int) -> int:
    """Record a real sampler while the listener is ended; the netns inode."""
    options = FeedOptions(netns="all", ipsec=False, interval_s=0.2)
    with unnamed_listener(port) as (proc, inode), path.open("wb") as out:
        feed = make_feed(options)
        writer = RecordingWriter(out, header_factory(options))
        after = 0
        async for snap in feed.stream():
            writer.write(snap)
            if proc.poll() is None and ours(snap, port) is not None:
                proc.terminate()
            elif proc.poll() is not None and ours(snap, port) is None:
                after += 1
                if after == 4:
                    break
        writer.close()
        await feed.aclose()
    return inode


def gone_in(snap: Snapshot, inode: int) -> NamespaceInfo | None:
    """The ghost's namespace kept as gone; or, when a namespace made meanwhile (by a test
    running beside this one) was given the freed inode number, that one: either way the
    ghost's namespace is not lost from the view."""
    assert snap.namespaces is not None
    info = snap.namespaces.index().get(inode)
    return info if info is not None and (info.gone or not info.current) else None


def ghost_in(snap: Snapshot, port: int) -> bool:
    return any(g.connection.local_port == port for g in snap.ghosts)


@needs_netns
async def test_recording_across_the_kill_keeps_the_ghosts_namespace(tmp_path: Path) -> None:
    port = free_port()
    inode = await record_kill(tmp_path / "kill.tsr", port)
    rec = Recording(tmp_path / "kill.tsr")
    snaps = [rec.snapshot(i) for i in range(len(rec))]
    after = [s for s in snaps if ghost_in(s, port)]
    assert after, "no ghost recorded"
    assert all(gone_in(s, inode) is not None for s in after)
    assert any(s.namespaces and s.namespaces.index().get(inode) for s in snaps if ours(s, port))


@needs_netns
async def test_recording_without_gone_namespaces_still_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file written before gone namespaces were recorded: its reader keeps them itself."""
    import core.sampling.sampler as sampler

    monkeypatch.setattr(sampler, "keep_ghost_namespaces", lambda view, _before, _ghosts: view)
    port = free_port()
    inode = await record_kill(tmp_path / "old.tsr", port)
    rec = Recording(tmp_path / "old.tsr")
    after = [s for s in (rec.snapshot(i) for i in range(len(rec))) if ghost_in(s, port)]
    assert after and all(gone_in(s, inode) is not None for s in after)


def view_with_gone() -> NamespaceView:
    return NamespaceView(
        (
            NamespaceInfo(1, current=True, read_by=ReadBy.SOCK_DIAG, has_sockets=True),
            NamespaceInfo(
                2,
                current=False,
                read_by=ReadBy.SOCK_DIAG,
                container=ContainerInfo("podman", "559586964fdd" + "0" * 52, name="revD-web"),
                gone=True,
            ),
            NamespaceInfo(3, current=False, read_by=ReadBy.UNREADABLE, reason="why", gone=True),
        )
    )


def test_gone_namespaces_are_counted_nowhere_and_decode_from_old_files() -> None:
    view = view_with_gone()
    assert (view.shown, view.unreadable, view.with_sockets) == (1, 0, 1)
    assert view.notes() == ()
    assert namespace_line(2, view) == ("podman container revD-web, id 559586964fdd (inode 2, gone)")
    assert NAMESPACES.decode(NAMESPACES.encode(view)) == view
    old = NAMESPACES.encode(view)
    for info in old[0]:
        del info[-4:]  # written before NamespaceInfo.gone (learned_inode, cookie, initial: after)
    assert not any(i.gone for i in NAMESPACES.decode(old).namespaces)


@needs_netns
async def test_a_ghost_keeps_the_ip_netns_name_removed_after_its_process_ended() -> None:
    """`ip netns del` after the ghost's process ended, while another process keeps the
    namespace: the live namespace has no name any more, and the ghost took that nameless
    copy (the same namespace by its cookie): `ns:NAME` dropped it, the pane said "another,
    unnamed". The ghost's socket lived while the namespace had that name: it keeps it."""
    port, other = free_port(), free_port()
    with (
        netns(unique("t19g")) as name,
        listener(name, other),
        listener(name, port) as proc,
    ):
        app = TcpscopeApp(make_feed(FeedOptions(netns="all", ipsec=False, interval_s=0.2)))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: ours(app.snapshot, port))
            conn = ours(app.snapshot, port)
            assert conn is not None
            await pilot.press("slash", *f"ns:{name} port:{port}", "enter")
            table = app.screen.query_one(ConnTable)
            await until(pilot, lambda: table.cursor_id == conn.instance_id)
            proc.kill()
            proc.wait()
            await until(pilot, lambda: conn.instance_id in table.index.ghosts)
            subprocess.run(["ip", "netns", "del", name], check=True)
            await pilot.pause(1.0)  # five samples with the name gone, the namespace not
            assert conn.instance_id in table.index.ghosts
            assert table.cursor_id == conn.instance_id, "ns:NAME no longer matches the ghost"
            await pilot.press("enter")
            box = app.screen.query_one("#detail-summary", Static)
            await until(pilot, lambda: f"ip netns {name}" in static_text(box, width=200))
