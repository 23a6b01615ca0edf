"""Decoding Linux ``struct tcp_info`` into :class:`core.connections.model.TcpInfo`, lazily.

Why lazily: a tick at 50k sockets must not decode 50k structs that nobody looks at. Sources
hand over the raw bytes (or where to find them) and :class:`LazyTcpInfo` decodes one entry
the first time it is read, then caches it.

Offsets follow ``include/uapi/linux/tcp.h``; the struct only ever grows at the end, so a field
beyond the kernel's length is ``None`` (not reported), never a guess. Platform-neutral.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from core.connections.model import TcpInfo

_U8_RETRANSMITS: Final = 2
_HEAD: Final = struct.Struct("=16xI4xII")
"""snd_mss @16, unacked @24, lost @32 (sacked @28 skipped)."""
_METRICS: Final = struct.Struct("=68xII4xI")
"""rtt @68, rttvar @72, snd_cwnd @80."""
_TOTAL_RETRANS: Final = struct.Struct("=100xI")
_BYTES_ACKED: Final = struct.Struct("=120xQ")
_BYTES_RECEIVED: Final = struct.Struct("=128xQ")
MIN_LENGTH: Final = _TOTAL_RETRANS.size
_COUNTERS: Final = struct.Struct("=100xI16xQQ")
"""total_retrans @100, bytes_acked @120, bytes_received @128: what traffic totals need."""
"""Shortest tcp_info we decode (every kernel since 2.6 sends more)."""


def decode_tcp_info(raw: bytes) -> TcpInfo | None:
    """Decode a raw ``struct tcp_info``; ``None`` when it is too short to be one."""
    if len(raw) < MIN_LENGTH:
        return None
    snd_mss, unacked, lost = _HEAD.unpack_from(raw)
    rtt, rttvar, cwnd = _METRICS.unpack_from(raw)
    (total_retrans,) = _TOTAL_RETRANS.unpack_from(raw)
    acked = _BYTES_ACKED.unpack_from(raw)[0] if len(raw) >= _BYTES_ACKED.size else None
    received = _BYTES_RECEIVED.unpack_from(raw)[0] if len(raw) >= _BYTES_RECEIVED.size else None
    return TcpInfo(
        rtt_us=rtt,
        rttvar_us=rttvar,
        snd_cwnd=cwnd,
        snd_mss=snd_mss,
        retransmits=raw[_U8_RETRANSMITS],
        total_retrans=total_retrans,
        bytes_acked=acked,
        bytes_received=received,
        unacked=unacked,
        lost=lost,
    )


def decode_counters(raw: bytes) -> tuple[int, int, int] | None:
    """(bytes_received, bytes_acked, total_retrans) of a raw ``struct tcp_info``.

    Why not :func:`decode_tcp_info`: the exporter sums these three over every socket each
    sample, and one unpack is ~30 times cheaper than building a record. Fields beyond an old
    kernel's struct count as 0; ``None`` when the bytes are too short to be a tcp_info.
    """
    if len(raw) >= _COUNTERS.size:
        retrans, acked, received = _COUNTERS.unpack_from(raw)
        return received, acked, retrans
    info = decode_tcp_info(raw)
    if info is None:
        return None
    return info.bytes_received or 0, info.bytes_acked or 0, info.total_retrans


class LazyTcpInfo(Mapping[str, TcpInfo]):
    """tcp_info by InstanceID, decoded on first access and cached.

    It holds, per InstanceID, an opaque locator plus one function that turns a locator into raw
    bytes (or ``None``); for the netlink source the locator points into the dump's reply
    buffer, so building this mapping costs one dict entry per socket and no copying. Keys
    whose bytes are missing or undecodable (TIME_WAIT, request sockets) are absent.
    """

    __slots__ = ("_cache", "_fetch", "_raw")

    def __init__(
        self,
        raw: Mapping[str, object],
        fetch: Callable[[object], bytes | None] | None = None,
    ) -> None:
        """Wrap ``raw`` (InstanceID → locator, or → bytes when ``fetch`` is None)."""
        self._raw = raw
        self._fetch = fetch
        self._cache: dict[str, TcpInfo | None] = {}

    def _decode(self, key: str) -> TcpInfo | None:
        try:
            return self._cache[key]
        except KeyError:
            pass
        loc = self._raw.get(key)
        info: TcpInfo | None = None
        if loc is not None:
            raw = self._fetch(loc) if self._fetch is not None else loc
            if isinstance(raw, bytes):
                info = decode_tcp_info(raw)
        self._cache[key] = info
        return info

    def raw(self, key: str) -> bytes | None:
        """The undecoded bytes of ``key`` (for :func:`decode_counters`), not cached."""
        loc = self._raw.get(key)
        if loc is None:
            return None
        raw = self._fetch(loc) if self._fetch is not None else loc
        return raw if isinstance(raw, bytes) else None

    def __getitem__(self, key: str) -> TcpInfo:
        info = self._decode(key)
        if info is None:
            raise KeyError(key)
        return info

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._decode(key) is not None

    def get(self, key: str, default: TcpInfo | None = None) -> TcpInfo | None:  # type: ignore[override]
        """The decoded tcp_info, or ``default`` (cheaper than ``in`` + ``[]``)."""
        info = self._decode(key)
        return default if info is None else info

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._raw if self._decode(k) is not None)

    def __len__(self) -> int:
        """Counts decodable entries; decodes all of them (avoid on hot paths)."""
        return sum(1 for _ in self)
