"""Decoding Linux ``struct tcp_info`` into :class:`core.connections.model.TcpInfo`, lazily.

Why lazily: a tick at 50k sockets must not decode 50k structs that nobody looks at. Sources
hand over the raw bytes (or where to find them) and :class:`LazyTcpInfo` decodes one entry
the first time it is read, then caches it.

Why a layout table: the offsets are computed from the struct's declaration as
``include/uapi/linux/tcp.h`` spells it (field order and C types, natural alignment), so no
offset is typed by hand; a test checks the result against ctypes' own C layout. The struct
only ever grows at the end, so a field beyond the length the kernel sent is ``None`` (not
reported), never a guess. Platform-neutral.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from operator import itemgetter
from typing import Any, Final

from core.connections.model import TcpInfo

TCP_INFO_LAYOUT: Final[tuple[tuple[str, str], ...]] = (
    ("tcpi_state", "B"),
    ("tcpi_ca_state", "B"),
    ("tcpi_retransmits", "B"),
    ("tcpi_probes", "B"),
    ("tcpi_backoff", "B"),
    ("tcpi_options", "B"),
    ("tcpi_snd_wscale_rcv_wscale", "B"),  # two 4-bit fields
    ("tcpi_delivery_rate_app_limited_fastopen_client_fail", "B"),  # 1 + 2 bits
    ("tcpi_rto", "I"),
    ("tcpi_ato", "I"),
    ("tcpi_snd_mss", "I"),
    ("tcpi_rcv_mss", "I"),
    ("tcpi_unacked", "I"),
    ("tcpi_sacked", "I"),
    ("tcpi_lost", "I"),
    ("tcpi_retrans", "I"),
    ("tcpi_fackets", "I"),
    ("tcpi_last_data_sent", "I"),
    ("tcpi_last_ack_sent", "I"),
    ("tcpi_last_data_recv", "I"),
    ("tcpi_last_ack_recv", "I"),
    ("tcpi_pmtu", "I"),
    ("tcpi_rcv_ssthresh", "I"),
    ("tcpi_rtt", "I"),
    ("tcpi_rttvar", "I"),
    ("tcpi_snd_ssthresh", "I"),
    ("tcpi_snd_cwnd", "I"),
    ("tcpi_advmss", "I"),
    ("tcpi_reordering", "I"),
    ("tcpi_rcv_rtt", "I"),
    ("tcpi_rcv_space", "I"),
    ("tcpi_total_retrans", "I"),
    ("tcpi_pacing_rate", "Q"),
    ("tcpi_max_pacing_rate", "Q"),
    ("tcpi_bytes_acked", "Q"),
    ("tcpi_bytes_received", "Q"),
    ("tcpi_segs_out", "I"),
    ("tcpi_segs_in", "I"),
    ("tcpi_notsent_bytes", "I"),
    ("tcpi_min_rtt", "I"),
    ("tcpi_data_segs_in", "I"),
    ("tcpi_data_segs_out", "I"),
    ("tcpi_delivery_rate", "Q"),
    ("tcpi_busy_time", "Q"),
    ("tcpi_rwnd_limited", "Q"),
    ("tcpi_sndbuf_limited", "Q"),
    ("tcpi_delivered", "I"),
    ("tcpi_delivered_ce", "I"),
    ("tcpi_bytes_sent", "Q"),
    ("tcpi_bytes_retrans", "Q"),
    ("tcpi_dsack_dups", "I"),
    ("tcpi_reord_seen", "I"),
    ("tcpi_rcv_ooopack", "I"),
    ("tcpi_snd_wnd", "I"),
)
"""``struct tcp_info`` up to the last field tcpscope reads: (name, struct format) in the
header's order (``__u8`` B, ``__u32`` I, ``__u64`` Q)."""


def _offsets(layout: tuple[tuple[str, str], ...]) -> dict[str, tuple[int, str]]:
    """Each field's (offset, format) under C's natural alignment, as the kernel compiles it."""
    out: dict[str, tuple[int, str]] = {}
    off = 0
    for name, fmt in layout:
        size = struct.calcsize(fmt)
        off = (off + size - 1) // size * size
        out[name] = (off, fmt)
        off += size
    return out


OFFSETS: Final = _offsets(TCP_INFO_LAYOUT)
"""Field name → (byte offset, struct format)."""

_DECODED: Final[tuple[tuple[str, str], ...]] = (
    ("rtt_us", "tcpi_rtt"),
    ("rttvar_us", "tcpi_rttvar"),
    ("snd_cwnd", "tcpi_snd_cwnd"),
    ("snd_mss", "tcpi_snd_mss"),
    ("retransmits", "tcpi_retransmits"),
    ("total_retrans", "tcpi_total_retrans"),
    ("bytes_acked", "tcpi_bytes_acked"),
    ("bytes_received", "tcpi_bytes_received"),
    ("unacked", "tcpi_unacked"),
    ("lost", "tcpi_lost"),
    ("retrans", "tcpi_retrans"),
)
"""TcpInfo attribute → kernel field, in TcpInfo's declaration order."""
_FIELDS: Final = tuple((struct.Struct("=" + OFFSETS[k][1]), OFFSETS[k][0]) for _attr, k in _DECODED)
_FIELD_NAMES: Final = (*(attr for attr, _k in _DECODED), "recv_q", "send_q")
_OPTIONAL: Final = frozenset({"bytes_acked", "bytes_received"})
"""Attributes that may be ``None``: every other one is in the oldest struct decoded."""
MIN_LENGTH: Final = max(
    off + s.size
    for (attr, _k), (s, off) in zip(_DECODED, _FIELDS, strict=True)
    if attr not in _OPTIONAL
)
"""Shortest tcp_info we decode: 104 bytes, up to tcpi_total_retrans (every kernel since 2.6
sends at least that); later fields are ``None`` when the kernel's struct ends before them."""
_ACKED_AT: Final = OFFSETS["tcpi_bytes_acked"][0]
_RETRANS_AT: Final = OFFSETS["tcpi_total_retrans"][0]
_COUNTERS: Final = struct.Struct(f"={_RETRANS_AT}xI{_ACKED_AT - _RETRANS_AT - 4}xQQ")
"""total_retrans, bytes_acked, bytes_received (adjacent): what traffic totals need."""


def _digest_format() -> tuple[str, int]:
    """One struct format reading every decoded field, in offset order, with pad bytes between;
    and the length of tcp_info it needs."""
    fields = sorted(OFFSETS[kernel] for _attr, kernel in _DECODED)
    fmt, at = "=", 0
    for off, code in fields:
        fmt += f"{off - at}x{code}" if off > at else code
        at = off + struct.calcsize(code)
    return fmt, at


DIGEST_FORMAT, DIGEST_LENGTH = _digest_format()
"""What core.connections.sources.info_digest unpacks per socket for the JSON writer (every
field :class:`TcpInfo` decodes), and the tcp_info length that holds them all (shorter structs
are compared whole when the recorder looks for what moved)."""
VOLATILE: Final = (OFFSETS["tcpi_last_data_sent"][0], OFFSETS["tcpi_pmtu"][0])
"""The byte range of tcp_info that moves on an idle socket (``tcpi_last_data_sent`` to
``tcpi_last_ack_recv``: times since the last packet). tcpscope shows none of it; everything
else moves only with traffic or a change of the connection (measured at 50k idle sockets)."""
assert not any(VOLATILE[0] <= OFFSETS[k][0] < VOLATILE[1] for _a, k in _DECODED)


class QueuedTcpInfo(bytes):
    """A raw ``struct tcp_info`` plus the queue sizes of the message that carried it.

    Why a bytes subclass: every consumer of raw tcp_info (the exporter's counters, the lazy
    decoder, the sampler's on-demand queries) keeps working on plain bytes, while
    :func:`decode_tcp_info` picks up Recv-Q/Send-Q from the same reply at no extra cost.
    """

    recv_q: int
    send_q: int


def with_queues(raw: bytes, recv_q: int, send_q: int) -> QueuedTcpInfo:
    """``raw`` carrying the socket's ``idiag_rqueue`` and ``idiag_wqueue``."""
    out = QueuedTcpInfo(raw)
    out.recv_q = recv_q
    out.send_q = send_q
    return out


def decode_tcp_info(raw: bytes) -> TcpInfo | None:
    """Decode a raw ``struct tcp_info``; ``None`` when it is too short to be one. Queue sizes
    come along when ``raw`` is a :class:`QueuedTcpInfo`."""
    size = len(raw)
    if size < MIN_LENGTH:
        return None
    values: list[Any] = [
        s.unpack_from(raw, off)[0] if off + s.size <= size else None for s, off in _FIELDS
    ]
    if isinstance(raw, QueuedTcpInfo):
        values += (raw.recv_q, raw.send_q)
    return TcpInfo(*values)


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


_SND_WND: Final = struct.Struct("=I")
_SND_WND_AT: Final = OFFSETS["tcpi_snd_wnd"][0]


def snd_wnd(raw: bytes) -> int | None:
    """``tcpi_snd_wnd`` of a raw ``struct tcp_info``: the peer's advertised receive window,
    scaled, in bytes; ``None`` when the kernel's struct ends before it (before Linux 5.4).

    Why not a :class:`TcpInfo` field: only the detail pane reads it, for one connection, and
    a field there would change every recording's and JSON dump's layout."""
    if len(raw) < _SND_WND_AT + _SND_WND.size:
        return None
    value: int = _SND_WND.unpack_from(raw, _SND_WND_AT)[0]
    return value


def _whole_struct() -> tuple[struct.Struct, tuple[int, ...]]:
    """One Struct reading every decoded field in offset order, and the index of each of
    TcpInfo's fields in what it returns."""
    by_offset = sorted((OFFSETS[kernel][0], attr, kernel) for attr, kernel in _DECODED)
    fmt, pos = "=", 0
    for off, _attr, kernel in by_offset:
        fmt += f"{off - pos}x" if off > pos else ""
        fmt += OFFSETS[kernel][1]
        pos = off + struct.calcsize("=" + OFFSETS[kernel][1])
    order = [attr for _off, attr, _kernel in by_offset]
    return struct.Struct(fmt), tuple(order.index(attr) for attr, _kernel in _DECODED)


_WHOLE, _WHOLE_ORDER = _whole_struct()
_PICK: Final = itemgetter(*_WHOLE_ORDER)
FROM_DIGEST: Final = itemgetter(*(2 + i for i in _WHOLE_ORDER), 0, 1)
"""A digest of a whole struct (core.connections.sources.info_digest: the queues, then the
fields of :data:`DIGEST_FORMAT` in offset order) → :data:`TcpInfoValues`, in one C call: the
JSON writer reads every socket's tcp_info from the digests, in bulk."""
DIGEST_SIZE: Final = 2 + len(_DECODED)
"""Items in a digest of a whole struct (a shorter kernel's digest holds its raw bytes)."""

TcpInfoValues = tuple[int | None, ...]
"""TcpInfo's field values in its declaration order (what ``TcpInfo(*values)`` takes)."""


def from_values(values: TcpInfoValues) -> TcpInfo:
    """The TcpInfo of :data:`TcpInfoValues` (the fields the kernel's struct holds are ints)."""
    return TcpInfo(*values)  # type: ignore[arg-type]


def tcp_info_values(
    buf: bytes, pos: int, size: int, queues: tuple[int, int] | None
) -> TcpInfoValues | None:
    """:func:`decode_tcp_info` of ``buf[pos:pos + size]`` as a tuple, read in place: one
    unpack when the struct holds every field (any kernel since 4.1)."""
    if size >= _WHOLE.size:
        values: tuple[int | None, ...] = _PICK(_WHOLE.unpack_from(buf, pos))
        return (*values, *queues) if queues is not None else (*values, None, None)
    info = decode_tcp_info(buf[pos : pos + size])
    if info is None:
        return None
    return (*(getattr(info, name) for name, _k in _DECODED), *(queues or (None, None)))


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

    def fields_reader(self) -> Callable[[str], TcpInfoValues | None]:
        """:meth:`fields` as one function, for a caller that reads every key (JSON)."""
        in_place = getattr(self._fetch, "fields", None)
        if in_place is None:
            return self.fields
        get = self._raw.get

        def read(key: str) -> TcpInfoValues | None:
            loc = get(key)
            return None if loc is None else in_place(loc)

        return read

    def fields(self, key: str) -> TcpInfoValues | None:
        """The decoded fields of ``key`` as a tuple (no TcpInfo built, nothing cached), read
        in place when the locator function can (``fetch.fields``)."""
        loc = self._raw.get(key)
        if loc is None:
            return None
        in_place = getattr(self._fetch, "fields", None)
        if in_place is not None:
            found: TcpInfoValues | None = in_place(loc)
            return found
        info = self._decode(key)
        return None if info is None else tuple(getattr(info, f) for f in _FIELD_NAMES)

    def raw(self, key: str) -> bytes | None:
        """The undecoded bytes of ``key`` (for :func:`decode_counters`), not cached."""
        loc = self._raw.get(key)
        if loc is None:
            return None
        raw = self._fetch(loc) if self._fetch is not None else loc
        return raw if isinstance(raw, bytes) else None

    def digest_reader(self) -> Callable[[Iterable[Any]], list[Any]] | None:
        """A function from a batch of this sample's records to each one's every decoded
        field in one unpack, or None where it has no tcp_info (see
        core.connections.sources.info_digest.info_digests); ``None`` when the source cannot
        give them (then decode each). The JSON writer reads its rows' tcp_info this way."""
        make = getattr(self._fetch, "digest_reader", None)
        return make() if make is not None else None

    def changes(self, trail: object) -> Any:
        """What moved since the sample that gave ``trail`` (``None``: everything is new), as a
        :class:`core.connections.sources.info_digest.InfoChanges`, found in bulk without
        decoding what did not move; ``None`` when the source cannot tell (then compare
        decoded values). Why: a recording writes only what changed, and decoding every entry
        to find that out cost more than the sample."""
        find = getattr(self._fetch, "changes", None)
        return find(self._raw, trail) if find is not None else None

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
