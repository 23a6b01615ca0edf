"""Building TcpConnection records: identity, address text, Linux state mapping, defaults.

Every source turns its raw socket facts into :class:`core.connections.model.TcpConnection` through
:func:`new_connection` so the MOF defaults and derived values are applied in one place, and
:func:`core.connections.property_rules.rule` can describe them truthfully.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from datetime import datetime
from typing import Final

from core.connections.model import (
    NO_CIM,
    CimProperties,
    OffloadState,
    OwnerStatus,
    TcpConnection,
    TcpState,
    shared_cim,
)
from core.connections.namespaces import key_text
from core.fast_records import TwoStep, plain_constructor
from core.textsafe import is_digits

_CLOSED: Final = TcpState.CLOSED

LINUX_TCP_STATES: Final[dict[int, TcpState]] = {
    1: TcpState.ESTABLISHED,  # TCP_ESTABLISHED
    2: TcpState.SYN_SENT,  # TCP_SYN_SENT
    3: TcpState.SYN_RECEIVED,  # TCP_SYN_RECV
    4: TcpState.FIN_WAIT1,  # TCP_FIN_WAIT1
    5: TcpState.FIN_WAIT2,  # TCP_FIN_WAIT2
    6: TcpState.TIME_WAIT,  # TCP_TIME_WAIT
    7: TcpState.CLOSED,  # TCP_CLOSE; Bound when no peer (see linux_state)
    8: TcpState.CLOSE_WAIT,  # TCP_CLOSE_WAIT
    9: TcpState.LAST_ACK,  # TCP_LAST_ACK
    10: TcpState.LISTEN,  # TCP_LISTEN
    11: TcpState.CLOSING,  # TCP_CLOSING
    12: TcpState.SYN_RECEIVED,  # TCP_NEW_SYN_RECV: request socket before accept
    13: TcpState.BOUND,  # TCP_BOUND_INACTIVE (6.8+): bound, inactive
}
"""Linux ``include/net/tcp_states.h`` numbers → the seed's State values.

DeleteTCB (12) has no Linux counterpart: the kernel frees a TCB without a visible state.
"""


def linux_state(code: int, remote_port: int) -> TcpState | None:
    """The State of a Linux socket; ``None`` for a state number newer than this code.

    The kernel lists a bound-only socket (``bind()``, no ``listen()`` or ``connect()``) as
    TCP_CLOSE with no peer: that is the class's Bound (100), not Closed. A connect that fails
    leaves no listed socket at all (the kernel unhashes it), so its SynSent row just closes.
    """
    state = LINUX_TCP_STATES.get(code)
    if state is TcpState.CLOSED and remote_port == 0:
        return TcpState.BOUND
    return state


PSUTIL_TCP_STATES: Final[dict[str, TcpState]] = {
    "ESTABLISHED": TcpState.ESTABLISHED,
    "SYN_SENT": TcpState.SYN_SENT,
    "SYN_RECV": TcpState.SYN_RECEIVED,
    "FIN_WAIT1": TcpState.FIN_WAIT1,
    "FIN_WAIT2": TcpState.FIN_WAIT2,
    "TIME_WAIT": TcpState.TIME_WAIT,
    "CLOSE": TcpState.CLOSED,  # Bound without a peer: see psutil_state
    "CLOSE_WAIT": TcpState.CLOSE_WAIT,
    "LAST_ACK": TcpState.LAST_ACK,
    "LISTEN": TcpState.LISTEN,
    "CLOSING": TcpState.CLOSING,
    "NONE": TcpState.CLOSED,
    "DELETE_TCB": TcpState.DELETE_TCB,  # Windows
    "BOUND": TcpState.BOUND,  # Solaris/AIX
}
"""psutil's state strings (``psutil.CONN_*``) → the seed's State values."""


def psutil_state(name: str, remote_port: int) -> TcpState | None:
    """The State of a psutil row, Bound for a closed socket without a peer (as on Linux)."""
    state = PSUTIL_TCP_STATES.get(name)
    if state is TcpState.CLOSED and remote_port == 0:
        return TcpState.BOUND
    return state


ORG_ID: Final = "tcpscope"


def address_text(packed: bytes) -> str:
    """Canonical text for a 4- or 16-byte address; IPv4-mapped IPv6 becomes plain IPv4."""
    if len(packed) == 4:
        return str(ipaddress.IPv4Address(packed))
    addr = ipaddress.IPv6Address(packed)
    mapped = addr.ipv4_mapped
    return str(mapped) if mapped is not None else str(addr)


def with_zone(text: str, zone: str) -> str:
    """``text`` with its IPv6 scope zone (``fe80::2%eth0``) when it is link-local.

    Why only link-local: a link-local address means nothing without its interface (the same
    ``fe80::2`` exists on every link), so the zone is part of the address, as ``ss`` and RFC
    4007 write it. A global address bound to a device keeps plain text; its device is still
    in the InstanceID.
    """
    if zone and text[:4].lower() in _LINK_LOCAL and "%" not in text:
        return f"{text}%{zone}"
    return text


_LINK_LOCAL: Final = frozenset({"fe80", "fe90", "fea0", "feb0"})
"""The first hextet's text of fe80::/10 addresses as ipaddress writes them."""


def endpoint_text(address: str, port: int) -> str:
    """``address:port``, an IPv6 address in brackets (as ss and the table write it)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def canonical_address(text: str) -> str:
    """Canonical form of an address string from any source (``::FFFF:1.2.3.4`` → ``1.2.3.4``);
    an IPv6 scope zone (``%eth0``) is kept."""
    if not text:
        return text
    addr = ipaddress.ip_address(text)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def address_test(text: str) -> Callable[[str, str], bool]:
    """Equality with one address, as tcpscope writes addresses: a test of a row's address and
    its InstanceID. An IPv4-mapped form (``::ffff:10.0.0.1``) is its IPv4 address, as every
    row shows it; an address without a zone matches a link-local address on any link
    (``fe80::1`` → ``fe80::1%eth0``); a zone is the interface's name (``fe80::1%eth0``) or
    its index (``fe80::1%3``, RFC 4007's numeric zone), which the row's InstanceID carries
    (the index inside the socket's own network namespace: :func:`ifindex_of`).

    Raises:
        ValueError: ``text`` is no address.
    """
    exact = canonical_address(text)
    if "%" not in exact:
        zoned = exact + "%"
        return lambda address, iid: address == exact or address.startswith(zoned)
    bare, _, zone = exact.partition("%")
    if not is_digits(zone):
        return lambda address, iid: address == exact
    index = int(zone) if len(zone) <= 10 else -1  # an ifindex is a positive int32

    def same_link(address: str, iid: str) -> bool:
        if address == exact:
            return True
        return _unzoned(address) == bare and ifindex_of(iid) == index

    return same_link


def ifindex_of(instance_id: str) -> int:
    """The interface index an InstanceID carries (``…]:22%3#…`` → 3), 0 when it has none.

    The one reader of what :func:`instance_id` writes: its addresses enter without their
    zone, so the only ``%`` in it is the one before the index.
    """
    cut = instance_id.rfind("%")
    if cut < 0:
        return 0
    digits = instance_id[cut + 1 :].partition("#")[0]
    return int(digits) if is_digits(digits) and len(digits) <= 10 else 0


def _unzoned(address: str) -> str:
    cut = address.find("%")
    return address if cut < 0 else address[:cut]


def instance_id(
    local_address: str,
    local_port: int,
    remote_address: str,
    remote_port: int,
    inode: int | None,
    ifindex: int = 0,
    generation: str = "",
    netns: int | None = None,
    closed: bool = False,
) -> str:
    """InstanceID in the seed's ``OrgID:LocalID`` pattern, stable for a connection's life.

    The one place a connection's identity is built: ``[local]:port-[remote]:port``, then

    * ``%<ifindex>`` when the kernel ties the socket to an interface (a link-local address's
      zone, SO_BINDTODEVICE): ``fe80::1`` on two links is two connections, and an index, unlike
      a name, is never reused while the interface lives;
    * ``#<inode>`` for sockets outside the kernel's table of connections: unconnected ones
      (listeners, bound-only), which SO_REUSEPORT lets share a tuple, and ``closed`` ones (State
      Closed: a connection reset or aborted whose process still holds the socket), whose
      4-tuple a new connection may take while they last; and ``#<generation>`` for a
      connection that took over the 4-tuple of one tcpscope still knows (a new socket: see
      :func:`successor_generation`).

    A connected socket is otherwise unique by its 4-tuple, which survives the kernel swapping
    the socket for a TIME_WAIT minisock (its inode does not). Addresses enter without their
    zone name: the index already says which link. A socket outside tcpscope's network
    namespace gets ``ns<inode>/`` in front (the same 4-tuple can live in two namespaces), or
    ``nspid<PID>/`` when that namespace's inode could not be read when it was first seen
    (:func:`core.connections.namespaces.key_text`): kept for the run either way.
    """
    if "%" in local_address:
        local_address = _unzoned(local_address)
    if "%" in remote_address:
        remote_address = _unzoned(remote_address)
    local_id = f"[{local_address}]:{local_port}-[{remote_address}]:{remote_port}"
    if ifindex:
        local_id += f"%{ifindex}"
    if generation:
        local_id += f"#{generation}"
    elif inode and (remote_port == 0 or closed):
        local_id += f"#{inode}"
    if netns is not None:
        # The same 4-tuple can live in two network namespaces (two containers listening on
        # :80): a socket outside tcpscope's own namespace is named by its namespace too.
        return f"{ORG_ID}:ns{key_text(netns)}/{local_id}"
    return f"{ORG_ID}:{local_id}"


def successor_generation(inode: int | None, first_seen: datetime) -> str:
    """What tells a new socket on a reused 4-tuple from the one before: its inode, or (for
    sources without inodes) the microsecond it was first seen."""
    if inode:
        return str(inode)
    return f"t{round(first_seen.timestamp() * 1_000_000)}"


def readdressed(conn: TcpConnection, local_address: str, remote_address: str) -> str:
    """``conn``'s InstanceID with its addresses replaced (``--redact``), the rest kept."""
    head = instance_id(
        conn.local_address, conn.local_port, conn.remote_address, conn.remote_port, 0,
        netns=conn.netns,
    )  # fmt: skip
    tail = conn.instance_id[len(head) :] if conn.instance_id.startswith(head) else ""
    return (
        instance_id(
            local_address, conn.local_port, remote_address, conn.remote_port, 0, netns=conn.netns
        )
        + tail
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PlatformDefaults:
    """Per-source constant values: MOF defaults and derived constants (see
    core.connections.property_rules)."""

    offload_state: int | None
    enabled_default: int | None = 2
    transitioning_to_state: int | None = 12
    requested_state: int | None = 5
    directionality: int | None = 2


LINUX_DEFAULTS: Final = PlatformDefaults(offload_state=int(OffloadState.IN_HOST))
OTHER_DEFAULTS: Final = PlatformDefaults(offload_state=None)


_make_connection: Final = plain_constructor(TcpConnection)


def new_connection(
    *,
    family: int,
    local_address: str,
    local_port: int,
    remote_address: str,
    remote_port: int,
    state: TcpState,
    owning_process: int | None,
    owner_status: OwnerStatus,
    first_seen: datetime,
    created_before_start: bool,
    defaults: PlatformDefaults,
    inode: int | None = None,
    uid: int | None = None,
    source_key: bytes = b"",
    applied_setting: int | None = None,
    offload_state: int | None = None,
    ifindex: int = 0,
    successor: bool = False,
    holders: tuple[int, ...] = (),
    netns: int | None = None,
) -> TcpConnection:
    """A new record with every property set by its rule (core.connections.property_rules).

    ``successor``: the socket took over the 4-tuple of a connection still known (see
    :func:`instance_id`).
    """
    return build_connection(
        family,
        local_address,
        local_port,
        remote_address,
        remote_port,
        state,
        owning_process,
        owner_status,
        first_seen,
        created_before_start,
        defaults,
        inode,
        uid,
        source_key,
        applied_setting,
        offload_state,
        ifindex,
        successor_generation(inode, first_seen) if successor else "",
        holders,
        netns,
    )


def build_connection(
    family: int,
    local_address: str,
    local_port: int,
    remote_address: str,
    remote_port: int,
    state: TcpState,
    owning_process: int | None,
    owner_status: OwnerStatus,
    first_seen: datetime,
    created_before_start: bool,
    defaults: PlatformDefaults,
    inode: int | None,
    uid: int | None,
    source_key: bytes,
    applied_setting: int | None,
    offload_state: int | None,
    ifindex: int,
    generation: str,
    holders: tuple[int, ...],
    netns: int | None = None,
) -> TcpConnection:
    """:func:`new_connection` with positional arguments, for the per-socket paths.

    Positional, in the dataclass's field order: the first sample builds one per socket, and
    keyword arguments cost 40% more (tests/core/test_build.py checks the order). Built by
    plain stores (:mod:`core.fast_records`): five times cheaper than the frozen ``__init__``.
    """
    return _make_connection(
        instance_id(  # positional: this runs once per socket of a first sample
            local_address,
            local_port,
            remote_address,
            remote_port,
            inode,
            ifindex,
            generation,
            netns,
            state is _CLOSED,
        ),
        local_address,
        local_port,
        remote_address,
        remote_port,
        state,
        owning_process,
        first_seen,  # creation_time
        family,
        owner_status,
        created_before_start,
        inode,
        uid,
        source_key,
        None,  # state_changed_at
        holders,
        netns,
        _PLATFORM_CIM.get((defaults, applied_setting, offload_state))
        or _platform_cim(defaults, applied_setting, offload_state),
    )


_LATER_FIELDS: Final = ("owning_process", "owner_status", "holders", "inode", "creation_time")
"""Set by :func:`finish_connection`: the owner, in :meth:`PidResolver.ownership`'s order (the
inode as the int object the owner's fd table holds), and when the socket was first seen."""
_TWO_STEP: Final = TwoStep(TcpConnection, _LATER_FIELDS)


def start_connection(
    family: int,
    local_address: str,
    local_port: int,
    remote_address: str,
    remote_port: int,
    state: TcpState,
    created_before_start: bool,
    defaults: PlatformDefaults,
    inode: int | None,
    uid: int | None,
    source_key: bytes,
    ifindex: int,
    netns: int | None,
) -> object:
    """:func:`build_connection` of a first-seen socket without its owner and CreationTime: an
    opaque object that :func:`finish_connection` turns into the record once both are known.

    Why: a first sample builds its records while the owner scan runs on the other core
    (core.connections.sources.fd_scan), and a steady one builds its new sockets' records
    while the kernel fills the dump's next reply, before the dump's end time is known.
    """
    return _TWO_STEP.start(
        instance_id(
            local_address,
            local_port,
            remote_address,
            remote_port,
            inode,
            ifindex,
            "",
            netns,
            state is _CLOSED,
        ),
        local_address,
        local_port,
        remote_address,
        remote_port,
        state,
        family,
        created_before_start,
        uid,
        source_key,
        None,  # state_changed_at
        netns,
        last[1] if (last := _START_CIM[0])[0] is defaults else _start_cim(defaults),
    )


finish_connection: Final[
    Callable[
        [object, int | None, OwnerStatus, tuple[int, ...], int | None, datetime], TcpConnection
    ]
] = _TWO_STEP.finish
"""``finish_connection(started, owning_process, owner_status, holders, inode, first_seen)``:
the record."""


_PLATFORM_CIM: Final[dict[tuple[PlatformDefaults, int | None, int | None], CimProperties]] = {}


def _platform_cim(
    defaults: PlatformDefaults, applied_setting: int | None, offload_state: int | None
) -> CimProperties:
    """The shared CIM values of a source's connections (see :class:`CimProperties`)."""
    # A platform's defaults are CIM values of the same names.
    chosen = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(defaults)}
    if offload_state is not None:
        chosen["offload_state"] = offload_state
    values = dataclasses.replace(NO_CIM, applied_setting=applied_setting, **chosen)
    cim = shared_cim(*(getattr(values, f.name) for f in dataclasses.fields(CimProperties)))
    _PLATFORM_CIM[(defaults, applied_setting, offload_state)] = cim
    return cim


def _start_cim(defaults: PlatformDefaults) -> CimProperties:
    """The CIM values of ``defaults``' first-seen sockets, kept as :data:`_START_CIM`."""
    cim = _PLATFORM_CIM.get((defaults, None, None)) or _platform_cim(defaults, None, None)
    _START_CIM[0] = (defaults, cim)
    return cim


_START_CIM: Final = [(LINUX_DEFAULTS, _platform_cim(LINUX_DEFAULTS, None, None))]
"""The last platform :func:`start_connection` met and its CIM values, compared by identity:
a lookup in :data:`_PLATFORM_CIM` hashes the PlatformDefaults in Python (~0.2 us a socket,
~10 ms of a 50k first sample)."""


def with_state(conn: TcpConnection, state: TcpState, now: datetime) -> TcpConnection:
    """The same connection after the sampler saw its State change at ``now``."""
    return dataclasses.replace(conn, state=state, state_changed_at=now)
