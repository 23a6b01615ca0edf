"""``tcpscope explain``: what a class, a property or one value means, and where it comes from.

Users trip over unexplained codes (State 8? HealthState 0?). This module answers from the
same tables everything else uses: the seed's descriptions (:mod:`core.connections.descriptions`),
its enum tables (:mod:`core.connections.seed_tables`) and the per-source rules
(:mod:`core.connections.property_rules`). It builds JSON-able dicts
(:mod:`core.connections.explain_text` renders them as plain text); the CLI only mounts it.
MSiSCSI_MMIPSECStats is delegated to :mod:`core.ipsec.counters`. No Textual, no Rich: this
runs headless.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from core.connections import descriptions
from core.connections.model import TcpState
from core.connections.property_rules import PROPERTIES, PropertySpec, rule
from core.connections.seed_tables import ENUMS, EnumTable, EnumValue
from core.connections.state_hints import NEVER_ON_LINUX, state_hint
from core.errors import UsageError
from core.textsafe import rquoted

TCP_CLASS: Final = descriptions.CLASS_NAME
IPSEC_CLASS: Final = "MSiSCSI_MMIPSECStats"
SOURCES: Final[tuple[str, ...]] = ("netlink", "psutil")
"""The live sources whose rules ``explain`` reports for each property."""

_TYPE_MAX: Final[dict[str, int]] = {"uint8": 0xFF, "uint16": 0xFFFF, "uint16[]": 0xFFFF}
_DIGITS: Final = re.compile(r"[0-9]+")
_NUMBER_LIKE: Final = re.compile(r"[+-]?\d+")
"""A number in any script, signed or not: refused unless it is :data:`_DIGITS` (``int()``
reads ``٥``, ``５`` and ``+5`` as 5; no other number in tcpscope takes them)."""
_BY_LOWER: Final[dict[str, PropertySpec]] = {p.wmi_name.lower(): p for p in PROPERTIES}
_IPSEC_MISSING: Final = "the IPsec class is not available in this build"


# --- building the documents -------------------------------------------------------------


def explain(target: str | None, value: str | None = None) -> dict[str, Any]:
    """The explanation of ``target`` (``CLASS``, ``CLASS.PROPERTY`` or a property or counter
    name alone), optionally one value.

    Args:
        target: ``None`` lists both classes; class and property names match in any case.
        value: a number (``"5"``) or a seed name (``"Established"``, ``"syn sent"``) of the
            property's enum.

    Returns:
        A JSON-able dict (see :func:`render_text` for its shapes).

    Raises:
        UsageError: unknown class, property or value, or a value without an enum property.
    """
    if target is None:
        return _listing()
    class_part, dot, prop_part = target.partition(".")
    if not dot and (owner := _class_of(class_part)) is not None:
        # A bare property or counter name (``explain State 5``): no name is in both classes.
        class_part, dot, prop_part = owner, ".", class_part
    if class_part.lower() == IPSEC_CLASS.lower():
        return _ipsec(prop_part if dot else None, value)
    if class_part.lower() != TCP_CLASS.lower():
        what = "class" if dot else "class or property"
        raise UsageError(
            f"unknown {what} {rquoted(class_part)} (classes: {TCP_CLASS}, {IPSEC_CLASS}; "
            "try: tcpscope explain)"
        )
    if not dot:
        if value is not None:
            raise UsageError(
                f"a value needs a property, e.g. tcpscope explain {TCP_CLASS}.State {value}"
            )
        return class_doc()
    spec = _property(prop_part)
    if value is None:
        return property_doc(spec)
    return value_doc(spec, value)


def class_doc() -> dict[str, Any]:
    """MSFT_NetTCPConnection: description and every property with its rules."""
    return {
        "class": TCP_CLASS,
        "superclass": descriptions.SUPERCLASS,
        "description": descriptions.CLASS_DESCRIPTION,
        "qualifiers": qualifiers_json(descriptions.CLASS_QUALIFIERS),
        "properties": [
            {**_property_head(spec), "enum": spec.enum is not None, "rules": _rules(spec)}
            for spec in PROPERTIES
        ],
    }


def property_doc(spec: PropertySpec) -> dict[str, Any]:
    """One property: description, enum values and reserved ranges (if any), rules."""
    doc: dict[str, Any] = {"class": TCP_CLASS, **_property_head(spec)}
    table = _table(spec)
    if table is not None:
        doc["values"] = [_value_json(v) for v in table.values]
        if table.extensions:
            doc["values_beyond_the_seed"] = [_value_json(v) for v in table.extensions]
        doc["ranges"] = _ranges_json(table)
    doc["rules"] = _rules(spec)
    return doc


def value_doc(spec: PropertySpec, value: str) -> dict[str, Any]:
    """One decoded value of an enum property, plus the property's reserved ranges.

    Raises:
        UsageError: the property has no enum, or the value is neither a number the seed
            defines (in the table or a reserved range) nor a value name.
    """
    table = _table(spec)
    if table is None:
        raise UsageError(
            f"{spec.wmi_name} has no enumerated values "
            f"(try: tcpscope explain {TCP_CLASS}.{spec.wmi_name})"
        )
    found = _find(table, value.strip())
    doc: dict[str, Any] = {
        "class": TCP_CLASS,
        "property": spec.wmi_name,
        "type": spec.cim_type,
        **_value_json(found),
    }
    if spec.wmi_name == "State" and isinstance(found.value, int):
        # tcpscope's reading of the State (the detail pane's), not the seed's text; no
        # connection, so no owner: a FIN's retransmissions name both sysctls
        state = TcpState(found.value)
        hint = NEVER_ON_LINUX if state is TcpState.DELETE_TCB else state_hint(state, None, None)
        if hint is not None:
            doc["in_practice"] = hint
    doc["ranges"] = _ranges_json(table)
    return doc


def _listing() -> dict[str, Any]:
    tcp = {
        "class": TCP_CLASS,
        "description": descriptions.CLASS_DESCRIPTION,
        "properties": [p.wmi_name for p in PROPERTIES],
    }
    ipsec: dict[str, Any]
    try:
        doc = _ipsec(None, None)
    except UsageError as exc:
        ipsec = {"class": IPSEC_CLASS, "available": False, "reason": str(exc)}
    else:
        ipsec = {
            "class": IPSEC_CLASS,
            "description": doc.get("description"),
            "properties": [p.get("name") for p in doc.get("properties", [])],
        }
    return {"classes": [tcp, ipsec]}


def _ipsec(counter: str | None, value: str | None) -> dict[str, Any]:
    if value is not None:
        raise UsageError(f"{IPSEC_CLASS} counters have no enumerated values")
    try:
        import core.ipsec.counters as counters
    except ModuleNotFoundError as exc:
        # Only the module's absence means "not in this build"; a broken import inside it is a
        # bug and must surface as one.
        if exc.name not in {"core.ipsec", "core.ipsec.counters"}:
            raise
        raise UsageError(_IPSEC_MISSING) from None
    return counters.explain(counter)


def _class_of(name: str) -> str | None:
    """The class with a property or counter called ``name`` (any case), if it is not itself
    a class name."""
    lower = name.lower()
    if lower in (TCP_CLASS.lower(), IPSEC_CLASS.lower()):
        return None
    if lower in _BY_LOWER:
        return TCP_CLASS
    try:
        from core.ipsec.counters import property_name

        property_name(name)
    except (ModuleNotFoundError, UsageError):
        return None
    return IPSEC_CLASS


def _property(name: str) -> PropertySpec:
    spec = _BY_LOWER.get(name.lower())
    if spec is None:
        raise UsageError(
            f"unknown property {rquoted(name)} of {TCP_CLASS} (try: tcpscope explain {TCP_CLASS})"
        )
    return spec


def _table(spec: PropertySpec) -> EnumTable | None:
    return ENUMS[spec.enum] if spec.enum is not None else None


def _find(table: EnumTable, text: str) -> EnumValue:
    """The value named or numbered by ``text``, or a UsageError naming what exists."""
    prop = f"{TCP_CLASS}.{table.property}"
    if table.cim_type != "string" and _NUMBER_LIKE.fullmatch(text):
        if not _DIGITS.fullmatch(text):
            raise UsageError(f"{prop} value {rquoted(text)} is not a whole number (digits 0-9)")
        top = _TYPE_MAX[table.cim_type]
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(top)) or int(digits) > top:  # no int() of 5000 digits
            shown = digits if len(digits) <= 20 else digits[:20] + "…"
            raise UsageError(f"{shown} is outside {prop}'s type {table.cim_type} (0..{top})")
        number = int(digits)
        found = table.find(number)
        if found is None:
            raise UsageError(f"{prop} defines no value {number} (try: tcpscope explain {prop})")
        return found
    named = table.by_name(text)
    if named is not None:
        return named
    close = table.by_prefix(text) if text else ()
    hint = f"did you mean: {_names(close)}" if close else f"values: {_names(table.every)}"
    raise UsageError(f"unknown {prop} value {rquoted(text)} ({hint})")


def _names(values: Iterable[EnumValue]) -> str:
    return ", ".join(v.name for v in values)


def _property_head(spec: PropertySpec) -> dict[str, Any]:
    head: dict[str, Any] = {
        "name": spec.wmi_name,
        "type": spec.cim_type,
        "description": descriptions.DESCRIPTIONS[spec.wmi_name],
        "inherited_from": descriptions.INHERITED_FROM.get(spec.wmi_name),
        "access": descriptions.access(spec.wmi_name),
        "qualifiers": qualifiers_json(descriptions.QUALIFIERS.get(spec.wmi_name, {})),
    }
    if head["qualifiers"].get("key"):
        head["key"] = True
    default = descriptions.MOF_DEFAULTS.get(spec.wmi_name)
    if default is not None:
        head["mof_default"] = default
    return head


def qualifiers_json(qualifiers: Mapping[str, descriptions.Qualifier]) -> dict[str, Any]:
    """Qualifiers as JSON values (a list of strings for a tuple), in their order."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in qualifiers.items()}


def _rules(spec: PropertySpec) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for source in SOURCES:
        r = rule(source, spec.wmi_name)
        out[source] = {"provenance": r.provenance.value, "text": r.text}
    return out


def _value_json(v: EnumValue) -> dict[str, Any]:
    raw = v.value if isinstance(v.value, str) else int(v.value)
    return {"value": raw, "name": v.name, "meaning": v.meaning}


def _ranges_json(table: EnumTable) -> list[dict[str, Any]]:
    return [
        {"min": r.min, "max": r.max, "name": r.name, "meaning": r.meaning} for r in table.ranges
    ]


# --- command line -----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``tcpscope explain [CLASS[.PROPERTY] [VALUE]] [--json]``."""
    parser.add_argument(
        "explain_target",
        nargs="?",
        metavar="CLASS[.PROPERTY]",
        help=f"{TCP_CLASS}, {TCP_CLASS}.State, {IPSEC_CLASS}[.Counter], or a property or "
        "counter alone (State, InvalidPackets); any case",
    )
    parser.add_argument(
        "explain_value",
        nargs="?",
        metavar="VALUE",
        help="one value of an enum property: a number (5) or a name (Established)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Print the explanation; 0 on success. UsageError propagates (the CLI exits 2)."""
    doc = explain(args.explain_target, args.explain_value)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        from core.connections.explain_text import render_text, text_width

        print(render_text(doc, text_width()), end="")
    return 0
