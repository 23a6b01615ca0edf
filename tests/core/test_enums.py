"""The enum tables against the seed: every value, name, meaning and reserved range.

Two independent checks of the data: the parsed seed (``tests/core/seed.py``) must equal each
table, and each value must appear literally in the seed text in one of its two spellings.
Then decoding: every value and range decodes to its name, everything else to "unknown value
N", and nothing raises.
"""

from __future__ import annotations

import itertools
import re
from enum import IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.connections import seed_tables as enums
from core.connections.model import AppliedSetting, OffloadState, TcpState
from core.connections.property_rules import PROPERTIES
from core.connections.seed_tables import ENUMS, EnumRange, EnumTable, EnumValue
from tests.core.seed import SeedProperty, require_seed, seed_text
from tests.core.tables import table_property

TABLES = sorted(ENUMS)
INT_TABLES = [name for name in TABLES if ENUMS[name].cim_type != "string"]
INT_ENUMS: list[tuple[str, type[IntEnum]]] = [
    ("State", TcpState),
    ("OffloadState", OffloadState),
    ("AppliedSetting", AppliedSetting),
]


def _seed(name: str) -> SeedProperty:
    """What the repository's tables say of ``name`` (themselves checked against the seed)."""
    return table_property(name)


def _raw(value: int | str) -> int | str:
    """An IntEnum member as its plain int, so comparisons show the numbers."""
    return value if isinstance(value, str) else int(value)


def _seed_expected(prop: SeedProperty, value: int) -> tuple[str, str | None]:
    """The (name, meaning) the seed gives ``value``, computed from the seed only."""
    for v, name, meaning in prop.values:
        if v == value:
            return name, meaning
    for lo, hi, name, meaning in prop.ranges:
        if lo <= value <= hi:
            return name, meaning
    return f"unknown value {value}", None


# --- the data against the seed ----------------------------------------------------------


def test_every_enum_property_of_the_seed_has_a_table() -> None:
    seed = require_seed()
    with_enum = {n for n, p in seed.properties.items() if p.values or p.ranges}
    assert set(ENUMS) == with_enum
    assert len(ENUMS) == 17
    assert {p.enum for p in PROPERTIES if p.enum is not None} == with_enum


def test_every_table_equals_the_parsed_seed() -> None:
    seed = require_seed()
    for name in TABLES:
        prop = seed.properties[name]
        table = ENUMS[name]
        assert table.property == name
        assert table.cim_type == prop.mof_type, name
        assert [(_raw(v.value), v.name, v.meaning) for v in table.values] == prop.values, name
        assert [(r.min, r.max, r.name, r.meaning) for r in table.ranges] == prop.ranges, name


def test_every_value_appears_literally_in_the_seed_text() -> None:
    """Independent of the parser: the seed spells each value either as a "Value Meaning"
    table (name, number, meaning on consecutive lines) or as ``Name (N)`` / ``("Name")``."""
    text = seed_text()
    for name in TABLES:
        _check_literally(text, name)


def _check_literally(text: str, name: str) -> None:
    section = text[text.index(f"\n\n{name}\n\nData type: ") :]
    end = section.find("\n\nData type: ", section.index("Data type: "))
    section = section[: end if end > 0 else section.index("\n\nRequirements")]
    for v in ENUMS[name].values:
        if isinstance(v.value, str):
            pattern = re.escape(f'\n\n("{v.value}")\n')
        elif v.meaning is None:
            simple = re.escape(f"\n\n{v.name} ({int(v.value)})\n")
            # In a table, no meaning means the next line is the next entry's name (a line
            # followed by a number) or the end of the table.
            table = re.escape(f"\n{v.name}\n{int(v.value)}\n") + r"(\n|[^\n]+\n\d+[ \n])"
            pattern = f"{simple}|{table}"
        else:
            pattern = re.escape(f"\n{v.name}\n{int(v.value)}\n{v.meaning}\n")
        assert re.search(pattern, section), (name, v)


def test_state_table_literally() -> None:
    """The State table, the one users see most, spelled out against the seed's text."""
    prop = require_seed().properties["State"]
    table = ENUMS["State"]
    assert [v.name for v in table.values] == [
        "Closed", "Listen", "SynSent", "SynReceived", "Established", "FinWait1",
        "FinWait2", "CloseWait", "Closing", "LastAck", "TimeWait", "DeleteTCB",
    ]  # fmt: skip
    assert [int(v.value) for v in table.values] == list(range(1, 13))
    assert [(int(v.value), v.name, v.meaning) for v in table.values] == prop.values
    assert table.ranges == ()
    assert all(v.meaning for v in table.values)


@pytest.mark.parametrize(("name", "int_enum"), INT_ENUMS)
def test_int_enum_members_and_table_values_are_the_same(name: str, int_enum: type[IntEnum]) -> None:
    values = [v.value for v in (*ENUMS[name].values, *ENUMS[name].extensions)]
    assert set(values) == set(int_enum)
    assert len(values) == len(int_enum)
    for value in values:
        assert isinstance(value, int_enum), f"{name} value {value!r} is not a {int_enum.__name__}"


@pytest.mark.parametrize("name", TABLES)
def test_ranges_are_disjoint_from_values_and_fit_the_type(name: str) -> None:
    table = ENUMS[name]
    top = {"uint8": 0xFF, "uint16": 0xFFFF, "uint16[]": 0xFFFF, "string": 0}[table.cim_type]
    spans = sorted((r.min, r.max) for r in table.ranges)
    for lo, hi in spans:
        assert 0 <= lo <= hi <= top
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        assert hi < lo
    for v in table.values:
        assert not any(r.min <= v.value <= r.max for r in table.ranges if isinstance(v.value, int))


def test_open_ranges_end_at_the_uint16_maximum() -> None:
    """The seed's ``N = value`` means N up to the largest uint16."""
    assert ENUMS["HealthState"].ranges == (
        EnumRange(
            31,
            65535,
            "DMTF Reserved",
            "DMTF has reserved the unused portion of the continuum for additional HealthStates "
            "values in the future.",
        ),
    )
    for name in ("CommunicationStatus", "DetailedStatus", "OperatingStatus", "PrimaryStatus"):
        assert ENUMS[name].ranges[-1].min == 32768
        assert ENUMS[name].ranges[-1].max == 65535
    assert ENUMS["AvailableRequestedStates"].ranges == (
        EnumRange(12, 65535, "DMTF Reserved", None),
    )


# --- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
def test_every_value_decodes_to_itself(name: str) -> None:
    table = ENUMS[name]
    for v in table.values:
        raw = _raw(v.value)
        assert table.decode(raw) is v
        assert enums.decode(name, raw) is v
        assert table.find(raw) is v


@pytest.mark.parametrize("name", INT_TABLES)
def test_every_range_decodes_to_its_name(name: str) -> None:
    for r in ENUMS[name].ranges:
        for n in {r.min, (r.min + r.max) // 2, r.max}:
            assert enums.decode(name, n) == EnumValue(n, r.name, r.meaning)


@pytest.mark.parametrize("name", INT_TABLES)
@given(n=st.integers(min_value=-5, max_value=70_000))
def test_any_number_decodes_as_the_seed_says_and_never_raises(name: str, n: int) -> None:
    prop = _seed(name)
    expected_name, expected_meaning = _seed_expected(prop, n)
    beyond = {v.value: v for v in ENUMS[name].extensions}
    if n in beyond:  # documented apart (test_bound_is_decoded_but_kept_apart_...)
        expected_name, expected_meaning = beyond[n].name, beyond[n].meaning
    got = ENUMS[name].decode(n)
    assert (got.value, got.name, got.meaning) == (n, expected_name, expected_meaning)
    assert (ENUMS[name].find(n) is None) == expected_name.startswith("unknown value")


@pytest.mark.parametrize("n", [1, 4, 11, 29, 31, 65535])
def test_health_state_gaps_are_unknown_and_the_reserved_tail_is_named(n: int) -> None:
    got = enums.decode("HealthState", n)
    if n >= 31:
        assert got.name == "DMTF Reserved"
    else:
        assert got == EnumValue(n, f"unknown value {n}", None)


@given(text=st.text(max_size=20))
def test_any_status_string_decodes_and_never_raises(text: str) -> None:
    got = enums.decode("Status", text)
    defined = {v.value for v in ENUMS["Status"].values}
    if text in defined:
        assert (got.value, got.name) == (text, text)
    else:
        assert got == EnumValue(text, f"unknown value {text}", None)


def test_numbers_and_strings_do_not_cross_decode() -> None:
    assert enums.decode("Status", 2).name == "unknown value 2"
    assert enums.decode("State", "5").name == "unknown value 5"


def test_array_properties_decode_each_element() -> None:
    got = enums.decode_all("OperationalStatus", [2, 6, 19, 40000, 18])
    assert [v.name for v in got] == [
        "OK",
        "Error",
        "DMTF Reserved",
        "Vendor Reserved",
        "Power Mode",
    ]
    assert [v.value for v in got] == [2, 6, 19, 40000, 18]
    assert ENUMS["AvailableRequestedStates"].decode_all(()) == ()


def test_a_property_without_a_table_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        enums.decode("LocalPort", 80)


# --- lookups by name ---------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
def test_every_name_is_found_in_any_case_and_spacing(name: str) -> None:
    table = ENUMS[name]
    for v in table.values:
        squeezed = v.name.replace(" ", "").replace("-", "")
        for spelling in (v.name, v.name.lower(), v.name.upper(), squeezed, f" {v.name} "):
            assert table.by_name(spelling) is v, spelling
        assert v in table.by_prefix(v.name)
        assert v in table.by_prefix(v.name[:1].lower())


@pytest.mark.parametrize(
    ("prop", "text", "value"),
    [
        ("State", "synsent", 3),
        ("State", "SynSent", 3),
        ("State", "syn_sent", 3),
        ("State", "SYN SENT", 3),
        ("State", "deletetcb", 12),
        ("Directionality", "Bi-Directional", 2),
        ("Directionality", "bidirectional", 2),
        ("HealthState", "non-recoverable error", 30),
        ("AggregationBehavior", "no lower level composition", 2),
        ("Status", "pred fail", "Pred Fail"),
        ("Status", "nonrecover", "NonRecover"),
    ],
)
def test_by_name_examples(prop: str, text: str, value: int | str) -> None:
    found = ENUMS[prop].by_name(text)
    assert found is not None
    assert found.value == value


@pytest.mark.parametrize("text", ["", "Establish", "5", "Established!", "Fin Wait"])
def test_by_name_needs_the_whole_name(text: str) -> None:
    assert ENUMS["State"].by_name(text) is None


def test_by_prefix_serves_the_tui_filter() -> None:
    state = ENUMS["State"]
    assert [v.name for v in state.by_prefix("est")] == ["Established"]
    assert [v.name for v in state.by_prefix("FIN")] == ["FinWait1", "FinWait2"]
    assert [v.name for v in state.by_prefix("close")] == ["Closed", "CloseWait"]
    assert [v.name for v in state.by_prefix("syn")] == ["SynSent", "SynReceived"]
    assert state.by_prefix("") == (*state.values, *state.extensions)
    assert state.by_prefix("zzz") == ()


def test_a_table_rejects_duplicate_names_and_values() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        EnumTable("X", "uint8", (EnumValue(1, "A", None), EnumValue(1, "B", None)), ())
    with pytest.raises(ValueError, match="duplicate"):
        EnumTable("X", "uint8", (EnumValue(1, "Bi-Dir", None), EnumValue(2, "bidir", None)), ())


def test_bound_is_decoded_but_kept_apart_from_the_seeds_values() -> None:
    """Bound (100) is in Get-NetTCPConnection's later documentation, not in the seed: it
    decodes and filters by name, and the seed's own table stays exactly the seed's."""
    table = ENUMS["State"]
    assert TcpState.BOUND not in [v.value for v in table.values]
    assert table.decode(100).name == "Bound" and table.by_name("bound") is not None
    assert "PR #500" in (table.decode(100).meaning or "")
