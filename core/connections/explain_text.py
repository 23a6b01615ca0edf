"""The plain text of ``tcpscope explain``: any document :func:`core.connections.explain.explain`
builds, wrapped to the terminal.

Why apart from the documents: the documents are the data (``--json`` prints them as they
are); how they read on a terminal is layout alone, and changes without them.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Final

from core import terminal

WIDTH: Final = 100
"""Text output wraps to this many columns at most."""
MIN_WIDTH: Final = 40
"""Narrower terminals get 40-column lines (the terminal wraps them)."""


def text_width() -> int:
    """The terminal's width between :data:`MIN_WIDTH` and :data:`WIDTH` (an 80-column SSH
    session gets lines that fit it); :data:`WIDTH` when the output is not a terminal."""
    return max(MIN_WIDTH, min(WIDTH, terminal.columns(sys.stdout) or WIDTH))


def render_text(doc: dict[str, Any], width: int = WIDTH) -> str:
    """Readable plain text for any document :func:`core.connections.explain.explain`
    returns, wrapped to ``width`` columns.

    Shapes: ``{"classes": [...]}`` (listing), ``{"class", "properties": [...]}`` (a class),
    ``{"property", "value", "name", ...}`` (one value), anything else one property (or an
    IPsec counter, whose extra keys are shown generically).
    """
    if "classes" in doc:
        lines = _render_listing(doc, width)
    elif "properties" in doc:
        lines = _render_class(doc, width)
    elif "property" in doc:
        lines = _render_value(doc, width)
    else:
        lines = _render_property(doc, width)
    return "\n".join(lines).rstrip() + "\n"


def _render_listing(doc: dict[str, Any], width: int) -> list[str]:
    lines: list[str] = []
    for entry in doc["classes"]:
        lines.append(str(entry["class"]))
        lines += _wrap(width, str(entry.get("description") or entry.get("reason", "")), "  ")
        if entry.get("properties"):
            lines += _wrap(width, "properties: " + ", ".join(map(str, entry["properties"])), "  ")
        lines.append("")
    lines += _wrap(
        width, "Try: tcpscope explain CLASS[.PROPERTY] [VALUE] [--json], or a property alone:",
        "", 5,
    )  # fmt: skip
    lines.append("     tcpscope explain State 5")
    return lines


def _render_class(doc: dict[str, Any], width: int) -> list[str]:
    title = str(doc["class"])
    if doc.get("superclass"):
        title += f" : {doc['superclass']}"
    lines = [title, *_wrap(width, str(doc.get("description", "")))]
    if doc.get("qualifiers"):
        lines += _wrap(width, f"qualifiers: {qualifier_text(doc['qualifiers'])}", "", 2)
    lines += [*_render_extras(width, doc, _CLASS_KEYS, ""), ""]
    for prop in doc["properties"]:
        head = f"{prop['name']}  {prop.get('type', '')}"
        if prop.get("enum"):
            head += "  enum"
        if prop.get("access"):
            head += f"  {prop['access']}"
        if prop.get("qualifiers"):
            head += f"  [{qualifier_text(prop['qualifiers'])}]"
        if prop.get("inherited_from"):
            head += f"  (inherited from {prop['inherited_from']})"
        if "mof_default" in prop:
            head += f"  MOF default {prop['mof_default']}"
        lines += _wrap(width, head.rstrip(), "", 2)
        paragraphs = str(prop.get("description") or "").split("\n\n")
        more = " (more: tcpscope explain " + f"{doc['class']}.{prop['name']})"
        if paragraphs[0]:
            lines += _wrap(width, paragraphs[0] + (more if len(paragraphs) > 1 else ""), "    ")
        lines += _render_extras(width, prop, _CLASS_PROPERTY_KEYS, "    ")
        lines.append("")
    return lines


def _render_property(doc: dict[str, Any], width: int) -> list[str]:
    cls = doc.get("class")
    lines = [f"{cls}.{doc['name']}  {doc.get('type', '')}".rstrip() if cls else str(doc["name"])]
    if doc.get("inherited_from"):
        lines.append(f"  inherited from {doc['inherited_from']}")
    if "mof_default" in doc:
        lines.append(f"  MOF default: {doc['mof_default']}")
    if doc.get("access"):
        lines.append(f"  access: {doc['access']}")
    if doc.get("qualifiers"):
        lines += _wrap(width, f"qualifiers: {qualifier_text(doc['qualifiers'])}", "  ", 2)
    lines.append("")
    lines += _paragraphs(width, str(doc.get("description") or "(the seed gives no description)"))
    if doc.get("values"):
        lines += ["", "Values:", *_value_rows(width, doc["values"])]
    if doc.get("values_beyond_the_seed"):
        lines += ["", "Values beyond the seed:", *_value_rows(width, doc["values_beyond_the_seed"])]
    if doc.get("ranges"):
        lines += ["", "Reserved ranges:", *_range_rows(width, doc["ranges"])]
    if "values" in doc and not doc.get("ranges"):
        lines += ["", "Reserved ranges: none (other values are unknown)"]
    extras = _render_extras(width, doc, _PROPERTY_KEYS, "  ")
    if extras:
        lines += ["", *extras]
    return lines


def _render_value(doc: dict[str, Any], width: int) -> list[str]:
    head = f"{doc['class']}.{doc['property']} = {_show(doc['value'])}: {doc['name']}"
    lines = _wrap(width, head)
    lines += _wrap(width, str(doc.get("meaning") or "(the seed gives no meaning text)"), "  ")
    if doc.get("in_practice"):
        lines += ["", *_wrap(width, f"In practice (tcpscope, Linux): {doc['in_practice']}", "  ")]
    if doc.get("ranges"):
        lines += ["", f"Reserved ranges of {doc['property']}:", *_range_rows(width, doc["ranges"])]
    return lines


_CLASS_KEYS: Final = frozenset({"class", "superclass", "description", "qualifiers", "properties"})
_CLASS_PROPERTY_KEYS: Final = frozenset(
    {
        "name",
        "type",
        "description",
        "enum",
        "inherited_from",
        "mof_default",
        "access",
        "qualifiers",
        "key",
    }
)
_PROPERTY_KEYS: Final = frozenset(
    {
        "class",
        "name",
        "type",
        "description",
        "inherited_from",
        "mof_default",
        "access",
        "qualifiers",
        "key",
        "values",
        "values_beyond_the_seed",
        "ranges",
    }
)


_LABELS: Final[dict[str, str]] = {"rules": "how each source fills it"}


def qualifier_text(qualifiers: Mapping[str, Any]) -> str:
    """Qualifiers as the seed writes them: ``ArrayType ("Indexed"), MaxLen (10), key``."""
    parts: list[str] = []
    for name, value in qualifiers.items():
        if value is True:
            parts.append(name)
        elif isinstance(value, int):
            parts.append(f"{name} ({value})")
        else:
            items = [value] if isinstance(value, str) else value
            parts.append(f"{name} ({', '.join(json.dumps(str(v)) for v in items)})")
    return ", ".join(parts)


def _render_extras(
    width: int, doc: dict[str, Any], shown: frozenset[str], indent: str
) -> list[str]:
    """Every key not rendered specially: rules, and the IPsec counters' own keys."""
    lines: list[str] = []
    for key, val in doc.items():
        if key in shown or val is None or val == "":
            continue
        if isinstance(val, dict):
            lines.append(f"{indent}{_LABELS.get(key, key)}:")
            key_width = max(len(str(k)) for k in val) if val else 0
            for sub, item in val.items():
                text = " — ".join(map(str, item.values())) if isinstance(item, dict) else item
                lines += _wrap(width, f"{sub!s:<{key_width}}  {text}", indent + "  ", key_width + 2)
        else:
            lines += _wrap(width, f"{key}: {val}", indent)
    return lines


def _value_rows(width: int, values: Sequence[dict[str, Any]]) -> list[str]:
    cells = [(_show(v["value"]), str(v["name"]), v.get("meaning")) for v in values]
    vw = max(len(c[0]) for c in cells)
    nw = max(len(c[1]) for c in cells)
    lines: list[str] = []
    for raw, name, meaning in cells:
        row = f"{raw:>{vw}}  {name:<{nw}}  {meaning or ''}".rstrip()
        lines += _wrap(width, row, "  ", vw + nw + 4)
    return lines


def _range_rows(width: int, ranges: Sequence[dict[str, Any]]) -> list[str]:
    cells = [(f"{r['min']}..{r['max']}", str(r["name"]), r.get("meaning")) for r in ranges]
    rw = max(len(c[0]) for c in cells)
    nw = max(len(c[1]) for c in cells)
    lines: list[str] = []
    for span, name, meaning in cells:
        lines += _wrap(
            width, f"{span:>{rw}}  {name:<{nw}}  {meaning or ''}".rstrip(), "  ", rw + nw + 4
        )
    return lines


def _show(value: object) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def _paragraphs(width: int, text: str, indent: str = "") -> list[str]:
    lines: list[str] = []
    for n, para in enumerate(text.split("\n\n")):
        if n:
            lines.append("")
        for line in para.split("\n"):
            lines += _wrap(width, line, indent)
    return lines


def _wrap(width: int, text: str, indent: str = "", hang: int = 0) -> list[str]:
    """``text`` wrapped to ``width``; continuation lines indented ``hang`` more columns."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent + " " * hang,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [indent.rstrip()]
