"""Counter metadata against the seed MOF: names, order, descriptions, kinds, explain()."""

from __future__ import annotations

import re

import pytest

from core.errors import UsageError
from core.ipsec.counters import COUNTERS, PROVIDERS, explain, source_for, strongswan_has_alerts
from core.ipsec.model import COUNTER_FIELDS, COUNTER_NAMES, Grade, Kind, MMIPsecStats
from tests.core.seed import IPSEC_SEED_PATH, seed_text


def _seed_counters() -> list[tuple[str, str]]:
    text = seed_text(IPSEC_SEED_PATH)
    found = re.findall(r'Description\("(.*?)"\)\s*:\s*amended.*?uint64\s+(\w+);', text, re.S)
    return [(name, " ".join(desc.split())) for desc, name in found]


def test_names_order_and_descriptions_match_the_seed() -> None:
    seed = _seed_counters()
    assert [n for n, _ in seed] == list(COUNTER_NAMES)
    assert len(seed) == 21
    for name, desc in seed:
        assert COUNTERS[name].description == desc, name


def test_dataclass_fields_follow_the_wmi_table() -> None:
    fields = list(MMIPsecStats.__dataclass_fields__)
    assert fields[:2] == ["instance_name", "active"]
    assert fields[2:] == [a for _, a in COUNTER_FIELDS]


def test_kinds_five_gauges_sixteen_totals() -> None:
    gauges = {n for n, s in COUNTERS.items() if s.kind is Kind.GAUGE}
    assert gauges == {
        "ActiveAcquire",
        "ActiveReceive",
        "AcquireHeapSize",
        "ReceiveHeapSize",
        "ConnectionListSize",
    }
    assert sum(1 for s in COUNTERS.values() if s.kind is Kind.TOTAL) == 16


def test_strongswan_grades_depend_on_the_daemon_version() -> None:
    assert not strongswan_has_alerts("5.9.8")
    assert strongswan_has_alerts("6.0.3")
    assert not strongswan_has_alerts("6.0.2")
    assert source_for("AuthenticationFailures", "strongswan", "5.9.8").grade is Grade.NONE
    assert source_for("AuthenticationFailures", "strongswan", "6.0.3").grade is Grade.CLOSE
    assert source_for("InvalidPackets", "strongswan", "5.9.8").grade is Grade.EXACT
    assert source_for("InvalidCookiesReceived", "strongswan").grade is Grade.EXACT
    assert source_for("OakleyMainMode", "libreswan").grade is Grade.EXACT


def test_none_grades_carry_a_not_reported_reason() -> None:
    for name in COUNTER_NAMES:
        for provider in PROVIDERS:
            for version in ("5.9.8", "6.0.3"):
                src = source_for(name, provider, version)
                if src.grade is Grade.NONE:
                    assert src.reason.startswith("not reported: no honest source ("), name
                else:
                    assert src.expression and src.expression != "none"


def test_explain_counter_case_insensitive() -> None:
    doc = explain("invalidpackets")
    assert doc["name"] == "InvalidPackets"
    assert doc["type"] == "uint64"
    assert doc["kind"] == "total"
    sources = doc["sources"]
    assert isinstance(sources, dict) and set(sources) == set(PROVIDERS)
    grade = doc["grade"]
    assert isinstance(grade, dict)
    assert grade["strongswan"]["grade"] == "exact"
    assert grade["kernel"]["grade"] == "none"


def test_explain_class_lists_all_properties() -> None:
    doc = explain(None)
    props = doc["properties"]
    assert isinstance(props, list)
    assert [p["name"] for p in props] == ["InstanceName", "Active", *COUNTER_NAMES]


def test_explain_unknown_counter_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        explain("NoSuchCounter")
    assert "\n" not in str(info.value)
    assert "NoSuchCounter" in str(info.value)
