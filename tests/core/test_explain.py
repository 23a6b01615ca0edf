"""``tcpscope explain`` for MSFT_NetTCPConnection: the documents, the text, the arguments.

The expected texts come from the seed (parsed at test time), so these tests show that what a
user reads is what the seed says, value by value.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.connections import descriptions, explain, explain_text
from core.connections.property_rules import PROPERTIES, Provenance, rule
from core.connections.seed_tables import ENUMS
from core.errors import UsageError
from tests.core.seed import Seed, SeedProperty, require_seed
from tests.core.tables import table_property
from tests.terminal import in_terminal

TCP = "MSFT_NetTCPConnection"
IPSEC = "MSiSCSI_MMIPSECStats"
ENUM_PROPS = list(ENUMS)
REPO = Path(__file__).resolve().parents[2]


def _seed(name: str) -> SeedProperty:
    """What the repository's tables say of ``name`` (themselves checked against the seed)."""
    return table_property(name)


def _roundtrip(doc: dict[str, Any]) -> dict[str, Any]:
    """The doc through real JSON: it must serialise and come back equal."""
    back: dict[str, Any] = json.loads(json.dumps(doc))
    assert back == doc
    return back


def _check_text(doc: dict[str, Any]) -> str:
    text = explain_text.render_text(doc)
    assert text.endswith("\n")
    for line in text.splitlines():
        assert len(line) <= explain_text.WIDTH, line
    return text


# --- descriptions against the seed --------------------------------------------------------


def test_descriptions_are_the_seeds_text() -> None:
    seed = require_seed()
    assert list(descriptions.DESCRIPTIONS) == list(seed.properties)
    assert len(descriptions.DESCRIPTIONS) == 32
    for name, prop in seed.properties.items():
        assert descriptions.DESCRIPTIONS[name] == "\n\n".join(prop.description), name
        assert "inherited from" not in descriptions.DESCRIPTIONS[name]
    inherited = {n: p.inherited_from for n, p in seed.properties.items() if p.inherited_from}
    assert inherited == descriptions.INHERITED_FROM
    defaults = {n: p.default for n, p in seed.properties.items() if p.default is not None}
    assert (
        descriptions.MOF_DEFAULTS
        == defaults
        == {
            "EnabledDefault": 2,
            "TransitioningToState": 12,
            "RequestedState": 5,
        }
    )
    assert descriptions.CLASS_NAME == seed.class_name == TCP
    assert seed.class_description == descriptions.CLASS_DESCRIPTION
    assert seed.superclass == descriptions.SUPERCLASS


def test_the_property_list_is_the_seeds_mof_block() -> None:
    assert [p.wmi_name for p in PROPERTIES] == list(require_seed().properties)


# --- the documents ----------------------------------------------------------------------


def test_listing_names_both_classes_and_their_properties() -> None:
    doc = _roundtrip(explain.explain(None, None))
    tcp, ipsec = doc["classes"]
    assert tcp["class"] == TCP
    assert tcp["properties"] == list(descriptions.DESCRIPTIONS)
    assert ipsec["class"] == IPSEC
    assert "InstanceName" in ipsec["properties"]
    assert "ActiveAcquire" in ipsec["properties"]
    text = _check_text(doc)
    assert TCP in text
    assert IPSEC in text
    assert "OffloadState" in text


def test_class_document_covers_every_property_with_its_rules() -> None:
    seed = require_seed()
    for target in (TCP, TCP.lower(), TCP.upper()):
        _check_class_document(_roundtrip(explain.explain(target, None)), seed)


def _check_class_document(doc: dict[str, Any], seed: Seed) -> None:
    assert doc["class"] == TCP
    assert doc["superclass"] == seed.superclass
    assert doc["description"] == seed.class_description
    assert [p["name"] for p in doc["properties"]] == list(seed.properties)
    for entry in doc["properties"]:
        prop = seed.properties[entry["name"]]
        assert entry["type"] == prop.mof_type
        assert entry["description"] == "\n\n".join(prop.description)
        assert entry["inherited_from"] == prop.inherited_from
        assert entry["enum"] == bool(prop.values or prop.ranges)
        assert set(entry["rules"]) == {"netlink", "psutil"}
        for source, r in entry["rules"].items():
            expected = rule(source, entry["name"])
            assert r == {"provenance": expected.provenance.value, "text": expected.text}
            assert Provenance(r["provenance"]) in Provenance
    text = _check_text(doc)
    for name in seed.properties:
        assert f"\n{name}  " in text


@pytest.mark.parametrize("name", ENUM_PROPS)
def test_property_document_lists_every_value_with_name_and_meaning(name: str) -> None:
    prop = _seed(name)
    doc = _roundtrip(explain.explain(f"{TCP}.{name}", None))
    assert doc["name"] == name
    assert doc["type"] == prop.mof_type
    assert doc["description"] == "\n\n".join(prop.description)
    assert [(v["value"], v["name"], v["meaning"]) for v in doc["values"]] == prop.values
    assert [(r["min"], r["max"], r["name"], r["meaning"]) for r in doc["ranges"]] == prop.ranges
    assert set(doc["rules"]) == {"netlink", "psutil"}


@pytest.mark.parametrize("name", ENUM_PROPS)
def test_property_text_shows_each_value_name_and_meaning_on_one_row(name: str) -> None:
    prop = _seed(name)
    text = _check_text(explain.explain(f"{TCP}.{name}", None))
    lines = text.splitlines()
    for value, value_name, meaning in prop.values:
        shown = json.dumps(value) if isinstance(value, str) else str(value)
        rows = [ln for ln in lines if ln.strip().startswith(f"{shown}  {value_name}")]
        assert len(rows) == 1, (value, value_name)
        if meaning:
            assert meaning.split()[0] in rows[0]
            # The whole meaning is there, wrapped: join the text's words and look for it.
            assert " ".join(meaning.split()) in " ".join(text.split())
    for lo, hi, range_name, _ in prop.ranges:
        assert any(f"{lo}..{hi}  {range_name}" in ln for ln in lines), (lo, hi)


def test_state_text_reads_like_a_table() -> None:
    text = explain_text.render_text(explain.explain(f"{TCP}.State", None))
    assert "   5  Established  Represents an open connection" in text
    assert "  12  DeleteTCB    Represents the deletion" in text
    assert "Reserved ranges: none" in text


@pytest.mark.parametrize("name", ["LocalPort", "InstanceID", "OwningProcess", "CreationTime"])
def test_a_property_without_enum_has_no_values(name: str) -> None:
    doc = _roundtrip(explain.explain(f"{TCP}.{name.lower()}", None))
    assert doc["name"] == name
    assert "values" not in doc
    assert "ranges" not in doc
    assert doc["description"] == descriptions.DESCRIPTIONS[name]
    text = _check_text(doc)
    assert "Values:" not in text


def test_mof_default_and_inheritance_are_shown() -> None:
    doc = explain.explain(f"{TCP}.RequestedState", None)
    assert doc["mof_default"] == 5
    assert doc["inherited_from"] == "CIM_NetworkPipe"
    text = explain_text.render_text(doc)
    assert "MOF default: 5" in text
    assert "inherited from CIM_NetworkPipe" in text


# --- one value ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENUM_PROPS)
def test_every_value_decodes_by_number_and_by_name(name: str) -> None:
    prop = _seed(name)
    for value, value_name, meaning in prop.values:
        expected = {"value": value, "name": value_name, "meaning": meaning}
        by_name = _roundtrip(explain.explain(f"{TCP}.{name}", value_name.lower()))
        assert {k: by_name[k] for k in expected} == expected
        assert by_name["property"] == name
        assert [r["name"] for r in by_name["ranges"]] == [r[2] for r in prop.ranges]
        if isinstance(value, int):
            by_number = _roundtrip(explain.explain(f"{TCP}.{name}", str(value)))
            assert by_number == by_name
        text = _check_text(by_name)
        assert f"{TCP}.{name} = " in text
        assert value_name in text


@pytest.mark.parametrize("name", [n for n in ENUM_PROPS if ENUMS[n].ranges])
def test_numbers_in_a_reserved_range_decode_to_the_range(name: str) -> None:
    for lo, hi, range_name, meaning in _seed(name).ranges:
        for n in (lo, hi):
            doc = _roundtrip(explain.explain(f"{TCP}.{name}", str(n)))
            assert (doc["value"], doc["name"], doc["meaning"]) == (n, range_name, meaning)


def test_value_examples() -> None:
    doc = explain.explain("msft_nettcpconnection.state", "5")
    assert (doc["value"], doc["name"]) == (5, "Established")
    assert explain.explain(f"{TCP}.State", "Established") == doc
    assert explain.explain(f"{TCP}.State", "syn sent")["value"] == 3
    assert explain.explain(f"{TCP}.Directionality", "bidirectional")["name"] == "Bi-Directional"
    assert explain.explain(f"{TCP}.Status", "pred fail")["value"] == "Pred Fail"
    assert explain.explain(f"{TCP}.OperationalStatus", "40000")["name"] == "Vendor Reserved"


@pytest.mark.parametrize(
    ("target", "value", "words"),
    [
        ("Foo", None, "unknown class or property 'Foo'"),
        ("Foo.State", None, "unknown class 'Foo'"),
        (f"{TCP}.Foo", None, "unknown property 'Foo'"),
        (f"{TCP}.", None, "unknown property ''"),
        (f"{TCP}.State.Extra", None, "unknown property 'State.Extra'"),
        (f"{TCP}.State", "13", "defines no value 13"),
        (f"{TCP}.State", "0", "defines no value 0"),
        (f"{TCP}.State", "256", "outside"),
        (f"{TCP}.State", "-1", "not a whole number (digits 0-9)"),
        (f"{TCP}.State", "+5", "not a whole number (digits 0-9)"),
        (f"{TCP}.State", "\u0665", "not a whole number (digits 0-9)"),
        (f"{TCP}.State", "\uff15", "not a whole number (digits 0-9)"),
        ("State", "\u0665", "not a whole number (digits 0-9)"),
        (f"{TCP}.HealthState", "\u0665", "not a whole number (digits 0-9)"),
        pytest.param(f"{TCP}.State", "9" * 5000, "outside", id="5000-digits"),
        (f"{TCP}.HealthState", "7", "defines no value 7"),
        (f"{TCP}.OperationalStatus", "65536", "outside"),
        (f"{TCP}.State", "Establish", "did you mean: Established"),
        (f"{TCP}.State", "bogus", "values: Closed, Listen"),
        (f"{TCP}.State", "", "unknown"),
        (f"{TCP}.Status", "5", "unknown"),
        (f"{TCP}.LocalPort", "80", "no enumerated values"),
        (TCP, "5", "a value needs a property"),
        (f"{IPSEC}.ActiveAcquire", "1", "no enumerated values"),
        (f"{IPSEC}.Nope", None, "Nope"),
        (f"{TCP}.State", "\x1b[2J", "\\x1b"),
    ],
)
def test_bad_input_is_one_clear_line(target: str, value: str | None, words: str) -> None:
    with pytest.raises(UsageError) as info:
        explain.explain(target, value)
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert "\x1b" not in message


# --- IPsec is delegated -------------------------------------------------------------------


def test_ipsec_class_and_counter_are_delegated() -> None:
    from core.ipsec import counters

    assert explain.explain(IPSEC, None) == counters.explain(None)
    assert explain.explain(f"{IPSEC.lower()}.activeacquire", None) == counters.explain(
        "ActiveAcquire"
    )
    for doc in (explain.explain(IPSEC, None), explain.explain(f"{IPSEC}.AuthenticationFailures")):
        text = _check_text(_roundtrip(doc))
        assert "AuthenticationFailures" in text


def test_a_property_or_counter_alone_names_its_class() -> None:
    """``tcpscope explain State 5``: what a user types first, answered as the full name."""
    from core.ipsec import counters

    assert explain.explain("State", "5") == explain.explain(f"{TCP}.State", "5")
    assert explain.explain("offloadstate", None) == explain.explain(f"{TCP}.OffloadState", None)
    assert explain.explain("InvalidPackets", None) == counters.explain("InvalidPackets")
    # No name is in both classes, so a bare name is never ambiguous.
    tcp = {spec.wmi_name.lower() for spec in PROPERTIES}
    ipsec = {name.lower() for name in counters.COUNTERS}
    assert tcp and ipsec and not tcp & ipsec
    # A bare name that is neither says so; a qualified one keeps naming the class.
    with pytest.raises(UsageError, match="unknown class or property 'Stat'"):
        explain.explain("Stat", None)
    with pytest.raises(UsageError, match="unknown class 'State'"):
        explain.explain("State.Extra", None)


# --- the command line ---------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tcpscope explain")
    explain.add_arguments(parser)
    return parser.parse_args(argv)


def test_run_prints_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert explain.run(_parse(f"{TCP}.State", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in doc["values"]][:3] == ["Closed", "Listen", "SynSent"]
    assert explain.run(_parse(f"{TCP}.State", "timewait", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["value"] == 11
    assert explain.run(_parse("--json")) == 0
    assert len(json.loads(capsys.readouterr().out)["classes"]) == 2


def test_run_prints_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert explain.run(_parse(f"{TCP}.State", "8")) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{TCP}.State = 8: CloseWait\n")
    assert "Waiting for a connection termination request from the local user." in out


def test_run_lets_usage_errors_through() -> None:
    with pytest.raises(UsageError, match="unknown property 'Nope'"):
        explain.run(_parse(f"{TCP}.Nope"))


def test_explain_imports_no_ui_library() -> None:
    code = (
        "import sys, core.connections.explain, core.connections.seed_tables\n"
        "import core.connections.descriptions\n"
        "bad = [m for m in ('textual', 'rich', 'humanize') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_a_build_without_the_ipsec_module_says_so(tmp_path: Path) -> None:
    """A real build without core/ipsec/counters.py: the class is refused, the listing says why."""
    shutil.copytree(REPO / "core", tmp_path / "core")
    (tmp_path / "core" / "ipsec" / "counters.py").unlink()
    code = (
        "from core.connections.explain import explain\n"
        "from core.errors import UsageError\n"
        "print(explain(None, None)['classes'][1]['reason'])\n"
        "try:\n"
        "    explain('MSiSCSI_MMIPSECStats', None)\n"
        "except UsageError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout
    assert out.splitlines() == ["the IPsec class is not available in this build"] * 2


@pytest.mark.parametrize(
    ("counter", "words"),
    [
        ("ActiveReceive", "counts bytes, not messages"),
        ("ReceiveHeapSize", "counts bytes, not entries"),
        ("SendFailures", "from any UDP socket"),
    ],
)
def test_approximations_say_what_they_count_instead(counter: str, words: str) -> None:
    """The seed counts IKE messages; the kernel's figures count something else, and explain
    (text and JSON) says exactly what."""
    doc = explain.explain(f"{IPSEC}.{counter}", None)
    assert words in json.dumps(doc)
    assert words in " ".join(explain_text.render_text(doc).split())


def test_the_tcp_state_change_time_is_not_sold_as_time_of_last_state_change() -> None:
    doc = explain.explain(f"{TCP}.TimeOfLastStateChange", None)
    text = json.dumps(doc)
    assert "not reported" in text and "state_changed_at" in text


def test_a_state_value_carries_tcpscopes_reading_apart_from_the_seeds_meaning() -> None:
    """The detail pane's hint is in ``explain`` too, under its own key and heading, so the
    seed's meaning stays the seed's text; states that need none (Established) have none."""
    doc = _roundtrip(explain.explain(f"{TCP}.State", "CloseWait"))
    assert doc["meaning"] == _seed("State").values[7][2]
    assert "has not closed this socket yet" in doc["in_practice"]
    assert "In practice (tcpscope, Linux): The peer closed its end" in _check_text(doc)
    assert "in_practice" not in explain.explain(f"{TCP}.State", "5")
    assert "in_practice" not in explain.explain(f"{TCP}.OffloadState", "0")


@pytest.mark.parametrize(
    "argv", [(), (TCP,), ("State",), ("State", "CloseWait"), (IPSEC,), ("InvalidPackets",)]
)
def test_text_fits_an_80_column_terminal(argv: tuple[str, ...]) -> None:
    """Over SSH at 80 columns the text wraps to the terminal (100 columns at most, and when
    the output is not a terminal), not to 100 columns the terminal then breaks again."""
    text = in_terminal(80, "explain", *argv)
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= 80 and max(widths) > 70, text
    narrow = in_terminal(60, "explain", *argv)  # the app's own minimum width
    assert max(len(line) for line in narrow.splitlines()) <= 60, narrow
    piped = subprocess.run(
        [sys.executable, "-m", "tui", "explain", *argv],
        cwd=REPO, capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
    ).stdout  # fmt: skip
    target, value = (*argv, None, None)[:2]
    assert piped == explain_text.render_text(explain.explain(target, value))
