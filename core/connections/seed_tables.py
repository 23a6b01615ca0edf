"""The enum tables of MSFT_NetTCPConnection, as data.

Every enumerated property of the seed class (the TCP-specific State, OffloadState and
AppliedSetting, and the inherited CIM status enums) is one :class:`EnumTable` here, with each
value's name and meaning exactly as the seed gives them and the seed's reserved ranges. The
JSON output, ``tcpscope explain``, the TUI's decoder pane and its ``state:`` filter all decode
through these tables, so a value is named the same way everywhere.

The tables are written once. State, OffloadState and AppliedSetting take their numbers from
the IntEnums of :mod:`core.connections.model`, so those numbers exist in one place only. This
module only
decodes; it never formats for display.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from core.connections.model import AppliedSetting, OffloadState, TcpState

_U16: Final = 0xFFFF
"""Top of a uint16 range: the seed's ``32768 = value`` means 32768..65535."""


@dataclass(frozen=True, slots=True)
class EnumValue:
    """One enum value: raw value, the seed's name, its meaning (``None`` if the seed gives none)."""

    value: int | str
    name: str
    meaning: str | None


@dataclass(frozen=True, slots=True)
class EnumRange:
    """A reserved range of values (inclusive bounds), e.g. DMTF Reserved 19..32767."""

    min: int
    max: int
    name: str
    meaning: str | None


_IGNORED = re.compile(r"[\s_-]+")


def _key(name: str) -> str:
    """Lookup key for names: case-insensitive, spaces, hyphens and underscores ignored.

    This lets users type ``synsent``, ``syn_sent`` or ``bidirectional`` for the seed's
    ``SynSent`` and ``Bi-Directional``.
    """
    return _IGNORED.sub("", name).casefold()


@dataclass(frozen=True, slots=True)
class EnumTable:
    """The enum of one WMI property: its values and reserved ranges."""

    property: str
    """WMI property name, e.g. ``State``."""
    cim_type: str
    """CIM type as the MOF spells it: ``uint8``, ``uint16``, ``uint16[]`` or ``string``."""
    values: tuple[EnumValue, ...]
    ranges: tuple[EnumRange, ...]
    extensions: tuple[EnumValue, ...] = ()
    """Values the seed's table lacks but a later edition of the class documents (State's
    Bound): decoded like the others, listed apart so :attr:`values` stays the seed's."""
    every: tuple[EnumValue, ...] = field(init=False, repr=False, compare=False)
    """The seed's values, then the extensions: what a row can hold and a user can type."""
    _by_value: dict[int | str, EnumValue] = field(init=False, repr=False, compare=False)
    _by_key: dict[str, EnumValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        every = (*self.values, *self.extensions)
        object.__setattr__(self, "every", every)
        object.__setattr__(self, "_by_value", {v.value: v for v in every})
        object.__setattr__(self, "_by_key", {_key(v.name): v for v in every})
        if len(self._by_value) != len(every) or len(self._by_key) != len(every):
            raise ValueError(f"{self.property}: duplicate enum value or name")

    def decode(self, value: int | str) -> EnumValue:
        """Name and meaning of ``value``; never raises.

        A value of the table decodes to its entry; a value inside a reserved range to the
        range's name and meaning; anything else to ``unknown value N`` with no meaning.
        For array properties (OperationalStatus...) decode each element.
        """
        found = self.find(value)
        return found if found is not None else EnumValue(value, f"unknown value {value}", None)

    def find(self, value: int | str) -> EnumValue | None:
        """Like :meth:`decode`, but ``None`` for a value the seed does not define at all."""
        found = self._by_value.get(value)
        if found is not None:
            return found
        if isinstance(value, int):
            for r in self.ranges:
                if r.min <= value <= r.max:
                    return EnumValue(value, r.name, r.meaning)
        return None

    def decode_all(self, values: Iterable[int | str]) -> tuple[EnumValue, ...]:
        """Decode every element of an array value (``uint16[]`` properties)."""
        return tuple(self.decode(v) for v in values)

    def by_name(self, name: str) -> EnumValue | None:
        """The value whose seed name matches ``name`` (case, spaces and hyphens ignored)."""
        return self._by_key.get(_key(name))

    def by_prefix(self, prefix: str) -> tuple[EnumValue, ...]:
        """Values whose name starts with ``prefix`` (as :meth:`by_name` compares), in order."""
        key = _key(prefix)
        return tuple(v for v in self.every if _key(v.name).startswith(key))


def _v(value: int | str, name: str, meaning: str | None = None) -> EnumValue:
    return EnumValue(value, name, meaning)


def _r(lo: int, hi: int, name: str, meaning: str | None = None) -> EnumRange:
    return EnumRange(lo, hi, name, meaning)


def _s(name: str) -> EnumValue:
    """A value of the string enum Status: the value is its own name."""
    return EnumValue(name, name, None)


_T = EnumTable

_TABLES: Final[tuple[EnumTable, ...]] = (
    _T(
        "OperationalStatus",
        "uint16[]",
        (
            _v(
                0,
                "Unknown",
                "Indicates the implementation cannot report on OperationalStatus at this time.",
            ),
            _v(1, "Other", "Indicates an undefined state."),
            _v(2, "OK", "Indicates full functionality without errors."),
            _v(
                3,
                "Degraded",
                (
                    "Indicates the element is working and all functionality is provided. However, "
                    "the element is not working to the best of its abilities. For example, the "
                    "element might not be operating at optimal performance or it might be "
                    "reporting recoverable errors"
                ),
            ),
            _v(
                4,
                "Stressed",
                (
                    "Indicates that the element is functioning, but needs attention. Overload and "
                    "overheated are examples of Stressed states."
                ),
            ),
            _v(
                5,
                "Predictive Failure",
                (
                    "Indicates that an element is functioning nominally but predicting a failure "
                    "in the near future."
                ),
            ),
            _v(6, "Error", "Indicates that an error has occurred."),
            _v(7, "Non-Recoverable Error", "A nonrecoverable error has occurred."),
            _v(8, "Starting", "The job is starting."),
            _v(9, "Stopping", "The job is stopping."),
            _v(10, "Stopped", "The element has been intentionally stopped."),
            _v(
                11,
                "In Service",
                (
                    "Indicates the element is being configured, maintained, cleaned, or otherwise "
                    "administered."
                ),
            ),
            _v(
                12,
                "No Contact",
                (
                    "Indicates that the monitoring system has knowledge of this element, but has "
                    "never been able to establish communications with it."
                ),
            ),
            _v(
                13,
                "Lost Communication",
                (
                    "Indicates that the job is known to exist and has been contacted successfully "
                    "in the past, but is currently unreachable."
                ),
            ),
            _v(
                14,
                "Aborted",
                (
                    "Indicates the job stopped in an unexpected way. The state and configuration "
                    "of the job might need to be updated."
                ),
            ),
            _v(15, "Dormant", "Indicates that the job is inactive."),
            _v(
                16,
                "Supporting Entity in Error",
                (
                    "Indicates that an element on which this job depends is in error. This element"
                    " may be OK but is unable to function because of the state of a dependent "
                    "element. An example is a network service or endpoint that cannot function due"
                    " to lower-layer networking problems."
                ),
            ),
            _v(
                17,
                "Completed",
                (
                    "Indicates that the job has completed its operation. This value should be "
                    "combined with either OK, ErrorError, or Degraded so that a client can tell if"
                    " the complete operation Completed with OK (passed), Completed with Error "
                    "(failed), or Completed with Degraded (the operation finished, but it did not "
                    "complete OK or did not report an error)."
                ),
            ),
            _v(
                18,
                "Power Mode",
                (
                    '"Power Mode" indicates that the element has additional power model '
                    "information contained in the associated PowerManagementService association."
                ),
            ),
        ),
        (
            _r(
                19,
                32767,
                "DMTF Reserved",
                (
                    "DMTF has reserved this portion of the range for additional OperationalStatus "
                    "values in the future."
                ),
            ),
            _r(
                32768,
                _U16,
                "Vendor Reserved",
                (
                    "Microsoft has reserved the unused portion of the range for additional "
                    "OperationalStatus values in the future."
                ),
            ),
        ),
    ),
    _T(
        "Status",
        "string",
        (
            _s("OK"),
            _s("Error"),
            _s("Degraded"),
            _s("Unknown"),
            _s("Pred Fail"),
            _s("Starting"),
            _s("Stopping"),
            _s("Service"),
            _s("Stressed"),
            _s("NonRecover"),
            _s("No Contact"),
            _s("Lost Comm"),
            _s("Stopped"),
        ),
        (),
    ),
    _T(
        "HealthState",
        "uint16",
        (
            _v(0, "Unknown", "The implementation cannot report on HealthState at this time."),
            _v(
                5,
                "OK",
                (
                    "The element is fully functional and is operating within normal operational "
                    "parameters and without error."
                ),
            ),
            _v(
                10,
                "Degraded/Warning",
                (
                    "The element is in working order and all functionality is provided. However, "
                    "the element is not working to the best of its abilities. For example, the "
                    "element might not be operating at optimal performance or it might be "
                    "reporting recoverable errors"
                ),
            ),
            _v(15, "Minor failure", "All functionality is available but some might be degraded."),
            _v(
                20,
                "Major failure",
                (
                    "The element is failing. It is possible that some or all of the functionality "
                    "of this component is degraded or not working."
                ),
            ),
            _v(
                25,
                "Critical failure",
                "The element is non-functional and recovery might not be possible.",
            ),
            _v(
                30,
                "Non-recoverable error",
                (
                    "The element has completely failed, and recovery is not possible. All "
                    "functionality provided by this element has been lost."
                ),
            ),
        ),
        (
            _r(
                31,
                _U16,
                "DMTF Reserved",
                (
                    "DMTF has reserved the unused portion of the continuum for additional "
                    "HealthStates values in the future."
                ),
            ),
        ),
    ),
    _T(
        "CommunicationStatus",
        "uint16",
        (
            _v(
                0,
                "Unknown",
                (
                    "Indicates that the instrumentation cannot report on the CommunicationStatus "
                    "property at this time."
                ),
            ),
            _v(
                1,
                "Not Available",
                (
                    "Indicates that the instrumentation is capable of reporting this property, but"
                    " intentionally does not for this element."
                ),
            ),
            _v(
                2,
                "Communication OK",
                "Indicates only that communication is established with the element.",
            ),
            _v(
                3,
                "Lost Communication",
                (
                    "Indicates that the element has been contacted in the past, but is currently "
                    "unreachable."
                ),
            ),
            _v(
                4,
                "No Contact",
                (
                    "Indicates that the instrumentation has contact information for this element, "
                    "but has never been able to communicate with it."
                ),
            ),
        ),
        (
            _r(5, 32767, "DMTF Reserved", "Reserved."),
            _r(32768, _U16, "Vendor Reserved", "Reserved."),
        ),
    ),
    _T(
        "DetailedStatus",
        "uint16",
        (
            _v(
                0,
                "Not Available",
                (
                    "Indicates that the instrumentation is capable of reporting this property, but"
                    " intentionally does not report it for this element."
                ),
            ),
            _v(
                1,
                "No Additional Information",
                (
                    "Indicates that no details have to be added to the PrimaryStatus property, for"
                    " example when the PrimaryStatus is set to OK."
                ),
            ),
            _v(
                2,
                "Stressed",
                (
                    "Indicates that the element functions, but requires attention. Overload and "
                    "overheated are examples of Stressed states."
                ),
            ),
            _v(
                3,
                "Predictive Failure",
                (
                    "Indicates that an element functions nominally, but predicts a failure in the "
                    "near future."
                ),
            ),
            _v(
                4,
                "Non-Recoverable Error",
                (
                    "Indicates that this element is in an error condition that requires human "
                    "intervention."
                ),
            ),
            _v(
                5,
                "Supporting Entity in Error",
                (
                    "Indicates that an element on which this element depends is in error. This "
                    "element might be OK but cannot function because of the state of a dependent "
                    "element. An example is a network service or endpoint that cannot function due"
                    " to lower-layer networking problems."
                ),
            ),
        ),
        (
            _r(6, 32767, "DMTF Reserved", "Reserved."),
            _r(32768, _U16, "Vendor Reserved", "Reserved."),
        ),
    ),
    _T(
        "OperatingStatus",
        "uint16",
        (
            _v(
                0,
                "Unknown",
                (
                    "Indicates that the instrumentation cannot report on the OperatingStatus "
                    "property at this time."
                ),
            ),
            _v(
                1,
                "Not Available",
                (
                    "Indicates that the instrumentation is capable of reporting this property, but"
                    " intentionally does not report it for this element."
                ),
            ),
            _v(
                2,
                "Servicing",
                (
                    "Indicates that the element is in process to be configured, maintained, "
                    "cleaned, or otherwise administered."
                ),
            ),
            _v(3, "Starting", "Indicates that the element is being initialized."),
            _v(4, "Stopping", "Indicates that the element is being brought to an orderly stop."),
            _v(5, "Stopped", "Indicates that the element is intentionally stopped."),
            _v(6, "Aborted", "Indicates that the element stopped in an unexpected way."),
            _v(7, "Dormant", "Indicates that the element is inactive or quiesced."),
            _v(
                8,
                "Completed",
                (
                    "Indicates that the element completed its operation. We recommend using a "
                    "PrimaryStatus property value of OK, Error, or Degraded to indicate success or"
                    " failure of the operation."
                ),
            ),
            _v(9, "Migrating", "Indicates that the element is being moved between host elements."),
            _v(
                10,
                "Emigrating",
                "Indicates that the element is being moved away from the host element.",
            ),
            _v(
                11,
                "Immigrating",
                "Indicates that the element is being moved to a new host element.",
            ),
            _v(
                12,
                "Snapshotting",
                "Indicates that a snapshot copy of the element is being created.",
            ),
            _v(
                13,
                "Shutting Down",
                "Indicates that the element is being brought to an abrupt stop.",
            ),
            _v(14, "In Test", "Indicates that the element is performing test functions."),
            _v(
                15,
                "Transitioning",
                (
                    "Indicates that the element is between states and is not fully available in "
                    "either state. Use another value that indicates a more specific transition if "
                    "one is available."
                ),
            ),
            _v(16, "In Service", "Indicates that the element is in service and operational."),
        ),
        (
            _r(17, 32767, "DMTF Reserved", "Reserved."),
            _r(32768, _U16, "Vendor Reserved", "Reserved."),
        ),
    ),
    _T(
        "PrimaryStatus",
        "uint16",
        (
            _v(0, "Unknown"),
            _v(1, "OK"),
            _v(2, "Degraded"),
            _v(3, "Error"),
        ),
        (
            _r(4, 32767, "DMTF Reserved"),
            _r(32768, _U16, "Vendor Reserved"),
        ),
    ),
    _T(
        "EnabledDefault",
        "uint16",
        (
            _v(2, "Enabled"),
            _v(3, "Disabled"),
            _v(5, "Not Applicable"),
            _v(6, "Enabled but Offline"),
            _v(7, "No Default"),
            _v(9, "Quiesce"),
        ),
        (
            _r(10, 32767, "DMTF Reserved"),
            _r(32768, _U16, "Vendor Reserved"),
        ),
    ),
    _T(
        "TransitioningToState",
        "uint16",
        (
            _v(0, "Unknown"),
            _v(2, "Enabled"),
            _v(3, "Disabled"),
            _v(4, "Shut Down"),
            _v(5, "No Change"),
            _v(6, "Offline"),
            _v(7, "Test"),
            _v(8, "Defer"),
            _v(9, "Quiesce"),
            _v(10, "Reboot"),
            _v(11, "Reset"),
            _v(12, "Not Applicable"),
        ),
        (_r(13, _U16, "DMTF Reserved"),),
    ),
    _T(
        "AvailableRequestedStates",
        "uint16[]",
        (
            _v(2, "Enabled"),
            _v(3, "Disabled"),
            _v(4, "Shut Down"),
            _v(6, "Offline"),
            _v(7, "Test"),
            _v(8, "Defer"),
            _v(9, "Quiesce"),
            _v(10, "Reboot"),
            _v(11, "Reset"),
        ),
        (_r(12, _U16, "DMTF Reserved"),),
    ),
    _T(
        "EnabledState",
        "uint16",
        (
            _v(0, "Unknown", "The element state is unknown."),
            _v(1, "Other", "The element is in a state other than one listed here."),
            _v(
                2,
                "Enabled",
                (
                    "The element is or could be executing commands, will process any queued "
                    "commands, and queues new requests."
                ),
            ),
            _v(
                3,
                "Disabled",
                "The element will not execute commands and will drop any new requests.",
            ),
            _v(4, "Shutting Down", "The element is in the process of going to a Disabled state."),
            _v(5, "Not Applicable", "The element does not support being enabled or disabled."),
            _v(
                6,
                "Enabled but Offline",
                "The element might be completing commands, and will drop any new requests.",
            ),
            _v(7, "In Test", "The element is in a test state."),
            _v(
                8,
                "Deferred",
                "The element might be completing commands, but will queue any new requests.",
            ),
            _v(9, "Quiesce", "The element is enabled but in a restricted mode."),
            _v(
                10,
                "Starting",
                (
                    "The element is in the process of going to an Enabled state. New requests are "
                    "queued."
                ),
            ),
        ),
        (
            _r(11, 32767, "DMTF Reserved"),
            _r(32768, _U16, "Vendor Reserved"),
        ),
    ),
    _T(
        "RequestedState",
        "uint16",
        (
            _v(0, "Unknown", "the last requested state for the element is unknown."),
            _v(2, "Enabled"),
            _v(
                3,
                "Disabled",
                (
                    "requests an immediate disabling of the element, such that it will not execute"
                    " or accept any commands or processing requests."
                ),
            ),
            _v(
                4,
                "Shut Down",
                (
                    "Requests an orderly transition to the Disabled state, and might involve "
                    "removing power, to completely erase any existing state."
                ),
            ),
            _v(
                5,
                "No Change",
                (
                    'Deprecated in lieu of indicating the last requested state is "Unknown" (0). '
                    "If the last requested or desired state is unknown, RequestedState should have"
                    ' the value "Unknown" (0), but may have the value "No Change" (5).'
                ),
            ),
            _v(
                6,
                "Offline",
                (
                    "The element has been requested to transition to the Enabled but Offline "
                    "EnabledState."
                ),
            ),
            _v(7, "Test"),
            _v(8, "Deferred"),
            _v(9, "Quiesce"),
            _v(
                10, "Reboot", 'Refers to doing a "Shut Down" and then moving to an "Enabled" state.'
            ),
            _v(
                11,
                "Reset",
                'Reset indicates that the element is first "Disabled" and then "Enabled".',
            ),
            _v(
                12,
                "Not Applicable",
                (
                    "Knowledge of the last RequestedState is not supported for the "
                    "EnabledLogicalElement."
                ),
            ),
        ),
        (
            _r(13, 32767, "DMTF Reserved"),
            _r(32768, _U16, "Vendor Reserved"),
        ),
    ),
    _T(
        "Directionality",
        "uint16",
        (
            _v(0, "Unknown"),
            _v(2, "Bi-Directional"),
            _v(3, "Unidirectional"),
        ),
        (),
    ),
    _T(
        "AggregationBehavior",
        "uint16",
        (
            _v(0, "Unknown"),
            _v(2, "No Lower-Level Composition"),
            _v(3, "Combined In Parallel"),
            _v(4, "Combined In Sequence"),
        ),
        (),
    ),
    _T(
        "State",
        "uint8",
        (
            _v(TcpState.CLOSED, "Closed", "Represents no connection state at all."),
            _v(
                TcpState.LISTEN,
                "Listen",
                "Waiting for a connection request from any remote TCP and port.",
            ),
            _v(
                TcpState.SYN_SENT,
                "SynSent",
                (
                    "Waiting for a matching connection request after having sent a connection "
                    "request (SYN packet)."
                ),
            ),
            _v(
                TcpState.SYN_RECEIVED,
                "SynReceived",
                (
                    "Waiting for a confirming connection request acknowledgment after having both "
                    "received and sent a connection request (SYN packet)."
                ),
            ),
            _v(
                TcpState.ESTABLISHED,
                "Established",
                (
                    "Represents an open connection, data received can be delivered to the user. "
                    "This is the normal state for the data transfer phase of the TCP connection."
                ),
            ),
            _v(
                TcpState.FIN_WAIT1,
                "FinWait1",
                (
                    "Waiting for a connection termination request from the remote TCP, or an "
                    "acknowledgment of the connection termination request previously sent."
                ),
            ),
            _v(
                TcpState.FIN_WAIT2,
                "FinWait2",
                "Waiting for a connection termination request from the remote TCP.",
            ),
            _v(
                TcpState.CLOSE_WAIT,
                "CloseWait",
                "Waiting for a connection termination request from the local user.",
            ),
            _v(
                TcpState.CLOSING,
                "Closing",
                "Waiting for a connection termination request acknowledgment from the remote TCP.",
            ),
            _v(
                TcpState.LAST_ACK,
                "LastAck",
                (
                    "Waiting for an acknowledgment of the connection termination request "
                    "previously sent to the remote TCP."
                ),
            ),
            _v(
                TcpState.TIME_WAIT,
                "TimeWait",
                (
                    "Waiting for enough time to pass to be sure the remote TCP received the "
                    "acknowledgment of its connection termination request."
                ),
            ),
            _v(
                TcpState.DELETE_TCB,
                "DeleteTCB",
                (
                    "Represents the deletion of the Transmission Control Block (TCB), a data "
                    "structure used to maintain information on each TCP entry."
                ),
            ),
        ),
        (),
        (
            _v(
                TcpState.BOUND,
                "Bound",
                (
                    "A socket bound to a local address and port that neither listens nor is "
                    "connected (not in the seed's table: Get-NetTCPConnection's documentation "
                    "lists it, MicrosoftDocs windows-powershell-docs PR #500)."
                ),
            ),
        ),
    ),
    _T(
        "AppliedSetting",
        "uint8",
        (
            _v(AppliedSetting.INTERNET, "Internet"),
            _v(AppliedSetting.DATACENTER, "Datacenter"),
            _v(AppliedSetting.COMPAT, "Compat"),
            _v(AppliedSetting.INTERNET_CUSTOM, "InternetCustom"),
            _v(AppliedSetting.DATACENTER_CUSTOM, "DatacenterCustom"),
        ),
        (),
    ),
    _T(
        "OffloadState",
        "uint8",
        (
            _v(OffloadState.IN_HOST, "InHost"),
            _v(OffloadState.OFFLOADING, "Offloading"),
            _v(OffloadState.OFFLOADED, "Offloaded"),
            _v(OffloadState.UPLOADING, "Uploading"),
        ),
        (),
    ),
)

ENUMS: Final[dict[str, EnumTable]] = {t.property: t for t in _TABLES}
"""Every enum table, keyed by WMI property name, in the seed's MOF order."""


def decode(property: str, value: int | str) -> EnumValue:
    """Decode ``value`` of the WMI property ``property``; never raises for a known property.

    Raises:
        KeyError: ``property`` has no enum table (a programming error, not user input).
    """
    return ENUMS[property].decode(value)


def decode_all(property: str, values: Iterable[int | str]) -> tuple[EnumValue, ...]:
    """Decode each element of an array property's value (OperationalStatus...)."""
    return ENUMS[property].decode_all(values)
