"""``tcpscope explain`` carries each property's access type and qualifiers as the seed states
them: InstanceID's ``key``, ``MaxLen`` on Caption/Name/Status, Status ``Deprecated``, the
Read/write EnabledDefault and RequestedState, and the IPsec class's MOF qualifiers.

The oracle is the seed document itself (parsed by tests.core.seed, which imports nothing from
``core``), so a qualifier left out of the tables, or one shown differently, fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.connections import descriptions, explain, explain_text
from tests.core.seed import IPSEC_SEED_PATH, require_seed, seed_text
from tests.test_cli import ROOT

TCP = "MSFT_NetTCPConnection"
IPSEC = "MSiSCSI_MMIPSECStats"


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "explain", *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_every_property_has_the_seeds_access_type_and_qualifiers() -> None:
    seed = require_seed()
    assert all(p.access for p in seed.properties.values())
    assert {n for n, p in seed.properties.items() if p.qualifiers} == set(descriptions.QUALIFIERS)
    for name, prop in seed.properties.items():
        doc = json.loads(json.dumps(explain.explain(f"{TCP}.{name}", None)))
        assert doc["access"] == prop.access, name
        assert explain_text.qualifier_text(doc["qualifiers"]) == prop.qualifiers, name
    listed = explain.explain(TCP, None)["properties"]
    assert [(p["name"], p["access"]) for p in listed] == [
        (n, p.access) for n, p in seed.properties.items()
    ]


@pytest.mark.parametrize(
    ("prop", "lines"),
    [
        ("InstanceID", ["  access: Read-only", "  qualifiers: key"]),
        ("Caption", ["  qualifiers: MaxLen (64)"]),
        ("Name", ["  qualifiers: MaxLen (1024)"]),
        (
            "Status",
            [
                '  qualifiers: Deprecated ("CIM_ManagedSystemElement.OperationalStatus"), '
                "MaxLen (10)"
            ],
        ),
        ("EnabledDefault", ["  access: Read/write"]),
        ("RequestedState", ["  access: Read/write"]),
    ],
)
def test_the_text_shows_them(prop: str, lines: list[str]) -> None:
    """What a user reads: the real command, text and JSON."""
    out = _cli(prop)
    assert out.returncode == 0, out.stderr
    shown = out.stdout.splitlines()
    for line in lines:
        assert line in shown, out.stdout
    doc = json.loads(_cli(prop, "--json").stdout)
    assert "access" in doc and "qualifiers" in doc


def test_the_key_is_said_alike_in_both_classes() -> None:
    """InstanceID (MSFT_NetTCPConnection) and InstanceName (MSiSCSI_MMIPSECStats) are both
    their class's key, and ``--json`` says so the same way for both."""
    tcp = explain.explain("InstanceID", None)
    ipsec = explain.explain("InstanceName", None)
    for doc in (tcp, ipsec):
        assert doc["key"] is True and doc["qualifiers"]["key"] is True
    listed = explain.explain(TCP, None)["properties"]
    assert [p["name"] for p in listed if p.get("key")] == ["InstanceID"]
    head = next(ln for ln in explain_text.render_text(explain.explain(TCP, None)).splitlines()
                if ln.startswith("InstanceID  "))  # fmt: skip
    assert "Read-only  [key]" in head
    cls = explain.explain(TCP, None)
    assert explain_text.qualifier_text(cls["qualifiers"]) == (
        'UMLPackagePath ("CIM::Network::Pipes"), ClassVersion ("1.0.0"), dynamic, '
        'provider ("nettcpip"), AMENDMENT'
    )
    header = '[UMLPackagePath("CIM::Network::Pipes"), ClassVersion("1.0.0"), dynamic, '
    assert header + 'provider("nettcpip"), AMENDMENT]' in seed_text()


def test_the_ipsec_counters_carry_their_mof_qualifiers() -> None:
    """``[read, WmiDataId(n), CounterType(PERF_COUNTER_LARGE_RAWCOUNT), DefaultScale(0),
    PerfDetail(100), ...]`` before each uint64 counter in the seed's MOF."""
    text = " ".join(seed_text(IPSEC_SEED_PATH).split())
    props = explain.explain(IPSEC, None)["properties"]
    assert props[0]["qualifiers"] == {"read": True, "key": True}
    assert "[read,key] String InstanceName;" in text
    assert props[1]["qualifiers"] == {"read": True}
    assert "[read] boolean Active;" in text
    for n, prop in enumerate(props[2:], start=1):
        q = prop["qualifiers"]
        assert q == {
            "read": True,
            "WmiDataId": n,
            "CounterType": "PERF_COUNTER_LARGE_RAWCOUNT",
            "DefaultScale": 0,
            "PerfDetail": 100,
        }
        head = f"[read, WmiDataId({n}), CounterType(PERF_COUNTER_LARGE_RAWCOUNT), DefaultScale(0)"
        start = text.index(head)
        end = text.find(f"WmiDataId({n + 1}),")
        assert f"uint64 {prop['name']};" in text[start : end if end > 0 else None]
