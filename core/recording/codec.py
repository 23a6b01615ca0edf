"""Lossless, validating JSON encoding of tcpscope's frozen records (connections, IPsec, ...).

Why generic: the records are plain frozen dataclasses whose field annotations already say every
type. One table built from those annotations encodes every record the same way and, on the way
back, checks every value's type, so a damaged or hand-edited file is rejected with the field at
fault instead of producing records that break a screen later. A field added to a model is
picked up automatically; a field of a type this module does not know fails at import (and in
the tests), not silently.

Encoding: a dataclass is a JSON array of its fields in declaration order (no repeated keys, so
the file stays small); datetimes are integer microseconds since the epoch (exact); enums are
their values; bytes are hex; tuples are arrays; ``dict[str, X]`` are objects.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from core.connections.model import (
    CONNECTION_FIELDS,
    CimProperties,
    OwnerStatus,
    ProcessInfo,
    TcpConnection,
    TcpInfo,
    TcpState,
    connection_of,
)
from core.connections.namespaces import ContainerInfo, NamespaceInfo, NamespaceView, ReadBy
from core.connections.snapshot import ErrorKind, Ghost, Privilege, SampleStats, SourceError
from core.ipsec import model as ipsec_model

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class DecodeError(ValueError):
    """A value does not have the recorded type; the message names the field."""


Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Codec:
    """How one type is written and read back."""

    encode: Encoder
    decode: Decoder


def _fail(expected: str, value: object) -> DecodeError:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return DecodeError(f"expected {expected}, got {type(value).__name__} {shown}")


def _dec_int(v: Any) -> int:
    if type(v) is not int:
        raise _fail("an integer", v)
    return v


def _dec_float(v: Any) -> float:
    if type(v) is float:
        if not math.isfinite(v):  # Python's json reads NaN/Infinity; no writer of ours does
            raise _fail("a finite number", v)
        return v
    if type(v) is int:
        return float(v)
    raise _fail("a number", v)


def _dec_str(v: Any) -> str:
    if type(v) is not str:
        raise _fail("a string", v)
    return v


def _dec_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _fail("true or false", v)
    return v


def encode_time(when: datetime) -> int:
    """Microseconds since the epoch (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def decode_time(v: Any) -> datetime:
    """The datetime (UTC) of :func:`encode_time`'s integer."""
    micros = _dec_int(v)
    try:
        return EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise DecodeError(f"time out of range: {micros}") from None


def _dec_bytes(v: Any) -> bytes:
    try:
        return bytes.fromhex(_dec_str(v))
    except ValueError:
        raise _fail("hex bytes", v) from None


def _as_is(v: Any) -> Any:
    """The encoder of a value JSON holds as it is (known by identity: see _dataclass)."""
    return v


_PRIMITIVES: Final[dict[str, Codec]] = {
    "int": Codec(_as_is, _dec_int),
    "float": Codec(_as_is, _dec_float),
    "str": Codec(_as_is, _dec_str),
    "bool": Codec(_as_is, _dec_bool),
    "datetime": Codec(encode_time, decode_time),
    "bytes": Codec(lambda v: v.hex(), _dec_bytes),
}

_ENUMS: Final[dict[str, type[enum.Enum]]] = {
    e.__name__: e
    for e in (TcpState, OwnerStatus, ipsec_model.Grade, ipsec_model.Kind, ErrorKind, ReadBy)
}
_DATACLASSES: Final[dict[str, type]] = {
    c.__name__: c
    for c in (
        TcpConnection,
        TcpInfo,
        ProcessInfo,
        ipsec_model.MMIPsecStats,
        ipsec_model.CounterRow,
        ipsec_model.ChildSa,
        ipsec_model.IkeSa,
        ipsec_model.ProviderView,
        ipsec_model.IpsecView,
        SourceError,
        Privilege,
        SampleStats,
        Ghost,
        ContainerInfo,
        NamespaceInfo,
        NamespaceView,
    )
}
_CODECS: dict[str, Codec] = dict(_PRIMITIVES)


def _enum_codec(cls: type[enum.Enum]) -> Codec:
    def decode(v: Any) -> Any:
        if type(v) not in (int, str):
            raise _fail(f"a {cls.__name__} value", v)
        try:
            return cls(v)
        except ValueError:
            raise _fail(f"a {cls.__name__} value", v) from None

    return Codec(lambda v: v.value, decode)


def _optional(inner: Codec) -> Codec:
    enc, dec = inner.encode, inner.decode
    decode: Callable[[Any], Any] = lambda v: None if v is None else dec(v)  # noqa: E731
    return Codec(_as_is if enc is _as_is else lambda v: None if v is None else enc(v), decode)


def _tuple(inner: Codec) -> Codec:
    enc, dec = inner.encode, inner.decode

    def decode(v: Any) -> tuple[Any, ...]:
        if type(v) is not list:
            raise _fail("a list", v)
        return tuple(dec(x) for x in v)

    return Codec(lambda v: [enc(x) for x in v], decode)


def _frozenset(inner: Codec) -> Codec:
    tup = _tuple(inner)
    return Codec(lambda v: sorted(tup.encode(tuple(v))), lambda v: frozenset(tup.decode(v)))


def _dict(inner: Codec) -> Codec:
    enc, dec = inner.encode, inner.decode

    def decode(v: Any) -> dict[str, Any]:
        if type(v) is not dict:
            raise _fail("an object", v)
        return {k: dec(x) for k, x in v.items()}

    return Codec(lambda v: {k: enc(x) for k, x in v.items()}, decode)


def _dataclass(cls: type) -> Codec:
    if cls is TcpConnection:
        return _connection()
    return _fields_codec(cls.__name__, dataclasses.fields(cls), cls)


def _fields_codec(
    name: str, fields: tuple[dataclasses.Field[Any], ...], build: Callable[..., Any]
) -> Codec:
    names = tuple(f.name for f in fields)
    codecs = tuple(codec_for(str(f.type)) for f in fields)
    encoders = tuple(c.encode for c in codecs)
    decoders = tuple(c.decode for c in codecs)
    count = len(fields)
    required = sum(
        f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        for f in fields
    )
    # Fields added later have defaults: files written before them still decode.
    least = max(required, min((i for i, f in enumerate(fields) if f.name in _ADDED), default=count))

    values = operator.attrgetter(*names) if count > 1 else lambda obj: (getattr(obj, names[0]),)
    converted = tuple((i, e) for i, e in enumerate(encoders) if e is not _as_is)
    """Only these fields need converting (enums, times, nested classes): the rest are read
    in one C call. A recording encodes ~1k changed connections per second at 50k."""

    def encode(obj: Any) -> list[Any]:
        out = list(values(obj))
        for i, e in converted:
            out[i] = e(out[i])
        return out

    def decode(v: Any) -> Any:
        if type(v) is not list or not least <= len(v) <= count:
            raise _fail(f"a list of {count} {name} fields", v)
        values = []
        for field, dec, raw in zip(names, decoders, v, strict=False):
            try:
                values.append(dec(raw))
            except DecodeError as exc:
                raise DecodeError(f"{name}.{field}: {exc}") from None
        return build(*values)

    return Codec(encode, decode)


def _connection() -> Codec:
    """A connection as all its values in :data:`CONNECTION_FIELDS` order (the format of
    version 1: the values of its shared :class:`CimProperties` are written in every record).

    The shared values are encoded once per CimProperties object (a source has one or two);
    a record's own 17 are read in one C call, and one more puts the two parts in order.
    """
    generic = _fields_codec("TcpConnection", CONNECTION_FIELDS, connection_of)
    cim_fields = dataclasses.fields(CimProperties)
    own_fields = tuple(f for f in dataclasses.fields(TcpConnection) if f.name != "cim")
    cim_codec = _fields_codec("CimProperties", cim_fields, CimProperties)
    own_values = operator.attrgetter(*(f.name for f in own_fields))
    converted = tuple(
        (i, enc)
        for i, f in enumerate(own_fields)
        if (enc := codec_for(str(f.type)).encode) is not _as_is
    )
    parts = [f.name for f in (*cim_fields, *own_fields)]
    in_order = operator.itemgetter(*(parts.index(f.name) for f in CONNECTION_FIELDS))
    by_cim: dict[CimProperties, list[Any]] = {}

    def encode(conn: TcpConnection) -> list[Any]:
        cim = by_cim.get(conn.cim)
        if cim is None:
            cim = by_cim[conn.cim] = cim_codec.encode(conn.cim)
        own = list(own_values(conn))
        for i, enc in converted:
            own[i] = enc(own[i])
        return list(in_order(cim + own))

    return Codec(encode, generic.decode)


_ADDED: Final = frozenset(
    {
        "netns",
        "ns_pid",
        "recv_q",
        "send_q",
        "stand_in",
        "via_pid",
        "unmatched",
        "lower_bound",
        "gone",
        "learned_inode",
        "cookie",
        "initial",
        "namespace",
        "event_gaps",
        "slow_s",
        "sample_no",
        "vici_given",
        "history_len",
    }
)
"""Fields added to recorded classes after format version 1 shipped (see _dataclass)."""

_GENERIC = re.compile(r"^(tuple|dict|frozenset)\[(.*)\]$")


def codec_for(annotation: str) -> Codec:
    """The codec of a type written as a field annotation (``int | None``, ``tuple[X, ...]``)."""
    annotation = annotation.strip()
    if annotation in _CODECS:
        return _CODECS[annotation]
    codec: Codec
    if annotation.endswith("| None"):
        codec = _optional(codec_for(annotation[: -len("| None")]))
    elif annotation in _ENUMS:
        codec = _enum_codec(_ENUMS[annotation])
    elif annotation in _DATACLASSES:
        codec = _dataclass(_DATACLASSES[annotation])
    elif match := _GENERIC.match(annotation):
        kind, args = match.groups()
        if kind == "tuple" and args.endswith(", ..."):
            codec = _tuple(codec_for(args[: -len(", ...")]))
        elif kind == "dict" and args.startswith("str,"):
            codec = _dict(codec_for(args[len("str,") :]))
        elif kind == "frozenset":
            codec = _frozenset(codec_for(args))
        else:
            raise TypeError(f"recording codec: unsupported type {annotation!r}")
    else:
        raise TypeError(f"recording codec: unsupported type {annotation!r}")
    _CODECS[annotation] = codec
    return codec


def _checked_connection(codec: Codec) -> Codec:
    """A connection whose numbers are in range: a port outside 0–65535 or a negative PID can
    only come from a damaged or forged file, and would show as a real-looking row."""

    def decode(v: Any) -> Any:
        conn = codec.decode(v)
        for name in ("local_port", "remote_port"):
            port = getattr(conn, name)
            if not 0 <= port <= 65535:
                raise DecodeError(f"TcpConnection.{name}: port out of range 0-65535: {port}")
        pid = conn.owning_process
        if pid is not None and not 0 <= pid <= 0xFFFFFFFF:
            raise DecodeError(f"TcpConnection.owning_process: out of range: {pid}")
        return conn

    return Codec(codec.encode, decode)


def _named(value: str) -> str:
    """``value`` quoted for a one-line message, escapes visible, cut when long."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _check_provider(view: ipsec_model.ProviderView) -> None:
    counters: set[str] = set()
    for row in view.rows:
        if row.name not in ipsec_model.ATTR_BY_WMI:
            raise DecodeError(
                f"IpsecView: provider {view.name!r}: {_named(row.name)} is not one of the 21 "
                "MSiSCSI_MMIPSECStats counters"
            )
        if row.name in counters:
            raise DecodeError(f"IpsecView: provider {view.name!r}: {row.name} is listed twice")
        counters.add(row.name)
        if row.attr != ipsec_model.ATTR_BY_WMI[row.name] or row.provider != view.name:
            raise DecodeError(
                f"IpsecView: provider {view.name!r}: row {row.name} is named "
                f"{_named(row.provider)}.{_named(row.attr)}"
            )


def _checked_ipsec_view(codec: Codec) -> Codec:
    """An IPsec view whose names are the ones a sampler writes: each provider once, named as
    a provider is, its rows among the 21 counters, each once and its own. Screens key their
    widgets and rows by these names; anything else comes from a damaged or forged file or
    agent, and is refused here like a value of the wrong type."""

    def decode(v: Any) -> Any:
        view: ipsec_model.IpsecView = codec.decode(v)
        names: set[str] = set()
        for provider in view.providers:
            if not ipsec_model.is_provider_name(provider.name):
                raise DecodeError(
                    f"IpsecView: provider name {_named(provider.name)} is not a provider name"
                )
            if provider.name in names:
                raise DecodeError(f"IpsecView: provider {provider.name!r} is listed twice")
            names.add(provider.name)
            _check_provider(provider)
        return view

    return Codec(codec.encode, decode)


CONNECTION: Final = _checked_connection(codec_for("TcpConnection"))
TCP_INFO: Final = codec_for("TcpInfo")
PROCESS: Final = codec_for("ProcessInfo")
IPSEC_VIEW: Final = _checked_ipsec_view(codec_for("IpsecView"))
SOURCE_ERROR: Final = codec_for("SourceError")
PRIVILEGE: Final = codec_for("Privilege")
STATS: Final = codec_for("SampleStats")
NAMESPACES: Final = codec_for("NamespaceView")
GHOST_NAMESPACE: Final = codec_for("NamespaceInfo | None")
"""A ghost's own namespace (:attr:`Ghost.namespace`), written beside it only when the
view of its sample has another under its key (see core.recording.frame_encoder)."""
