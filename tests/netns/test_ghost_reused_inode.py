"""A ghost keeps the namespace it really was in when that namespace's inode number goes to
the next one made (the kernel hands out the lowest free number: on a busy node a pod made
after one was killed routinely gets its number). Namespace A listens and is deleted while its
socket is a ghost; B is made until it gets A's number, and listens too. The ghost's detail,
``ns:`` filter and Namespace column must name A, B's row B: by the number alone the ghost read
as B's. Live in the app, and in a recording of it replayed.

Not flaky beside other tests making namespaces: B is made again (and the misses deleted) until
it gets A's number; when another test's namespace holds that number all along, the test skips.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Static

from core.commands.feeds import FeedOptions, make_feed
from core.commands.record import header_factory
from core.connections.model import TcpConnection, TcpState
from core.connections.namespaces import label, shown_namespace
from core.connections.snapshot import Snapshot
from core.recording.frame_decoder import FrameDecoder
from core.recording.frame_encoder import FrameEncoder
from core.recording.reader import Recording
from core.recording.writer import RecordingWriter
from tests.netns.lab import free_port, listener, needs_netns, netns, unique
from tests.tui.test_actions import until
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp
from tui.connections.conn_table import ConnTable

REUSE_WAIT_S = 20.0
"""How long B is made again until it gets A's number (another test may hold it)."""
TTL_S = 60.0


def inode_of(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


@dataclass
class Pair:
    a: str
    b: str = ""
    inode: int = 0
    port_a: int = 0
    port_b: int = 0


@asynccontextmanager
async def reused(seen: Callable[[Pair], Awaitable[None]]) -> AsyncIterator[Pair]:
    """A listens (``seen`` waits until the consumer saw it), is deleted, then B is made until
    it has A's inode number and listens on another port (the same 4-tuple would be A's
    socket open again). Both deleted afterwards."""
    pair = Pair(unique("fix-ghostreuse-A"), port_a=free_port(), port_b=free_port())
    with ExitStack() as stack:
        stack.enter_context(netns(pair.a))
        pair.inode = inode_of(pair.a)
        proc = stack.enter_context(listener(pair.a, pair.port_a))
        await seen(pair)
        proc.kill()
        proc.wait()
        stack.close()  # A deleted: its number is freed once tcpscope lets go of it
        deadline = time.monotonic() + REUSE_WAIT_S
        while True:
            name = unique("fix-ghostreuse-B")
            subprocess.run(["ip", "netns", "add", name], check=True)
            if inode_of(name) == pair.inode:
                break
            subprocess.run(["ip", "netns", "del", name], check=False)
            if time.monotonic() > deadline:
                pytest.skip("another namespace kept the freed inode number")
            await asyncio.sleep(0.05)
        pair.b = name
        stack.callback(subprocess.run, ["ip", "netns", "del", name], check=False)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        stack.enter_context(listener(name, pair.port_b))
        yield pair


def row(snap: Snapshot | None, port: int, inode: int) -> TcpConnection | None:
    if snap is None:
        return None
    return next(
        (
            c
            for c in snap.connections.values()
            if c.local_port == port and c.state is TcpState.LISTEN and c.netns == inode
        ),
        None,
    )


@needs_netns
async def test_ghost_of_a_namespace_whose_inode_was_reused_names_its_own() -> None:
    feed = make_feed(FeedOptions(netns="all", ipsec=False, interval_s=0.2, ghost_ttl_s=TTL_S))
    app = TcpscopeApp(feed, hostname="testhost", ghost_ttl_s=TTL_S)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ConnTable)

        async def seen(pair: Pair) -> None:
            await until(pilot, lambda: row(app.snapshot, pair.port_a, pair.inode))

        async with reused(seen) as pair:
            await until(pilot, lambda: row(app.snapshot, pair.port_b, pair.inode))
            b_conn = row(app.snapshot, pair.port_b, pair.inode)
            assert b_conn is not None
            ghost_id = next(
                iid
                for iid, conn in table.index.rows.ghosts.items()
                if conn.local_port == pair.port_a
            )
            # The view now names B under the number: the ghost still says A.
            snap = app.snapshot
            assert snap is not None and snap.namespaces is not None
            assert label(snap.namespaces.index()[pair.inode]) == pair.b
            await pilot.press("slash", *f"ns:{pair.a}", "enter")
            await until(pilot, lambda: table.row_count == 1 and table.cursor_id == ghost_id)
            line = table.render_line(1 + table.cursor_row).text
            assert line.startswith("x")
            await pilot.press("enter")
            box = app.screen.query_one("#detail-summary", Static)
            want = f"ip netns {pair.a} (inode {pair.inode}, gone)"
            await until(pilot, lambda: want in static_text(box, width=200))
            more = app.screen.query_one("#detail-more", Static)
            assert f"ip netns  {pair.a}" in static_text(more, width=200)
            assert pair.b not in static_text(more, width=200)
            await pilot.press("escape")
            await pilot.press("slash", *(["backspace"] * 40), *f"ns:{pair.b}", "enter")
            await until(
                pilot, lambda: table.row_count == 1 and table.cursor_id == b_conn.instance_id
            )
            await pilot.press("enter")
            want_b = f"ip netns {pair.b} (inode {pair.inode})"
            await until(pilot, lambda: want_b in static_text(box, width=200))
    await feed.aclose()


async def record_reuse(path: Path) -> Pair:
    """Record a real sampler while A is deleted and B takes its number (B listening too)."""
    options = FeedOptions(netns="all", ipsec=False, interval_s=0.2, ghost_ttl_s=TTL_S)
    feed = make_feed(options)
    snaps = feed.stream()
    with path.open("wb") as out:
        writer = RecordingWriter(out, header_factory(options))

        async def seen(pair: Pair) -> None:
            async for snap in snaps:
                writer.write(snap)
                if row(snap, pair.port_a, pair.inode):
                    return

        async with reused(seen) as pair:
            after = 0
            async for snap in snaps:
                writer.write(snap)
                if row(snap, pair.port_b, pair.inode):
                    after += 1
                    if after == 3:
                        break
        writer.close()
    await feed.aclose()
    return pair


@needs_netns
async def test_a_recording_across_the_reuse_replays_the_ghosts_own_namespace(
    tmp_path: Path,
) -> None:
    pair = await record_reuse(tmp_path / "reuse.tsr")
    rec = Recording(tmp_path / "reuse.tsr")
    snaps = [rec.snapshot(i) for i in range(len(rec))]
    with_b = [s for s in snaps if row(s, pair.port_b, pair.inode)]
    assert with_b, "B was not recorded"
    for snap in with_b:
        assert snap.namespaces is not None
        b_conn = row(snap, pair.port_b, pair.inode)
        assert b_conn is not None
        assert label(shown_namespace(b_conn.netns, snap.namespaces)) == pair.b
        (ghost,) = [g for g in snap.ghosts if g.connection.local_port == pair.port_a]
        info = shown_namespace(ghost.connection.netns, snap.namespaces, ghost.namespace)
        assert info is not None and info.name == pair.a and info.gone
    # A key frame after the reuse (what a seek reads from) carries the ghost's namespace.
    frame = FrameEncoder(TTL_S).encode(with_b[-1], key=True)
    decoded = FrameDecoder(TTL_S).apply(json.loads(json.dumps(frame)))
    assert decoded is not None
    (ghost,) = [g for g in decoded.ghosts if g.connection.local_port == pair.port_a]
    assert ghost.namespace is not None and ghost.namespace.name == pair.a


def test_the_rule_takes_the_live_namespace_only_when_proven_the_same() -> None:
    """By cookie: the same → the live one (fresher); another → the ghost's own, gone. No
    cookie (read from /proc, an older file): the ghost's own as last seen, not called gone."""
    from dataclasses import replace

    from core.connections.namespaces import NamespaceInfo, ReadBy, ghost_namespace

    a = NamespaceInfo(7, False, ReadBy.SOCK_DIAG, "a", processes=1, has_sockets=True, cookie=11)
    b = NamespaceInfo(7, False, ReadBy.SOCK_DIAG, "b", processes=2, has_sockets=True, cookie=12)
    a_later = replace(a, processes=3)
    assert ghost_namespace(a, a_later) == a_later
    assert ghost_namespace(a, b) == replace(a, gone=True, processes=0, has_sockets=False)
    assert ghost_namespace(a, None).gone
    plain_a, plain_b = replace(a, cookie=None), replace(b, cookie=None)
    assert ghost_namespace(plain_a, plain_b) == plain_a
    assert ghost_namespace(plain_a, replace(plain_b, gone=True)).gone
