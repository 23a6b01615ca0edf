"""The MSFT_NetTCPConnection data model, UI-free.

One frozen record per TCP connection carrying every property the seed class documents (the
32 of the MOF block, inherited CIM ones included; those that never differ between a source's
connections in one shared object), plus the facts tcpscope needs around it:
who owns the socket, how the owner was (or was not) found, and the kernel's tcp_info.

Values are raw: numbers, strings, datetimes in UTC. Nothing here is formatted for display,
and nothing here is ever invented: a value the platform cannot give is ``None`` and
:mod:`core.connections.property_rules` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, dataclass, fields
from datetime import datetime
from enum import IntEnum, StrEnum
from operator import attrgetter
from typing import Any, Final


class TcpState(IntEnum):
    """MSFT_NetTCPConnection.State (uint8); names and meanings live in
    :mod:`core.connections.seed_tables`."""

    CLOSED = 1
    LISTEN = 2
    SYN_SENT = 3
    SYN_RECEIVED = 4
    ESTABLISHED = 5
    FIN_WAIT1 = 6
    FIN_WAIT2 = 7
    CLOSE_WAIT = 8
    CLOSING = 9
    LAST_ACK = 10
    TIME_WAIT = 11
    DELETE_TCB = 12
    BOUND = 100
    """Not in the seed's table: Get-NetTCPConnection's documentation added it later (see
    :data:`core.connections.seed_tables.ENUMS`, State extensions)."""


class OffloadState(IntEnum):
    """MSFT_NetTCPConnection.OffloadState (uint8): TCP Chimney offload state."""

    IN_HOST = 0
    OFFLOADING = 1
    OFFLOADED = 2
    UPLOADING = 3


class AppliedSetting(IntEnum):
    """MSFT_NetTCPConnection.AppliedSetting (uint8): the Windows TCP template applied."""

    INTERNET = 0
    DATACENTER = 1
    COMPAT = 2
    INTERNET_CUSTOM = 3
    DATACENTER_CUSTOM = 4


OWNER_PRIVILEGE: Final = (
    "reading their /proc/<pid>/fd needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH "
    "(root has both unless its container drops CAP_SYS_PTRACE)"
)
"""What finds the owners of other users' sockets (:attr:`OwnerStatus.NEEDS_PRIVILEGE`), said
the same wherever it is said. Why both: listing another user's fd directory needs
CAP_DAC_READ_SEARCH (or CAP_DAC_OVERRIDE), reading its links CAP_SYS_PTRACE; either alone
finds no owner (checked with setpriv)."""


class OwnerStatus(StrEnum):
    """How OwningProcess was (or was not) established for one connection.

    Windows reports PID 0 for TIME_WAIT; tcpscope reports ``None`` with one of these
    reasons instead, because 0 is a real PID-shaped number that means nothing here.
    """

    FOUND = "found"
    """The socket inode was found in the owner's /proc/<pid>/fd (or the platform API said so)."""
    NO_OWNER = "no-owner"
    """The kernel holds the socket with no file (TIME_WAIT, SYN_RECV request, orphaned)."""
    NEEDS_PRIVILEGE = "needs-privilege"
    """Some processes' fd tables were unreadable to us, or (a /proc mounted with hidepid)
    another user's socket was not found while their processes are hidden from us; the owner
    may be among them."""
    NOT_FOUND = "not-found"
    """No fd table that could be read held the inode: it closed between reads, its owner is
    in another PID namespace, or the owner's links are refused even with CAP_SYS_PTRACE (an
    LSM; this machine kind's init) — no privilege the user could add would read those."""
    NOT_SUPPORTED = "not-supported"
    """The source has no way to attribute sockets to processes."""
    RESOLVING = "resolving"
    """Not looked up yet: a live view's first page is shown before its /proc scan ends (see
    :class:`core.connections.first_page.FirstPage`); never in a finished sample."""


@dataclass(frozen=True, slots=True)
class TcpInfo:
    """Kernel TCP internals (Linux ``struct tcp_info``) for one socket at one sample."""

    rtt_us: int
    """Smoothed round-trip time, microseconds."""
    rttvar_us: int
    """Round-trip time variance, microseconds."""
    snd_cwnd: int
    """Congestion window, segments."""
    snd_mss: int
    """Sender maximum segment size, bytes."""
    retransmits: int
    """Retransmission timeouts of the current unacknowledged segment (``tcpi_retransmits``)."""
    total_retrans: int
    """Retransmitted segments over the connection's life."""
    bytes_acked: int | None
    """Bytes sent and acknowledged by the peer (RFC 4898 tcpEStatsAppHCThruOctetsAcked)."""
    bytes_received: int | None
    """Bytes received (RFC 4898 tcpEStatsAppHCThruOctetsReceived)."""
    unacked: int
    """Segments sent but not yet acknowledged."""
    lost: int
    """Segments the stack currently believes lost (``tcpi_lost``)."""
    retrans: int
    """Retransmitted segments not yet acknowledged (``tcpi_retrans``; ss: ``retrans:N/total``)."""
    recv_q: int | None = None
    """``ss``'s Recv-Q (``idiag_rqueue``): bytes received and not yet read, or for a LISTEN
    socket the connections waiting in its accept queue. ``None``: the source has no inet_diag
    message (psutil, /proc/net/tcp, recordings made before tcpscope read it)."""
    send_q: int | None = None
    """``ss``'s Send-Q (``idiag_wqueue``): bytes sent and not yet acknowledged, or for a LISTEN
    socket its configured backlog.

    Why here and not on :class:`TcpConnection`: queue sizes change with every burst of
    traffic, so a record field would either go stale (records are reused while the socket's
    identity is unchanged, which keeps a 50k tick cheap) or make a new record per busy socket
    per sample. Like the rest of tcp_info they are read from the same inet_diag message, for
    every socket when tcp_info is dumped (``--json``, recordings) and for the rows on screen
    otherwise."""


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """The owning process, fetched once per PID (process details rarely change)."""

    pid: int
    """Process ID."""
    name: str | None
    """Process name; untrusted text, controlled by the process."""
    username: str | None
    """User owning the process; ``None`` when it could not be resolved."""
    cmdline: tuple[str, ...] | None
    """Argument vector; untrusted text. ``None`` when access was denied."""
    exe: str | None
    """Executable path; ``None`` when access was denied."""
    create_time: float | None
    """Process start, seconds since the epoch."""
    denied: tuple[str, ...] = ()
    """Names of the fields above that the OS refused to give us."""
    ns_pid: int | None = None
    """Its PID inside its own PID namespace (a container's), when that differs from
    :attr:`pid` (``NSpid`` in /proc/PID/status); OwningProcess stays the host PID."""


@dataclass(frozen=True, slots=True, eq=False)
class CimProperties:
    """The properties of a connection that are the same for all connections of a source: the
    inherited CIM ones no source reports (``None``), the MOF defaults and the platform's
    constants (OffloadState, AppliedSetting).

    Why apart: 24 of a record's 41 values, 8 bytes each in every one of 50k records; one
    shared object instead takes a record from 360 to 176 bytes. Made only by
    :func:`shared_cim`, which keeps one object per distinct set of values: two are equal
    exactly when they are the same object (fast to compare and hash in every sample).
    """

    caption: str | None = None
    description: str | None = None
    element_name: str | None = None
    install_date: datetime | None = None
    name: str | None = None
    operational_status: tuple[int, ...] | None = None
    status_descriptions: tuple[str, ...] | None = None
    status: str | None = None
    health_state: int | None = None
    communication_status: int | None = None
    detailed_status: int | None = None
    operating_status: int | None = None
    primary_status: int | None = None
    other_enabled_state: str | None = None
    enabled_default: int | None = None
    time_of_last_state_change: datetime | None = None
    """The seed defines it for EnabledState, which no source reports: always ``None``. The
    TCP State's change time is :attr:`TcpConnection.state_changed_at`."""
    transitioning_to_state: int | None = None
    available_requested_states: tuple[int, ...] | None = None
    enabled_state: int | None = None
    requested_state: int | None = None
    directionality: int | None = None
    aggregation_behavior: int | None = None
    applied_setting: int | None = None
    offload_state: int | None = None


_SHARED_CIM: dict[tuple[object, ...], CimProperties] = {}


def shared_cim(*values: object) -> CimProperties:
    """The one :class:`CimProperties` holding ``values`` (in its field order; missing trailing
    ones are ``None``)."""
    cim = _SHARED_CIM.get(values)
    if cim is None:
        cim = _SHARED_CIM[values] = CimProperties(*values)  # type: ignore[arg-type]
    return cim


NO_CIM: Final = shared_cim()
"""Every CIM property ``None``."""


def _cim(name: str) -> Any:
    """A record's read-only attribute kept in its :class:`CimProperties`."""
    return property(attrgetter(f"cim.{name}"), doc=f"See :attr:`CimProperties.{name}`.")


@dataclass(frozen=True, slots=True)
class TcpConnection:
    """One MSFT_NetTCPConnection instance.

    Every property of the seed's MOF block is an attribute;
    :data:`CONNECTION_FIELDS` lists them in the MOF's order (the order of the recording
    format) and :data:`core.connections.property_rules.PROPERTIES` maps each to its WMI name
    and states the rule that fills it. The values that differ between connections are stored
    in the record; the rest are in the shared :attr:`cim`. The fields after
    :attr:`offload_state` in :data:`CONNECTION_FIELDS` are tcpscope's own and never appear
    under a WMI name.
    """

    instance_id: str
    """``tcpscope:<LocalID>``; stable for the connection's life (built by
    :func:`core.connections.records.instance_id`)."""
    local_address: str
    """Canonical text; IPv4-mapped IPv6 shown as IPv4."""
    local_port: int
    remote_address: str
    remote_port: int
    state: TcpState
    owning_process: int | None
    """PID, or ``None`` with :attr:`owner_status` saying why."""
    creation_time: datetime | None
    """A bound, not a kernel fact on Linux: see :attr:`created_before_start`."""

    # --- tcpscope's own facts (not WMI properties) ---
    family: int
    """4 or 6: the socket's address family as the kernel reports it."""
    owner_status: OwnerStatus
    """Why :attr:`owning_process` is or is not set."""
    created_before_start: bool
    """True when the connection existed before the first sample: CreationTime is then an upper
    bound ("before <start>"), not the first-seen time."""
    inode: int | None = None
    """Socket inode (0 for sockets without a file); ``None`` where the source has no inodes."""
    uid: int | None = None
    """Socket owner's uid as the kernel reports it."""
    source_key: bytes = b""
    """Opaque per-source identity used to reuse unchanged records between samples."""
    state_changed_at: datetime | None = None
    """When the sampler saw State change (after the dump that showed it); ``None`` until it
    has seen a change. Reported as ``tcpscope.state_changed_at``, not as a WMI property."""
    holders: tuple[int, ...] = ()
    """Every PID seen holding the socket when more than one does (fork, SCM_RIGHTS),
    ascending: OwningProcess is the first. Empty when OwningProcess holds it alone, when no
    holder is known, or when the source cannot tell (the JSON lists the owner alone then)."""
    netns: int | None = None
    """Network namespace key when the socket is not in tcpscope's own namespace (see
    core.netns): its inode, or (negative) a stand-in when it could not be read (see
    core.connections.namespaces.key_text); ``None`` for tcpscope's own namespace and for
    sources without namespaces."""
    cim: CimProperties = NO_CIM
    """The values shared with the source's other connections (see :class:`CimProperties`)."""

    caption = _cim("caption")
    description = _cim("description")
    element_name = _cim("element_name")
    install_date = _cim("install_date")
    name = _cim("name")
    operational_status = _cim("operational_status")
    status_descriptions = _cim("status_descriptions")
    status = _cim("status")
    health_state = _cim("health_state")
    communication_status = _cim("communication_status")
    detailed_status = _cim("detailed_status")
    operating_status = _cim("operating_status")
    primary_status = _cim("primary_status")
    other_enabled_state = _cim("other_enabled_state")
    enabled_default = _cim("enabled_default")
    time_of_last_state_change = _cim("time_of_last_state_change")
    transitioning_to_state = _cim("transitioning_to_state")
    available_requested_states = _cim("available_requested_states")
    enabled_state = _cim("enabled_state")
    requested_state = _cim("requested_state")
    directionality = _cim("directionality")
    aggregation_behavior = _cim("aggregation_behavior")
    applied_setting = _cim("applied_setting")
    offload_state = _cim("offload_state")


_MOF_ORDER: Final = (
    "caption", "description", "element_name", "install_date", "name", "operational_status",
    "status_descriptions", "status", "health_state", "communication_status", "detailed_status",
    "operating_status", "primary_status", "other_enabled_state", "enabled_default",
    "time_of_last_state_change", "transitioning_to_state", "available_requested_states",
    "instance_id", "enabled_state", "requested_state", "directionality", "aggregation_behavior",
    "local_address", "local_port", "remote_address", "remote_port", "state", "applied_setting",
    "owning_process", "creation_time", "offload_state",
    "family", "owner_status", "created_before_start", "inode", "uid", "source_key",
    "state_changed_at", "holders", "netns",
)  # fmt: skip
_BY_NAME: Final = {f.name: f for f in (*fields(CimProperties), *fields(TcpConnection))}
CONNECTION_FIELDS: Final[tuple[Field[Any], ...]] = tuple(_BY_NAME[name] for name in _MOF_ORDER)
"""Every attribute of a connection, in the seed's MOF order then tcpscope's own (the order of
a connection in a recording; see :func:`connection_of`)."""
_CIM_AT: Final = tuple(i for i, name in enumerate(_MOF_ORDER) if name in CimProperties.__slots__)
_OWN_AT: Final = tuple(_MOF_ORDER.index(f.name) for f in fields(TcpConnection) if f.name != "cim")


def connection_of(*values: Any) -> TcpConnection:
    """A record from its :data:`CONNECTION_FIELDS` values, in that order (missing trailing
    ones take their defaults)."""
    values += tuple(f.default for f in CONNECTION_FIELDS[len(values) :])  # added later
    own: list[Any] = [values[i] for i in _OWN_AT]
    own.append(shared_cim(*(values[i] for i in _CIM_AT)))
    return _new_connection(*own)


_new_connection: Final[Callable[..., TcpConnection]] = TcpConnection
