"""A recorded outage is stamped on the server's clock, so a server clock ahead of the local
one does not make the recording's time go back (which the reader takes as damage)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.connections.snapshot import Snapshot
from core.recording.reader import Recording
from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from tests.recording.util import demo_snapshots, write_recording


def test_an_outage_after_samples_from_a_clock_an_hour_ahead_keeps_time_going_on(
    tmp_path: Path,
) -> None:
    snaps = demo_snapshots(3, 4, interval_s=0.1)
    shift = datetime.now(UTC) + timedelta(hours=1) - snaps[0].time  # the server's clock
    ahead = [dataclasses.replace(s, time=s.time + shift) for s in snaps]
    feed = RemoteFeed(
        parse_target("nobody@server.invalid"),
        stream_config(interval_s=0.1, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False, netns=None),
        recording=True,
    )  # fmt: skip
    published: list[Snapshot] = []
    for snap in ahead[:3]:
        feed._deliver(snap)  # as the reader thread hands over the agent's samples
        assert feed._last is not None
        published.append(feed._last)
    feed._dropped("connection reset", data_at=time.monotonic())
    outage = feed._last
    assert outage is not None and outage.error is not None and outage.stale
    assert outage.seq == ahead[2].seq and outage.time > ahead[2].time
    assert ahead[2].time <= outage.error.since <= outage.time  # the server's clock too
    path = tmp_path / "outage.tsr"
    write_recording(path, [*published, outage, ahead[3]])
    rec = Recording(path)
    assert len(rec) == 5 and rec.ends_early is None
