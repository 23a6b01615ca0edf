"""The tcp_info layout against C's own: ctypes lays out the same declaration independently."""

from __future__ import annotations

import ctypes
import struct

from core.connections.tcpinfo import (
    MIN_LENGTH,
    OFFSETS,
    TCP_INFO_LAYOUT,
    decode_tcp_info,
    snd_wnd,
)

_CTYPES = {"B": ctypes.c_uint8, "I": ctypes.c_uint32, "Q": ctypes.c_uint64}


class _CTcpInfo(ctypes.Structure):
    _fields_ = [(name, _CTYPES[fmt]) for name, fmt in TCP_INFO_LAYOUT]


def test_offsets_are_cs() -> None:
    for name, (offset, _fmt) in OFFSETS.items():
        assert getattr(_CTcpInfo, name).offset == offset, name
    # The fields the issue was about, as include/uapi/linux/tcp.h places them.
    assert [OFFSETS[f][0] for f in ("tcpi_unacked", "tcpi_sacked", "tcpi_lost")] == [24, 28, 32]
    assert MIN_LENGTH == 104
    assert OFFSETS["tcpi_snd_wnd"][0] == 228  # Linux 5.4's addition


def test_the_peers_window_is_read_where_the_struct_has_it() -> None:
    raw = bytearray(232)
    struct.pack_into("=I", raw, 228, 65536)
    assert snd_wnd(bytes(raw)) == 65536
    assert snd_wnd(bytes(raw[:228])) is None  # before 5.4: not reported, not 0


def test_each_field_reads_its_own_slot_and_short_structs_say_none() -> None:
    raw = bytearray(ctypes.sizeof(_CTcpInfo))
    for n, (_name, (offset, fmt)) in enumerate(OFFSETS.items(), start=1):
        struct.pack_into("=" + fmt, raw, offset, n)
    info = decode_tcp_info(bytes(raw))
    assert info is not None
    index = {name: n for n, name in enumerate(OFFSETS, start=1)}
    assert info.lost == index["tcpi_lost"] and info.unacked == index["tcpi_unacked"]
    assert info.retrans == index["tcpi_retrans"]
    assert info.rtt_us == index["tcpi_rtt"] and info.snd_cwnd == index["tcpi_snd_cwnd"]
    assert info.bytes_received == index["tcpi_bytes_received"]
    old = decode_tcp_info(bytes(raw[:120]))  # a 3.x kernel: no byte counters yet
    assert old is not None and old.bytes_acked is None and old.bytes_received is None
    assert old.total_retrans == index["tcpi_total_retrans"]
    assert decode_tcp_info(bytes(raw[:103])) is None
