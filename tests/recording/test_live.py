"""Recording the live system: real loopback sockets opened and closed while recording appear and
vanish at the same samples in the replay, and the A/B diff lists exactly them."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from core.commands.feeds import FeedOptions
from core.commands.record import header_factory
from core.connections.model import TcpState
from core.connections.snapshot import Snapshot
from core.recording.reader import Recording
from core.recording.replay import diff_between, open_replay
from core.recording.writer import RecordingWriter
from core.sampling.sampler import Sampler
from tests.recording.content import content

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink source")


def ours(snap: Snapshot, port: int) -> set[str]:
    """InstanceIDs of the test's sockets (every socket on the test's listening port)."""
    return {
        k
        for k, c in snap.connections.items()
        if port in (c.local_port, c.remote_port) and "127.0.0.1" in c.local_address
    }


class Sockets:
    """A loopback listener with one accepted connection; closed with RST (no TIME_WAIT)."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.listener = self.stack.enter_context(socket.socket())
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port: int = self.listener.getsockname()[1]
        self.client: socket.socket | None = None
        self.server: socket.socket | None = None

    def open(self) -> None:
        self.client = self.stack.enter_context(socket.create_connection(("127.0.0.1", self.port)))
        self.server = self.stack.enter_context(self.listener.accept()[0])

    def close(self) -> None:
        for s in (self.client, self.server):
            assert s is not None
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.stack.close()


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    s = Sockets()
    try:
        yield s
    finally:
        s.stack.close()


async def record_live(path: Path, sockets: Sockets) -> tuple[list[Snapshot], int, int]:
    """Record: 3 samples, open (listener is already there), 4 samples, close, 4 samples.

    Returns the snapshots the recorder saw and the indices after which it opened/closed."""
    from core.connections.sources import get_source

    sampler = Sampler(get_source("netlink"), interval_s=0.2)
    options = FeedOptions(source="netlink", interval_s=0.2, ipsec=False)
    seen: list[Snapshot] = []
    opened_at = closed_at = -1
    with path.open("wb") as out:
        writer = RecordingWriter(out, header_factory(options))
        async for snap in sampler.stream():
            writer.write(snap)
            seen.append(snap)
            if len(seen) == 3:
                sockets.open()
                opened_at = len(seen) - 1
            elif opened_at >= 0 and closed_at < 0 and len(ours(snap, sockets.port)) == 3:
                present = sum(1 for s in seen if len(ours(s, sockets.port)) == 3)
                if present == 4:
                    sockets.close()
                    closed_at = len(seen) - 1
            elif closed_at >= 0 and len(seen) >= closed_at + 5:
                break
        writer.close()
    await sampler.aclose()
    return seen, opened_at, closed_at


async def test_live_sockets_appear_and_vanish_in_replay(tmp_path: Path, sockets: Sockets) -> None:
    path = tmp_path / "live.tsr"
    seen, opened_at, closed_at = await record_live(path, sockets)
    port = sockets.port
    rec = Recording(path)
    assert len(rec) == len(seen)
    assert rec.header.source == "netlink"

    live_ids = [ours(s, port) for s in seen]
    replay = [rec.snapshot(i) for i in range(len(rec))]
    replay_ids = [ours(s, port) for s in replay]
    assert replay_ids == live_ids  # same sockets at the same samples

    first = next(i for i, ids in enumerate(replay_ids) if len(ids) == 3)
    last = max(i for i, ids in enumerate(replay_ids) if len(ids) == 3)
    assert opened_at < first <= last <= closed_at + 1
    # Only the listener before the sockets opened; a sample taken while they were being
    # opened (the sampler's thread runs meanwhile) may hold some of them, never all three.
    assert all(len(ids) == 1 for ids in replay_ids[: opened_at + 1])
    assert all(1 <= len(ids) < 3 for ids in replay_ids[:first])
    assert replay_ids[-1] == set()  # all gone (RST, listener closed) by the end
    states = sorted(replay[last].connections[k].state for k in replay_ids[last])
    assert states == [TcpState.LISTEN, TcpState.ESTABLISHED, TcpState.ESTABLISHED]

    # Every field of every sample is what the live stream showed (diffs are against the
    # previous recorded sample, as the live ones are).
    for i, (a, b) in enumerate(zip(seen, replay, strict=True)):
        got, want = content(b), content(a)
        if i == 0 or a.skipped:
            got.pop("diff")
            want.pop("diff")
        assert got == want, f"sample {i}"

    # Mark A before the connection, B while it is up, C after everything closed.
    mark_a, mark_b, mark_c = first - 1, first, len(replay) - 1
    up = diff_between(replay[mark_a], replay[mark_b])
    connection = live_ids[mark_b] - live_ids[mark_a]
    assert len(connection) == 2
    assert {c.instance_id for c in up.added if port in (c.local_port, c.remote_port)} == connection
    assert not [c for c in up.removed if port in (c.local_port, c.remote_port)]
    down = diff_between(replay[mark_b], replay[mark_c])
    gone = {c.instance_id for c in down.removed if port in (c.local_port, c.remote_port)}
    assert gone == live_ids[mark_b]
    # ... and the diff of the replay equals the diff of the live snapshots, whole host included.
    live_up = diff_between(seen[mark_a], seen[mark_b])
    assert [c.instance_id for c in up.added] == [c.instance_id for c in live_up.added]
    assert [c.instance_id for c in up.removed] == [c.instance_id for c in live_up.removed]
    assert [(c.before.state, c.after.state) for c in up.state_changed] == [
        (c.before.state, c.after.state) for c in live_up.state_changed
    ]

    # The replay feed steps and seeks onto the same samples.
    feed = open_replay(path)
    stream = feed.stream()
    assert ours(await anext(stream), port) == replay_ids[0]
    feed.seek(replay[first].time)
    assert ours(await anext(stream), port) == connection | replay_ids[0]
    feed.step(-1)
    snap = await anext(stream)
    assert ours(snap, port) == replay_ids[first - 1]
    feed.step(+1)
    snap = await anext(stream)
    assert snap.diff.added >= connection  # the diff against the previous shown sample
    await feed.aclose()
