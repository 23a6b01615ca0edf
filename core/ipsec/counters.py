"""The 21 MSiSCSI_MMIPSECStats counters as data: description, kind, sources and grades
(and the class's two other properties, InstanceName and Active).

Why: the providers, ``tcpscope explain`` and the screen must agree on what each counter means on
Linux and how honest each source is. The mapping comes from research/ipsec-mapping.md §5; the
descriptions are the seed's MOF text with whitespace normalised (defects such as KeyUpdateFailures
repeating KeyUpdates' text are kept as Microsoft wrote them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.errors import UsageError
from core.ipsec.model import ATTR_BY_WMI, COUNTER_NAMES, Grade, Kind
from core.textsafe import is_digits

CLASS_NAME: Final = "MSiSCSI_MMIPSECStats"
CLASS_DESCRIPTION: Final = (
    "The MSiSCSI_MMIPSECStats WMI class exposes the main mode IPsec statistics."
)
PROVIDERS: Final[tuple[str, ...]] = ("kernel", "strongswan", "libreswan")
SINCE_START: Final = "since monitor start"
_STRONGSWAN_ALERTS: Final = (6, 0, 3)
"""First strongSwan version with the VICI ``alert`` event."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Where one provider gets one counter, and how good that is."""

    expression: str
    grade: Grade
    reason: str
    """One line: why this grade; for ``none`` it is the not-reported reason. No privilege
    note: this text is static (HELP, ``explain``), and the provider's reason for a counter
    it could not read says when a privilege is missing."""
    scope: str | None = None
    """``since monitor start`` for totals counted from events by tcpscope."""


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """Metadata of one counter."""

    name: str
    attr: str
    kind: Kind
    description: str
    kernel: SourceSpec
    strongswan: SourceSpec
    """strongSwan 5.9.x (no ``alert`` event)."""
    strongswan_alerts: SourceSpec
    """strongSwan ≥ 6.0.3 (``alert`` event available)."""
    libreswan: SourceSpec
    note: str = ""
    """tcpscope's word on the description, where the class document's text is wrong."""


def _s(expr: str, grade: str, reason: str, scope: str | None = None) -> SourceSpec:
    return SourceSpec(expr, Grade(grade), reason, scope)


def _none(why: str) -> SourceSpec:
    return SourceSpec("none", Grade.NONE, f"not reported: no honest source ({why})")


_UDP_RXQ = "Σ rx_queue of UDP :500/:4500 sockets in /proc/self/net/udp{,6}"
_EV_KEYS = "count child-updown(up=yes) + child-rekey events"
_EV_FAIL_59 = "count ike-updown events without up and with state=CONNECTING"
_NO_TIMEOUTS_59 = (
    "initiations that time out (peer not responding, given up after retransmits) are not "
    "counted: charon 5.9 sends no event for them"
)
"""Checked against 5.9.8: an IKE_SA whose IKE_SA_INIT is never answered is destroyed without
an ike-updown (that comes only once the peer has answered) or any other VICI event."""
_ALERT_FAIL = (
    "count alert {peer-init-unreachable, half-open-timeout, retransmit-send-timeout, "
    "proposal-mismatch-*, ts-mismatch, local/peer-auth-failed, install-child-*-failed, "
    "authorization-failed, vip-failure, cert-*}"
)
_L_FAIL = "total.ike.ikev1.failed + total.ike.ikev2.failed"
_L_KEYS = "total.ipsec.type.all"

_DESCRIPTIONS: Final[dict[str, str]] = {
    "ActiveAcquire": "An acquire is a request by the IPsec driver to have internet key exchange (IKE) perform a task. The active acquire statistic includes the outstanding request and the number of any queued requests. Typically, the number of active acquires is 1. Under a heavy load, the number of active acquires is 1 plus the number of requests that are queued by IKE for processing.",  # noqa: E501
    "ActiveReceive": "The number of IKE messages received that are queued for processing.",
    "AcquireFailures": "The number of times that an acquire has failed.",
    "ReceiveFailures": "The number of times that the TCP stack has failed when receiving IKE messages.",  # noqa: E501
    "SendFailures": "The number of times that the TCP/IP stack has failed when sending IKE messages.",  # noqa: E501
    "AcquireHeapSize": "The number of entries in the acquire heap, which stores active acquires. This number increases under a heavy load and then gradually decreases over time, as the acquire heap is cleared.",  # noqa: E501
    "ReceiveHeapSize": "The number of entries in the IKE receive buffers for incoming IKE messages.",  # noqa: E501
    "NegotiationFailures": "The total number of negotiation failures that occurred during main mode (also known as Phase I) or quick mode (also known as Phase II) negotiation.",  # noqa: E501
    "AuthenticationFailures": "The total number of identity authentication failures (Kerberos, certificate, and preshared key) that occurred during main mode negotiation.",  # noqa: E501
    "InvalidCookiesReceived": "A cookie is a value contained in a received IKE message that is used by IKE to find the state of an active main mode. A cookie in a received IKE message that cannot be matched with an active main mode is invalid.",  # noqa: E501
    "TotalGetSPI": "The total number of requests submitted by IKE to obtain a unique Security Parameters Index (SPI).",  # noqa: E501
    "KeyAdditions": "The number of outbound quick mode security associations (SAs) added by IKE",
    "KeyUpdates": "The number of inbound quick mode security associations (SAs) added by IKE",
    "GetSPIFailures": "The total number of requests submitted by IKE to obtain a unique Security Parameters Index (SPI) that failed.",  # noqa: E501
    "KeyAdditionFailures": "The number of outbound quick mode security associations (SAs) submitted by IKE that failed",  # noqa: E501
    "KeyUpdateFailures": "The number of inbound quick mode security associations (SAs) added by IKE",  # noqa: E501
    "ConnectionListSize": "The number of quick mode state entries.",
    "OakleyMainMode": "The total number of successful SAs created during main mode negotiations.",
    "OakleyQuickMode": "The total number of successful SAs created during quick mode negotiations",
    "InvalidPackets": "The number of received IKE messages that are invalid, including IKE messages with invalid header fields, incorrect payload lengths, and incorrect values for the responder cookie (when it should be set to 0).",  # noqa: E501
    "SoftAssociations": "The total number of negotiations that resulted in the use of plaintext (also known as soft SAs). This typically reflects the number of associations formed with computers that did not respond to main mode negotiation attempts. This can include both non-IPsec-aware computers and IPsec-aware computers that do not have IPsec policy to negotiate security with this IPsec peer.",  # noqa: E501
}

_NOTES: Final = {
    "KeyUpdateFailures": (
        "The class document gives this counter KeyUpdates' description word for word (a copy "
        "error in Microsoft's text, kept as written above); by its name, and as every source "
        "here reads it, it counts key updates (quick-mode SA installs) that failed."
    ),
}
"""Where the seed's description is wrong: said beside it, never edited into it."""

_GAUGES: Final = frozenset(
    {"ActiveAcquire", "ActiveReceive", "AcquireHeapSize", "ReceiveHeapSize", "ConnectionListSize"}
)

# name: (kernel, strongSwan 5.9, strongSwan >= 6.0.3 (None = same as 5.9), libreswan)
_SOURCES: Final[dict[str, tuple[SourceSpec, SourceSpec, SourceSpec | None, SourceSpec]]] = {
    "ActiveAcquire": (
        _s(
            "count of SAD entries with spi==0 and no XFRMA_ALG_* (acquire larvals)",
            "close",
            "a larval is a kernel acquire waiting for IKE",
        ),
        _s("stats ikesas.half-open", "close", "IKE SAs being negotiated, not acquires proper"),
        None,
        _s(
            "current.states.iketype.halfopen",
            "close",
            "IKE SAs being negotiated, not acquires proper",
        ),
    ),
    "ActiveReceive": (
        _s(
            _UDP_RXQ,
            "approx",
            "counts bytes, not messages: the bytes of datagrams waiting to be read in the "
            "UDP sockets on ports 500 and 4500 of this network namespace, where the seed "
            "counts IKE messages queued for processing",
        ),
        _s(
            "Σ stats queues.{critical,high,medium,low}",
            "approx",
            "counts charon's queued jobs of every priority: received IKE messages waiting to "
            "be processed and other work (rekeys, timeouts), not messages only",
        ),
        None,
        _none("pluto does not publish its receive queue"),
    ),
    "AcquireFailures": (
        _none("the kernel does not report an acquire that IKE failed to satisfy"),
        _s(
            _EV_FAIL_59 + " and initiator=yes",
            "approx",
            "failed IKE SAs we initiated, counted from events; " + _NO_TIMEOUTS_59,
            SINCE_START,
        ),
        _s(
            _ALERT_FAIL + " with initiator=yes",
            "approx",
            "failure alerts of IKE SAs we initiated; counted from events",
            SINCE_START,
        ),
        _s(_L_FAIL, "approx", "IKE SAs deleted before establishment (initiator and responder)"),
    ),
    "ReceiveFailures": (
        _s(
            "Σ drops of UDP :500/:4500 sockets in /proc/self/net/udp{,6}",
            "close",
            "per-socket drops of the IKE sockets; a re-created socket starts at 0",
        ),
        _none("charon does not count socket receive errors"),
        None,
        _none("pluto does not count socket receive errors"),
    ),
    "SendFailures": (
        _s(
            "/proc/self/net/snmp Udp: SndbufErrors",
            "approx",
            "counts every UDP send that failed for lack of send buffer in this network "
            "namespace, from any UDP socket, where the seed counts failed sends of IKE "
            "messages only; other send errors (no route, ...) are not in it",
        ),
        _none("charon reports send errors only as log text"),
        None,
        _none("pluto does not count socket send errors"),
    ),
    "AcquireHeapSize": (
        _s(
            "count of all larval SAD entries (no XFRMA_ALG_*: acquire and GETSPI larvals)",
            "approx",
            "Linux has no acquire heap; counts the half-made SAs the kernel holds instead: "
            "acquires waiting for IKE and SPIs reserved by GETSPI",
        ),
        _s(
            "list-sas: IKE SAs in CONNECTING + CHILD SAs in CREATED/INSTALLING",
            "approx",
            "negotiations in progress, not an acquire heap",
        ),
        None,
        _none("pluto has no acquire heap figure"),
    ),
    "ReceiveHeapSize": (
        _s(
            _UDP_RXQ,
            "approx",
            "counts bytes, not entries: the bytes of datagrams held in the receive buffers "
            "of the UDP sockets on ports 500 and 4500 of this network namespace, where the "
            "seed counts IKE messages (entries) in the receive buffers",
        ),
        _none("charon does not expose its receive buffers"),
        None,
        _none("pluto does not expose its receive buffers"),
    ),
    "NegotiationFailures": (
        _none("negotiation failures are a daemon concept"),
        _s(
            _EV_FAIL_59,
            "approx",
            "IKE-level failures only (5.9 has no alert event), counted from events; "
            + _NO_TIMEOUTS_59,
            SINCE_START,
        ),
        _s(_ALERT_FAIL, "approx", "failure alerts; counted from events", SINCE_START),
        _s(
            _L_FAIL + " + Σ total.{ikev1.ipsec,ikev2.child}.finished.{auth-failed,"
            "ts-unacceptable,crypto-failed,exchange-timeout,crypto-timeout,"
            "too-many-retransmits}",
            "close",
            "since pluto start",
        ),
    ),
    "AuthenticationFailures": (
        _none("authentication is a daemon concept"),
        _none("strongSwan 5.9 has no alert event; auth failures appear only as log text"),
        _s(
            "count alert {local-auth-failed, peer-auth-failed}",
            "close",
            "authentication failure alerts; counted from events",
            SINCE_START,
        ),
        _s(
            "total.ikev1.isakmp.finished.auth-failed + total.ikev2.ike.finished.auth-failed",
            "close",
            "since pluto start; IKEv2 included",
        ),
    ),
    "InvalidCookiesReceived": (
        _none("the kernel does not parse IKE"),
        _s(
            'get-counters counters[""]["invalid-spi"]',
            "exact",
            "messages with an unknown IKE SPI (IKEv1 cookies are IKE SPIs)",
        ),
        None,
        _s(
            "total.ikev1.sent.notifies.error.INVALID_COOKIE + "
            "total.ikev2.sent.notifies.error.INVALID_IKE_SPI",
            "approx",
            "notifies sent, only for some invalid cookies",
        ),
    ),
    "TotalGetSPI": (
        _none("ALLOCSPI is answered by unicast and cannot be observed"),
        _s(
            _EV_KEYS,
            "approx",
            "each new CHILD SA used one inbound SPI; counted from events",
            SINCE_START,
        ),
        None,
        _none("pluto does not count SPI requests"),
    ),
    "KeyAdditions": (
        _s(
            "count XFRM_MSG_NEWSA on XFRMNLGRP_SA",
            "close",
            "outbound SAs per strongSwan's NEWSA/UPDSA convention",
            SINCE_START,
        ),
        _s(_EV_KEYS, "close", "one outbound SA per CHILD SA; counted from events", SINCE_START),
        None,
        _s(_L_KEYS, "close", "IPsec SAs established since pluto start (no direction)"),
    ),
    "KeyUpdates": (
        _s(
            "count XFRM_MSG_UPDSA on XFRMNLGRP_SA",
            "close",
            "inbound SAs per strongSwan's NEWSA/UPDSA convention",
            SINCE_START,
        ),
        _s(_EV_KEYS, "close", "one inbound SA per CHILD SA; counted from events", SINCE_START),
        None,
        _s(_L_KEYS, "close", "IPsec SAs established since pluto start (no direction)"),
    ),
    "GetSPIFailures": (
        _none("ALLOCSPI errors are unicast replies to the daemon"),
        _none("charon only logs SPI allocation failures"),
        None,
        _none("pluto does not count SPI allocation failures"),
    ),
    "KeyAdditionFailures": (
        _none("SA add errors are unicast replies to the daemon"),
        _none("strongSwan 5.9 reports SA install failures only as log text"),
        _s(
            "count alert {install-child-sa-failed, install-child-policy-failed}",
            "approx",
            "no direction split; counted from events",
            SINCE_START,
        ),
        _none("pluto does not count SA install failures"),
    ),
    "KeyUpdateFailures": (
        _none("SA update errors are unicast replies to the daemon"),
        _none("strongSwan 5.9 reports SA install failures only as log text"),
        _s(
            "count alert {install-child-sa-failed, install-child-policy-failed}",
            "approx",
            "no direction split; counted from events",
            SINCE_START,
        ),
        _none("pluto does not count SA install failures"),
    ),
    "ConnectionListSize": (
        _s(
            "(SAD entries with algorithms) / 2",
            "close",
            "installed SA pairs; empty with kernel-libipsec",
        ),
        _s(
            "list-sas: CHILD SAs in state INSTALLED",
            "close",
            "installed quick-mode SAs, not all state entries",
        ),
        None,
        _s("current.states.ipsec", "close", "established IPsec SAs"),
    ),
    "OakleyMainMode": (
        _none("main mode is a daemon concept"),
        _s(
            "count ike-updown(up=yes) + ike-rekey events",
            "close",
            "IKE SAs established (IKEv1 and IKEv2); counted from events",
            SINCE_START,
        ),
        None,
        _s(
            "total.ikev1.isakmp.established + total.ikev2.ike.established",
            "exact",
            "ISAKMP SAs established since pluto start (plus IKEv2)",
        ),
    ),
    "OakleyQuickMode": (
        _none("quick mode is a daemon concept"),
        _s(
            _EV_KEYS,
            "close",
            "CHILD SAs established (IKEv1 and IKEv2); counted from events",
            SINCE_START,
        ),
        None,
        _s(
            "total.ikev1.ipsec.established + total.ikev2.child.established",
            "exact",
            "IPsec SAs established since pluto start (plus IKEv2)",
        ),
    ),
    "InvalidPackets": (
        _none("the kernel does not parse IKE"),
        _s(
            'get-counters counters[""]["invalid"]',
            "exact",
            "messages with invalid types, length or out-of-range values",
        ),
        None,
        _s("total.ike.mangled", "close", "mangled IKE messages (libreswan ≥ 5.4)"),
    ),
    "SoftAssociations": (
        _none("the kernel has no plaintext fallback counter"),
        _none("strongSwan has no soft-SA concept"),
        None,
        _s(
            "current.states.shunts",
            "approx",
            "opportunistic-encryption shunts now (a gauge, not a total)",
        ),
    ),
}


def _build() -> dict[str, CounterSpec]:
    out: dict[str, CounterSpec] = {}
    for name in COUNTER_NAMES:
        k, s, s6, lib = _SOURCES[name]
        out[name] = CounterSpec(
            name=name,
            attr=ATTR_BY_WMI[name],
            kind=Kind.GAUGE if name in _GAUGES else Kind.TOTAL,
            description=_DESCRIPTIONS[name],
            kernel=k,
            strongswan=s,
            strongswan_alerts=s6 if s6 is not None else s,
            libreswan=lib,
            note=_NOTES.get(name, ""),
        )
    return out


COUNTERS: Final[dict[str, CounterSpec]] = _build()
"""By WMI name, in seed order."""
_BY_LOWER: Final[dict[str, str]] = {n.lower(): n for n in COUNTER_NAMES}


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``"5.9.8"`` / ``"6.0.3dr1"`` → ``(5, 9, 8)`` / ``(6, 0, 3)``; None if unparsable."""
    if not text:
        return None
    parts: list[int] = []
    for piece in text.strip().split("."):
        digits = ""
        for ch in piece:
            if not is_digits(ch):
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts) or None


def strongswan_has_alerts(version: str | None) -> bool:
    """True for strongSwan ≥ 6.0.3 (the VICI ``alert`` event exists)."""
    parsed = parse_version(version)
    return parsed is not None and parsed >= _STRONGSWAN_ALERTS


def canonical_name(counter: str) -> str:
    """The WMI spelling of a counter name given in any case.

    Raises:
        UsageError: the name is not one of the 21 counters.
    """
    name = _BY_LOWER.get(counter.strip().lower())
    if name is None:
        raise UsageError(_unknown(counter))
    return name


def property_name(name: str) -> str:
    """The WMI spelling of any property of the class (InstanceName, Active or a counter) given
    in any case.

    Raises:
        UsageError: the class has no such property.
    """
    found = _KEYS_BY_LOWER.get(name.strip().lower()) or _BY_LOWER.get(name.strip().lower())
    if found is None:
        raise UsageError(_unknown(name))
    return found


def _unknown(name: str) -> str:
    return f"unknown {CLASS_NAME} property {name!r} (try: tcpscope explain {CLASS_NAME})"


def source_for(counter: str, provider: str, version: str | None = None) -> SourceSpec:
    """The source spec of a counter for a provider; strongSwan is graded by its version."""
    spec = COUNTERS[canonical_name(counter)]
    if provider == "kernel":
        return spec.kernel
    if provider == "libreswan":
        return spec.libreswan
    if provider == "strongswan":
        return spec.strongswan_alerts if strongswan_has_alerts(version) else spec.strongswan
    raise ValueError(f"unknown provider {provider!r}")


def _counter_json(spec: CounterSpec, strongswan_version: str | None) -> dict[str, object]:
    sources: dict[str, str] = {}
    grades: dict[str, dict[str, str]] = {}
    for provider in PROVIDERS:
        src = source_for(spec.name, provider, strongswan_version)
        sources[provider] = src.expression
        grade: dict[str, str] = {"grade": src.grade.value, "reason": src.reason}
        if src.scope:
            grade["scope"] = src.scope
        grades[provider] = grade
    return {
        "name": spec.name,
        "type": "uint64",
        "qualifiers": {"read": True, "WmiDataId": COUNTER_NAMES.index(spec.name) + 1, **_PERF},
        "description": spec.description,
        **({"note": spec.note} if spec.note else {}),
        "kind": spec.kind.value,
        "sources": sources,
        "grade": grades,
    }


_PERF: Final[dict[str, object]] = {
    "CounterType": "PERF_COUNTER_LARGE_RAWCOUNT",
    "DefaultScale": 0,
    "PerfDetail": 100,
}
"""The qualifiers the seed gives every counter besides ``read`` and its ``WmiDataId``."""

_KEY_PROPERTIES: Final[dict[str, dict[str, object]]] = {
    "InstanceName": {
        "name": "InstanceName",
        "type": "string",
        "qualifiers": {"read": True, "key": True},
        "key": True,
        "description": "instance name is pnp id",
        "note": "The seed's only word on it is that MOF comment: on Windows, the Plug and Play "
        "id of the iSCSI miniport driver that registered the instance.",
        "sources": {
            "kernel": "kernel:<network namespace>, e.g. kernel:net:[4026531840] (readlink of "
            "/proc/self/ns/net: the namespace whose XFRM state and UDP sockets are counted; "
            "plain 'kernel' if it cannot be read)",
            "strongswan": "strongswan:<VICI socket path> (the charon the counters come from)",
            "libreswan": "libreswan:<pluto control socket> (the pluto the counters come from)",
        },
    },
    "Active": {
        "name": "Active",
        "type": "boolean",
        "qualifiers": {"read": True},
        "description": None,
        "note": "The seed declares it ([read] boolean Active) without a description.",
        "source": "every provider: True when it could read its source in this sample; False "
        "when the source is not there or the sample failed (the provider's error says why)",
    },
}
"""The two non-counter properties: what the seed says of them and where tcpscope's value
comes from (the providers in core.ipsec.providers build it)."""
_KEYS_BY_LOWER: Final[dict[str, str]] = {n.lower(): n for n in _KEY_PROPERTIES}


def explain(counter: str | None, strongswan_version: str | None = None) -> dict[str, object]:
    """Data for ``tcpscope explain MSiSCSI_MMIPSECStats[.Property]``.

    Args:
        counter: a property name (InstanceName, Active or a counter; any case) or None for the
            whole class.
        strongswan_version: grade strongSwan for this daemon version (None: 5.9 rules, the
            Debian 12 version, which has no ``alert`` event).

    Raises:
        UsageError: unknown property name.
    """
    if counter is not None:
        name = property_name(counter)
        if name in _KEY_PROPERTIES:
            return {"class": CLASS_NAME, **_KEY_PROPERTIES[name]}
        return {"class": CLASS_NAME, **_counter_json(COUNTERS[name], strongswan_version)}
    ss = strongswan_version or "5.9 (no alert event)"
    return {
        "class": CLASS_NAME,
        "description": CLASS_DESCRIPTION,
        "strongswan_graded_for": ss,
        "properties": [
            *(dict(doc) for doc in _KEY_PROPERTIES.values()),
            *(_counter_json(COUNTERS[n], strongswan_version) for n in COUNTER_NAMES),
        ],
    }
