"""Where every MSFT_NetTCPConnection property comes from, per source.

The seed's MOF block lists 32 properties. This module maps each to its Python attribute and
states, for each source kind, the rule that fills it: reported by the platform, derived from
facts, the MOF default, observed by the sampler, or not reported (with the reason). The JSON
output, ``tcpscope explain`` and the TUI's detail pane all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from core.connections.model import OWNER_PRIVILEGE, OwnerStatus, TcpConnection


class Provenance(StrEnum):
    """How a property's value was obtained."""

    REPORTED = "reported"
    """The platform (kernel, OS API) reports it."""
    DERIVED = "derived"
    """It follows from reported facts by a stated rule."""
    DEFAULT = "default"
    """The MOF default value from the class definition."""
    OBSERVED = "observed"
    """tcpscope's sampler observed it (a bound, not a kernel fact)."""
    NOT_REPORTED = "not reported"
    """No source on this platform gives it; the value is null."""


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One WMI property: its names, CIM type and the enum table that decodes it."""

    wmi_name: str
    attr: str
    cim_type: str
    """CIM type as the MOF spells it, e.g. ``uint16[]``."""
    enum: str | None = None
    """WMI property name of the enum table in :data:`core.connections.seed_tables.ENUMS`, if any."""


@dataclass(frozen=True, slots=True)
class Rule:
    """How one property is filled: the provenance and a one-line human reason/rule."""

    provenance: Provenance
    text: str


def _p(wmi: str, attr: str, cim: str, enum: bool = False) -> PropertySpec:
    return PropertySpec(wmi, attr, cim, wmi if enum else None)


PROPERTIES: Final[tuple[PropertySpec, ...]] = (
    _p("Caption", "caption", "string"),
    _p("Description", "description", "string"),
    _p("ElementName", "element_name", "string"),
    _p("InstallDate", "install_date", "datetime"),
    _p("Name", "name", "string"),
    _p("OperationalStatus", "operational_status", "uint16[]", enum=True),
    _p("StatusDescriptions", "status_descriptions", "string[]"),
    _p("Status", "status", "string", enum=True),
    _p("HealthState", "health_state", "uint16", enum=True),
    _p("CommunicationStatus", "communication_status", "uint16", enum=True),
    _p("DetailedStatus", "detailed_status", "uint16", enum=True),
    _p("OperatingStatus", "operating_status", "uint16", enum=True),
    _p("PrimaryStatus", "primary_status", "uint16", enum=True),
    _p("OtherEnabledState", "other_enabled_state", "string"),
    _p("EnabledDefault", "enabled_default", "uint16", enum=True),
    _p("TimeOfLastStateChange", "time_of_last_state_change", "datetime"),
    _p("TransitioningToState", "transitioning_to_state", "uint16", enum=True),
    _p("AvailableRequestedStates", "available_requested_states", "uint16[]", enum=True),
    _p("InstanceID", "instance_id", "string"),
    _p("EnabledState", "enabled_state", "uint16", enum=True),
    _p("RequestedState", "requested_state", "uint16", enum=True),
    _p("Directionality", "directionality", "uint16", enum=True),
    _p("AggregationBehavior", "aggregation_behavior", "uint16", enum=True),
    _p("LocalAddress", "local_address", "string"),
    _p("LocalPort", "local_port", "uint16"),
    _p("RemoteAddress", "remote_address", "string"),
    _p("RemotePort", "remote_port", "uint16"),
    _p("State", "state", "uint8", enum=True),
    _p("AppliedSetting", "applied_setting", "uint8", enum=True),
    _p("OwningProcess", "owning_process", "uint32"),
    _p("CreationTime", "creation_time", "datetime"),
    _p("OffloadState", "offload_state", "uint8", enum=True),
)
"""All properties, in the seed's MOF order."""

BY_WMI: Final[dict[str, PropertySpec]] = {p.wmi_name: p for p in PROPERTIES}
BY_ATTR: Final[dict[str, PropertySpec]] = {p.attr: p for p in PROPERTIES}

R, D, M, OBS, N = (
    Provenance.REPORTED,
    Provenance.DERIVED,
    Provenance.DEFAULT,
    Provenance.OBSERVED,
    Provenance.NOT_REPORTED,
)

_NO_CIM = "{os} reports no CIM status for a socket"
_COMMON: Final[dict[str, Rule]] = {
    "Caption": Rule(N, "{os} gives no caption for a socket"),
    "Description": Rule(N, "{os} gives no description for a socket"),
    "ElementName": Rule(N, "{os} gives no user-friendly name for a socket"),
    "InstallDate": Rule(N, "a connection is not installed; {os} reports no such date"),
    "Name": Rule(N, "{os} gives no name for a socket"),
    "OperationalStatus": Rule(N, _NO_CIM),
    "StatusDescriptions": Rule(N, "follows OperationalStatus, which is not reported"),
    "Status": Rule(N, _NO_CIM),
    "HealthState": Rule(N, _NO_CIM),
    "CommunicationStatus": Rule(N, _NO_CIM),
    "DetailedStatus": Rule(N, _NO_CIM),
    "OperatingStatus": Rule(N, _NO_CIM),
    "PrimaryStatus": Rule(N, _NO_CIM),
    "OtherEnabledState": Rule(
        N, "the seed requires null unless EnabledState is 1 (Other); EnabledState is not reported"
    ),
    "EnabledDefault": Rule(M, "MOF default of the class definition: EnabledDefault = 2 (Enabled)"),
    "TimeOfLastStateChange": Rule(
        N,
        "the seed defines it as when EnabledState changed, and EnabledState is not reported; "
        "when the TCP State changed is tcpscope.state_changed_at",
    ),
    "TransitioningToState": Rule(
        M, "MOF default 12 (Not Applicable): transitions are not represented"
    ),
    "AvailableRequestedStates": Rule(
        N, "the seed says null when the implementation cannot determine the possible states"
    ),
    "InstanceID": Rule(
        D,
        "tcpscope:<LocalID> from the connection's addresses and ports (+ interface index "
        "when tied to one, + inode when unconnected or Closed)",
    ),
    "EnabledState": Rule(N, "{os} reports no CIM enabled state for a socket"),
    "RequestedState": Rule(
        M, "MOF default of the class definition: RequestedState = 5 (No Change)"
    ),
    "Directionality": Rule(D, "TCP is full duplex: always 2 (Bi-Directional)"),
    "AggregationBehavior": Rule(N, "{os} does not describe pipe composition"),
    "LocalAddress": Rule(R, "{api}"),
    "LocalPort": Rule(R, "{api}"),
    "RemoteAddress": Rule(R, "{api}"),
    "RemotePort": Rule(R, "{api}"),
    "State": Rule(R, "{api}{state_note}"),
    "AppliedSetting": Rule(N, "Windows TCP templates (MSFT_NetTCPSetting) do not exist on {os}"),
    "OwningProcess": Rule(R, "{owner_api}"),
    "CreationTime": Rule(
        OBS,
        "{os} does not report it: the clock read after the dump that first listed the "
        "connection (an upper bound)",
    ),
    "OffloadState": Rule(
        D, "mainline Linux has no TCP Chimney offload: every connection is 0 (InHost)"
    ),
}

_SOURCES: Final[dict[str, dict[str, str]]] = {
    "netlink": {
        "os": "Linux",
        "api": "kernel NETLINK_SOCK_DIAG (inet_diag) dump",
        "owner_api": "socket inode found in /proc/<pid>/fd",
        "state_note": "; Linux TCP states mapped onto the class's State values",
    },
    "psutil": {
        "os": "psutil",
        "api": "psutil.net_connections",
        "owner_api": "psutil.net_connections pid",
        "state_note": "; psutil's state names mapped onto the seed's values",
    },
    "demo": {
        "os": "the demo host",
        "api": "synthetic demo host (scripted data)",
        "owner_api": "synthetic demo host (scripted data)",
        "state_note": "",
    },
}

_OVERRIDES: Final[dict[str, dict[str, Rule]]] = {
    # psutil runs on platforms where we cannot know the offload state.
    "psutil": {
        "OffloadState": Rule(N, "psutil does not expose the offload state"),
        "AppliedSetting": Rule(N, "psutil does not expose the applied TCP setting template"),
        "InstanceID": Rule(
            D,
            "tcpscope:<LocalID> from the connection's addresses and ports (psutil gives no "
            "inode or interface index: listeners sharing an address are one row)",
        ),
        "CreationTime": Rule(
            OBS,
            "psutil does not report it: the clock read after the listing that first showed "
            "the connection (an upper bound)",
        ),
    },
    # The demo plays a synthetic Windows host: every value it shows is part of its script.
    "demo": {
        "AppliedSetting": Rule(R, "synthetic demo host (scripted Windows-like value)"),
        "OffloadState": Rule(R, "synthetic demo host (scripted Windows-like value)"),
    },
}


def rule(source: str, wmi_name: str) -> Rule:
    """The rule for ``wmi_name`` under ``source`` (``netlink``, ``psutil``, ``demo``...)."""
    base = _OVERRIDES.get(source, {}).get(wmi_name) or _COMMON[wmi_name]
    words = _SOURCES.get(source) or {
        "os": f"the {source} source",
        "api": f"{source} source",
        "owner_api": f"{source} source",
        "state_note": "",
    }
    return Rule(base.provenance, base.text.format(**words))


_OWNER_REASONS: Final[dict[OwnerStatus, str]] = {
    OwnerStatus.NO_OWNER: (
        "no owning process: the kernel holds this socket without a file "
        "(TIME_WAIT, SYN_RECV, not yet accept()ed from its listener's queue, or "
        "orphaned); Windows shows PID 0 here"
    ),
    OwnerStatus.NEEDS_PRIVILEGE: (
        f"not reported: other users' processes are unreadable; {OWNER_PRIVILEGE}"
    ),
    OwnerStatus.NOT_FOUND: (
        "not reported: no fd table tcpscope could read holds this socket (it closed "
        "meanwhile, its owner lives in another PID namespace, or a security module keeps "
        "the owner's fds even from root)"
    ),
    OwnerStatus.NOT_SUPPORTED: "not reported: this source cannot attribute sockets to processes",
    OwnerStatus.RESOLVING: (
        "not reported yet: the first rows are shown while the owners are looked up in /proc"
    ),
}


def cell_rule(
    conn: TcpConnection,
    wmi_name: str,
    source: str,
    started_at: datetime,
    *,
    hidepid: str | None = None,
) -> Rule:
    """The rule for one cell, refined by the connection's own facts.

    OwningProcess and CreationTime carry per-connection reasons: an owner may be absent for a
    reason, and a creation time is either "first seen" or "before <start>". Whatever the
    source's rule, a cell without a value is not reported, with the rule as its reason: a
    value is reported or explained as missing, never both. ``hidepid``: the run's
    :attr:`~core.connections.snapshot.Privilege.hidepid`, the reason an owner needing
    privilege is not known when a hidepid /proc hides other users' processes.
    """
    base = rule(source, wmi_name)
    if wmi_name == "OwningProcess":
        if conn.owning_process is None:
            if hidepid and conn.owner_status is OwnerStatus.NEEDS_PRIVILEGE:
                return Rule(N, f"not reported: {hidepid}")
            return Rule(N, _OWNER_REASONS.get(conn.owner_status, "not reported"))
        if len(conn.holders) > 1:
            return Rule(
                base.provenance,
                f"{base.text}; several processes hold this socket (tcpscope.holders): the "
                "lowest PID is shown",
            )
        return base
    if wmi_name == "CreationTime" and base.provenance is OBS and conn.creation_time is not None:
        # The value carries the measured time to the microsecond; the text says what it bounds.
        if open_at_reconnect(conn, started_at):
            return Rule(
                OBS,
                "open when tcpscope reconnected to the server after losing the link: created "
                "at or before this time, read after the new session's first dump (an upper "
                "bound; the kernel does not report creation)",
            )
        if conn.created_before_start:
            return Rule(
                OBS,
                "open before tcpscope's first sample: created at or before this time, read "
                "after the first dump (an upper bound; the kernel does not report creation)",
            )
        return Rule(
            OBS,
            "first listed by the dump that ended at this time: created at or before it, "
            "after the previous dump began (the kernel does not report creation)",
        )
    present = getattr(conn, BY_WMI[wmi_name].attr) is not None
    if base.provenance is not N and not present:
        return Rule(N, f"not reported for this connection ({base.text})")
    if base.provenance is N and present:
        return Rule(R, f"reported by the {source} source for this connection")
    return base


def open_at_reconnect(conn: TcpConnection, started_at: datetime) -> bool:
    """Whether ``conn`` was open before a --remote session that began after tcpscope's start
    (the link was lost and regained): its "before start" bound is later than the start.

    One of the facts :func:`cell_rule` reads; whatever caches its rules by kind of row
    (core.connections.report.json_docs) keys on it too.
    """
    created = conn.creation_time
    return conn.created_before_start and created is not None and created > started_at


def value(conn: TcpConnection, spec: PropertySpec) -> object:
    """The raw value of ``spec`` on ``conn``."""
    return getattr(conn, spec.attr)
