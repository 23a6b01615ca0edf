"""The seed's words for MSFT_NetTCPConnection and each of its 32 properties, as data.

``tcpscope explain`` and the TUI's detail pane show these texts;
:mod:`core.connections.property_rules` says where each value comes from,
:mod:`core.connections.seed_tables` what each enum value means. The text is the seed's,
unchanged except that "This property is inherited from X." moved to :data:`INHERITED_FROM`.
Documentation markers such as ``[!Tip]`` are kept as the seed has them. Each property's
"Access type" and "Qualifiers" are here too (:data:`READ_WRITE`, :data:`QUALIFIERS`), each
written once.
"""

from __future__ import annotations

from typing import Final

CLASS_NAME: Final = "MSFT_NetTCPConnection"
SUPERCLASS: Final = "MSFT_NetTransportConnection"
CLASS_DESCRIPTION: Final = "Represents a TCP connection for the Microsoft TCP/IP WMI v2 provider."
"""The seed's one-line description of the class."""

DESCRIPTIONS: Final[dict[str, str]] = {
    "Caption": "Contains a short textual description of the object.",
    "Description": "Provides a textual description of the object.",
    "ElementName": (
        "Contains a user-friendly name for the object. This property allows each instance to "
        "define a user-friendly name in addition to its key properties, identity data, and "
        "description information."
    ),
    "InstallDate": (
        "Indicates when the object was installed. The lack of a value does not indicate that "
        "the object is not installed."
    ),
    "Name": (
        "Indicates the user-friendly name for this instance of a job. In addition, the "
        "user-friendly name can be used as a property for a search or query.\n"
        "\n"
        "[!Tip]\n"
        "Name does not have to be unique within a namespace."
    ),
    "OperationalStatus": (
        "Contains indicators of the current status of the element. The first value of "
        "OperationalStatus should contain the primary status for the element.\n"
        "\n"
        "Note\n"
        "\n"
        "OperationalStatus replaces the deprecated Status property. Due to the widespread use "
        "of the existing Status property in management applications, Microsoft strongly "
        "recommends that providers or instrumentation provide both the Status and "
        "OperationalStatus properties. When instrumented, Status (because it is single-valued) "
        "should also provide the primary status of the element."
    ),
    "StatusDescriptions": (
        "Indicates descriptions of the corresponding values in the OperationalStatus array. For"
        " example, if an element in the OperationalStatus property contains the value Stopping,"
        " then the element at the same array index in this property might contain an "
        "explanation as to why an object is being stopped."
    ),
    "Status": (
        "Contains a string indicating the primary status of the object.\n"
        "\n"
        "Note\n"
        "\n"
        "This property is deprecated and replaced by the OperationalStatus property. If you "
        "choose to use the Status property for backward compatibility it should be secondary to"
        " the OperationalStatus property."
    ),
    "HealthState": (
        "Indicates the current health of the element. This attribute expresses the health of "
        "this element but not necessarily that of its sub-components."
    ),
    "CommunicationStatus": (
        "Indicates the ability of the instrumentation to communicate with this element. A NULL "
        "value indicates that instrumentation does not support this property."
    ),
    "DetailedStatus": (
        "Indicates additional status details that complement the PrimaryStatus property. A NULL"
        " value indicates that the instrumentation does not support this property."
    ),
    "OperatingStatus": (
        "Indicates the current operational condition of the element. This property can be used "
        "to provide more detail about the current state of the element. It can also indicate "
        "transitional states. A NULL value indicates that the instrumentation does not support "
        "this property."
    ),
    "PrimaryStatus": "Indicates a high-level status value.",
    "OtherEnabledState": (
        "A string that describes the enabled or disabled state of the element when the "
        'EnabledState property is set to 1 ("Other"). This property must be set to null when '
        "EnabledState is any value other than 1."
    ),
    "EnabledDefault": (
        "An enumerated value indicating an administrator's default or startup configuration for"
        ' the Enabled State of an element. By default, the element is "Enabled" (value=2).'
    ),
    "TimeOfLastStateChange": (
        "The date or time when the enabled state of the element last changed. If the state of "
        "the element has not changed and this property is populated, then it must be set to a 0"
        " interval value. If a state change was requested, but rejected or not yet processed, "
        "the property must not be updated."
    ),
    "TransitioningToState": (
        "TransitioningToState indicates the target state to which the instance is "
        "transitioning.\n"
        "\n"
        'A value of 5 "No Change" shall indicate that no transition is in progress.A value of '
        '12 "Not Applicable" shall indicate the implementation does not support representing '
        "ongoing transitions.\n"
        "\n"
        "A value other than 5 or 12 shall identify the state to which the element is in the "
        "process of transitioning."
    ),
    "AvailableRequestedStates": (
        "AvailableRequestedStates indicates the possible values for the RequestedState "
        "parameter of the method RequestStateChange, used to initiate a state change. The "
        "values listed shall be a subset of the values contained in the "
        "RequestedStatesSupported property of the associated instance of "
        "CIM_EnabledLogicalElementCapabilities where the values selected are a function of the "
        "current state of the CIM_EnabledLogicalElement. This property may be non-null if an "
        "implementation is able to advertise the set of possible values as a function of the "
        "current state. This property shall be null if an implementation is unable to determine"
        " the set of possible values as a function of the current state."
    ),
    "InstanceID": (
        "Uniquely and opaquely identifies an instance of this class within the scope of the "
        "containing Namespace.\n"
        "\n"
        "[!Important]In order to ensure uniqueness within the Namespace, the value of "
        "InstanceID should be constructed in the following pattern:\n"
        "\n"
        "OrgID:LocalID\n"
        "\n"
        "OrgID must include a copyrighted, trademarked or otherwise unique name that is owned "
        "by the business entity defining the InstanceID, or be a registered ID that is assigned"
        " by a recognized global authority. This is similar to the structure of Schema class "
        "names. In addition, to ensure uniqueness the first colon in InstanceID must be between"
        " the OrgID andLocalID. Therefor the OrgID must not contain a colon (':').\n"
        "\n"
        "LocalID is chosen by the business entity and should not be re-used to identify "
        "different underlying real-world elements.\n"
        "\n"
        "If the preceding pattern is not used, the defining entity must assure that the "
        "resultant InstanceID is not re-used across any InstanceIDs produced by this or other "
        "providers for this Namespace.\n"
        "\n"
        "For Distributed Management Task Force (DMTF) defined instances, the pattern must be "
        "used with the OrgID set to CIM."
    ),
    "EnabledState": (
        "EnabledState is an integer enumeration that indicates the enabled and disabled states "
        "of an element. It can also indicate the transitions between these requested states. "
        "For example, shutting down (value=4) and starting (value=10) are transient states "
        "between enabled and disabled."
    ),
    "RequestedState": (
        "RequestedState is an integer enumeration that indicates the last requested or desired "
        "state for the element, irrespective of the mechanism through which it was requested. "
        "The actual state of the element is represented by EnabledState. This property is "
        "provided to compare the last requested and current enabled or disabled states. Note "
        'that when EnabledState is set to 5 ("Not Applicable"), then this property has no '
        "meaning. Refer to the EnabledState property description for explanations of the values"
        " in the RequestedState enumeration."
    ),
    "Directionality": (
        "Indicates the directionality of the pipe. For unidirectional pipes, the source and "
        "sink are indicated by a property (SourceOrSink) of the association, "
        "EndpointOfNetworkPipe."
    ),
    "AggregationBehavior": (
        "Indicates whether the pipe is composed of lower-level pipes, and if so, how these "
        "lower-level pipes are aggregated (in parallel or in sequence). The specific instances "
        "of NetworkPipe that are combined are described using the NetworkPipeComposition "
        "association."
    ),
    "LocalAddress": "The local address of the transport connection.",
    "LocalPort": "The local port of the transport connection.",
    "RemoteAddress": "The remote address of the TCP connection.",
    "RemotePort": "The remote port of the TCP connection.",
    "State": "The state of the TCP connection.",
    "AppliedSetting": (
        "The name of the setting applied for this TCP connection. For information about these "
        "settings, see MSFT_NetTCPSetting."
    ),
    "OwningProcess": "The PID of the owning process of the TCP connection.",
    "CreationTime": "The creation time of the TCP connection.",
    "OffloadState": "The connection offload state of the TCP connection.",
}
"""The seed's description of each property (WMI name), paragraphs separated by a blank line."""

INHERITED_FROM: Final[dict[str, str]] = {
    "Caption": "CIM_ManagedElement",
    "Description": "CIM_ManagedElement",
    "ElementName": "CIM_ManagedElement",
    "InstallDate": "CIM_ManagedSystemElement",
    "Name": "CIM_ManagedSystemElement",
    "OperationalStatus": "CIM_ManagedSystemElement",
    "StatusDescriptions": "CIM_ManagedSystemElement",
    "Status": "CIM_ManagedSystemElement",
    "HealthState": "CIM_ManagedSystemElement",
    "CommunicationStatus": "CIM_ManagedSystemElement",
    "DetailedStatus": "CIM_ManagedSystemElement",
    "OperatingStatus": "CIM_ManagedSystemElement",
    "PrimaryStatus": "CIM_ManagedSystemElement",
    "OtherEnabledState": "CIM_EnabledLogicalElement",
    "EnabledDefault": "CIM_EnabledLogicalElement",
    "TimeOfLastStateChange": "CIM_EnabledLogicalElement",
    "TransitioningToState": "CIM_EnabledLogicalElement",
    "AvailableRequestedStates": "CIM_EnabledLogicalElement",
    "InstanceID": "CIM_NetworkPipe",
    "EnabledState": "CIM_NetworkPipe",
    "RequestedState": "CIM_NetworkPipe",
    "Directionality": "CIM_NetworkPipe",
    "AggregationBehavior": "CIM_NetworkPipe",
    "LocalAddress": "MSFT_NetTransportConnection",
    "LocalPort": "MSFT_NetTransportConnection",
}
"""The class each inherited property comes from ("This property is inherited from ...")."""

MOF_DEFAULTS: Final[dict[str, int]] = {
    "EnabledDefault": 2,
    "TransitioningToState": 12,
    "RequestedState": 5,
}
"""Default values the MOF block declares (``uint16 EnabledDefault = 2;``...)."""

READ_WRITE: Final = frozenset({"EnabledDefault", "RequestedState"})
"""The properties whose "Access type" the seed gives as Read/write; every other is Read-only."""

Qualifier = bool | int | str | tuple[str, ...]
"""A qualifier's value: ``True`` for a flag (``key``), a number (``MaxLen (64)``), one string
(``ArrayType ("Indexed")``) or a list of strings (``ModelCorrespondence ("A", "B")``);
:func:`core.connections.explain_text.qualifier_text` writes them back as the seed does."""

QUALIFIERS: Final[dict[str, dict[str, Qualifier]]] = {
    "Caption": {"MaxLen": 64},
    "Name": {"MaxLen": 1024},
    "OperationalStatus": {
        "ArrayType": "Indexed",
        "ModelCorrespondence": ("CIM_ManagedSystemElement.StatusDescriptions",),
    },
    "StatusDescriptions": {
        "ArrayType": "Indexed",
        "ModelCorrespondence": ("CIM_ManagedSystemElement.OperationalStatus",),
    },
    "Status": {"Deprecated": ("CIM_ManagedSystemElement.OperationalStatus",), "MaxLen": 10},
    "DetailedStatus": {
        "ModelCorrespondence": (
            "CIM_EnabledLogicalElement.PrimaryStatus",
            "CIM_ManagedSystemElement.HealthState",
        ),
    },
    "OperatingStatus": {"ModelCorrespondence": ("CIM_EnabledLogicalElement.EnabledState",)},
    "PrimaryStatus": {
        "ModelCorrespondence": (
            "CIM_ManagedSystemElement.DetailedStatus",
            "CIM_ManagedSystemElement.HealthState",
        ),
    },
    "OtherEnabledState": {"ModelCorrespondence": ("CIM_EnabledLogicalElement.EnabledState",)},
    "TransitioningToState": {
        "ModelCorrespondence": (
            "CIM_EnabledLogicalElement.RequestStateChange",
            "CIM_EnabledLogicalElement.RequestedState",
            "CIM_EnabledLogicalElement.EnabledState",
        ),
    },
    "AvailableRequestedStates": {
        "ModelCorrespondence": (
            "CIM_EnabledLogicalElement.RequestStateChange",
            "CIM_EnabledLogicalElementCapabilities.RequestedStatesSupported",
        ),
    },
    "InstanceID": {"key": True},
    "EnabledState": {"ModelCorrespondence": ("CIM_EnabledLogicalElement.OtherEnabledState",)},
    "RequestedState": {"ModelCorrespondence": ("CIM_EnabledLogicalElement.EnabledState",)},
}
"""The seed's "Qualifiers:" of each property that has any, in the seed's order within one."""

CLASS_QUALIFIERS: Final[dict[str, Qualifier]] = {
    "UMLPackagePath": "CIM::Network::Pipes",
    "ClassVersion": "1.0.0",
    "dynamic": True,
    "provider": "nettcpip",
    "AMENDMENT": True,
}
"""The qualifiers of the class itself, from the seed's MOF block header."""


def access(name: str) -> str:
    """The seed's "Access type" of property ``name``: ``Read/write`` or ``Read-only``."""
    return "Read/write" if name in READ_WRITE else "Read-only"
