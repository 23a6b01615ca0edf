"""Rates from readings taken at their own time: a fetch between samples is not counted from
the sample it rides on, and readings a few ms apart give no rate.

Both were met over ``--remote`` (the watched row's tcp_info is fetched when the pane opens):
a steady 100 kB/s flow's first rate read 5 kB/s, or 0 B/s when the fetch landed just
before a sample. The fetch's time also crosses the wire (``tt`` in a record).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.connections.model import TcpInfo
from core.connections.rates import RateTracker
from core.connections.snapshot import ConnectionDiff, Snapshot
from core.recording.frame_decoder import FrameDecoder
from core.recording.frame_encoder import FrameEncoder

T0 = datetime(2025, 1, 1, tzinfo=UTC)
IID = "tcpscope:[127.0.0.1]:40000-[127.0.0.1]:7300"


def _info(acked: int) -> TcpInfo:
    return TcpInfo(40, 10, 10, 1448, 0, 0, acked, 0, 0, 0, 0)


def _snap(seq: int, at_s: float, acked: int | None, read_s: float | None = None) -> Snapshot:
    return Snapshot(
        seq=seq,
        time=T0 + timedelta(seconds=at_s),
        started_at=T0,
        source="netlink",
        interval_s=1.0,
        connections={},
        diff=ConnectionDiff(),
        tcp_info={} if acked is None else {IID: _info(acked)},
        tcp_info_at=None if read_s is None else T0 + timedelta(seconds=read_s),
    )


def _history(*snaps: Snapshot) -> list[float]:
    tracker = RateTracker()
    for snap in snaps:
        tracker.keep_history(IID)
        tracker.update(snap, [IID])
    return [round(r) for r in tracker.history(IID)]


def test_a_fetch_counts_its_bytes_from_when_it_was_read() -> None:
    # Sample 1 had no tcp_info for the row; the fetch read it 0.4 s later (40 kB sent by then).
    got = _history(_snap(1, 0, None), _snap(1, 0, 40_000, read_s=0.4), _snap(2, 1, 100_000))
    assert got == [100_000]  # it was 60 000: 60 kB over the whole second


def test_readings_a_few_ms_apart_give_no_rate() -> None:
    fetched = _snap(1, 0, 100_000, read_s=0.99)  # just before sample 2; nothing sent since
    got = _history(_snap(1, 0, None), fetched, _snap(2, 1, 100_000), _snap(3, 2, 200_000))
    assert got == [99_010]  # no 0 B/s for sample 2; sample 3's spans 1.01 s from the fetch


def test_the_fetch_time_crosses_the_wire() -> None:
    encoder, decoder = FrameEncoder(5.0), FrameDecoder(5.0)
    plain = decoder.apply(encoder.encode(_snap(1, 0, 1), key=True))
    fetched = decoder.apply(encoder.encode(_snap(1, 0, None, read_s=0.6), key=False))
    assert plain is not None and plain.tcp_info_at is None
    assert fetched is not None and fetched.tcp_info_at == T0 + timedelta(seconds=0.6)
