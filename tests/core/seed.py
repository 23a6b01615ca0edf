"""Parse the MSFT_NetTCPConnection seed document at test time.

The enum tables and descriptions in ``core`` are data written once by hand; the tests compare
them against the seed text itself so a typo or a missing value cannot hide. This parser reads
the seed independently of ``core`` (it imports nothing from it), so a test that passes means
the hand-written tables say what the seed says.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

SEEDS_DIR = Path(__file__).resolve().parents[3] / "shared" / "seeds"
"""``<repo>/../shared/seeds``: CI clones the repo with ``shared/`` beside it."""
SEED_PATH = SEEDS_DIR / "000_d4340190810c77ae.txt"
"""MSFT_NetTCPConnection's class document."""
IPSEC_SEED_PATH = SEEDS_DIR / "004_f3a075989f990e0f.txt"
"""MSiSCSI_MMIPSECStats's class document."""
REQUIRE_ENV = "TCPSCOPE_REQUIRE_SEEDS"
"""Set (as .ci/run does when the seeds are beside the repo) to fail instead of skipping."""

_TYPE_MAX = {"uint8": 0xFF, "uint16": 0xFFFF, "uint32": 0xFFFF_FFFF}

_MOF_LINE = re.compile(r"^\s+(\w+)\s+(\w+)(\[\])?(?:\s*=\s*(\d+))?;$")
_TABLE_VALUE = re.compile(r"^(\d+)(?: (\d+)| = value)?$")
_SIMPLE_VALUE = re.compile(r"^(.+) \((\d+)\)$")
_SIMPLE_RANGE = re.compile(r"^(.+) \((\d+) (\d+)\)$")
_SIMPLE_OPEN = re.compile(r"^(.+) \((\d+) = value\s*\)$")
_STRING_VALUE = re.compile(r'^\("(.+)"\)$')
_INHERITED = re.compile(r"^This property is inherited from (\w+)\.$")
_META = ("Data type: ", "Access type: ", "Qualifiers: ")


@dataclass
class SeedProperty:
    """Everything the seed says about one property."""

    name: str
    mof_type: str
    """Type as the MOF block spells it: ``uint16``, ``uint16[]``, ``string``..."""
    default: int | None = None
    data_type: str = ""
    """The section's "Data type:" text, e.g. ``uint16 array``."""
    access: str = ""
    """The section's "Access type:" text: ``Read-only`` or ``Read/write``."""
    qualifiers: str = ""
    """The section's "Qualifiers:" text as written (``MaxLen (64)``), empty without one."""
    description: list[str] = field(default_factory=list)
    inherited_from: str | None = None
    values: list[tuple[int | str, str, str | None]] = field(default_factory=list)
    """(value, name, meaning) in the seed's order; string enums use the string as name."""
    ranges: list[tuple[int, int, str, str | None]] = field(default_factory=list)
    """(min, max, name, meaning); ``N = value`` ranges end at the type's maximum."""

    @property
    def type_max(self) -> int:
        """Largest value of the property's integer type."""
        return _TYPE_MAX[self.data_type.split()[0]]


@dataclass
class Seed:
    """The parsed seed: class description and properties in MOF order."""

    class_name: str
    class_description: str
    superclass: str
    properties: dict[str, SeedProperty]


def seed_text(path: Path = SEED_PATH) -> str:
    """A seed document's text, or skip (fail under ``TCPSCOPE_REQUIRE_SEEDS``) without it.

    The tables in ``core`` are data kept in the repository; these documents are only needed
    to check them, so a bare clone runs everything else and says where the seeds go.
    """
    if not path.is_file():
        reason = (
            f"seed document {path.name} not found: put the shared/seeds folder beside the "
            f"repository ({SEEDS_DIR}) to check the tables against it"
        )
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set)")
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


def require_seed() -> Seed:
    """The parsed MSFT_NetTCPConnection seed (skips like :func:`seed_text` without it)."""
    return parse(seed_text())


@cache
def parse(text: str) -> Seed:
    """Parse the seed text."""
    paragraphs = text.split("\n\n")
    class_name = paragraphs[0].removesuffix(" class")
    props, superclass = _parse_mof(text)
    start = paragraphs.index(f"The {class_name} class has these properties.") + 1
    end = paragraphs.index("Requirements")
    current: SeedProperty | None = None
    for i in range(start, end):
        para = paragraphs[i]
        if para in props and paragraphs[i + 1].startswith("Data type: "):
            current = props[para]
        elif current is None:
            raise ValueError(f"text before the first property: {para!r}")
        else:
            _parse_paragraph(current, para)
    return Seed(class_name, paragraphs[1], superclass, props)


def _parse_mof(text: str) -> tuple[dict[str, SeedProperty], str]:
    block = text[text.index("\nclass ") :]
    header, body = block.split("{", 1)
    superclass = header.split(":")[1].strip()
    props: dict[str, SeedProperty] = {}
    for line in body.split("};", 1)[0].splitlines():
        m = _MOF_LINE.match(line)
        if m:
            mof_type = m[1] + ("[]" if m[3] else "")
            props[m[2]] = SeedProperty(m[2], mof_type, int(m[4]) if m[4] else None)
    return props, superclass


def _parse_paragraph(prop: SeedProperty, para: str) -> None:
    if para.startswith(_META):
        if para.startswith("Data type: "):
            prop.data_type = para.removeprefix("Data type: ")
        elif para.startswith("Access type: "):
            prop.access = para.removeprefix("Access type: ")
        else:
            prop.qualifiers = para.removeprefix("Qualifiers: ")
        return
    if para == "The possible values are.":
        return
    if m := _INHERITED.match(para):
        prop.inherited_from = m[1]
    elif para.startswith(("Value Meaning\n", "Values Meaning\n")):
        _parse_table(prop, para.splitlines()[1:])
    elif m := _SIMPLE_OPEN.match(para):
        prop.ranges.append((int(m[2]), prop.type_max, m[1], None))
    elif m := _SIMPLE_RANGE.match(para):
        prop.ranges.append((int(m[2]), int(m[3]), m[1], None))
    elif m := _SIMPLE_VALUE.match(para):
        prop.values.append((int(m[2]), m[1], None))
    elif m := _STRING_VALUE.match(para):
        prop.values.append((m[1], m[1], None))
    elif prop.values or prop.ranges:
        raise ValueError(f"{prop.name}: unexpected paragraph after the values: {para!r}")
    else:
        prop.description.append(para)


def _parse_table(prop: SeedProperty, lines: list[str]) -> None:
    """A "Value Meaning" table: name line, value line, optional meaning lines, repeated."""
    at = [i for i, line in enumerate(lines) if _TABLE_VALUE.match(line)]
    for n, i in enumerate(at):
        name = lines[i - 1]
        stop = at[n + 1] - 1 if n + 1 < len(at) else len(lines)
        meaning = "\n".join(lines[i + 1 : stop]) or None
        m = _TABLE_VALUE.match(lines[i])
        assert m is not None
        if m[2] is not None:
            prop.ranges.append((int(m[1]), int(m[2]), name, meaning))
        elif lines[i].endswith("= value"):
            prop.ranges.append((int(m[1]), prop.type_max, name, meaning))
        else:
            prop.values.append((int(m[1]), name, meaning))
