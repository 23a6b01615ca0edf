"""``tcpscope explain`` knows every property ``tcpscope ipsec`` prints: InstanceName and Active
too, not only the 21 counters (they were refused: "unknown ... counter 'InstanceName'", exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.connections import explain
from tests.test_cli import ROOT

IPSEC = "MSiSCSI_MMIPSECStats"


def _tcpscope(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "head", "words"),
    [
        (f"{IPSEC}.InstanceName", f"{IPSEC}.InstanceName  string", "qualifiers: read, key"),
        ("InstanceName", f"{IPSEC}.InstanceName  string", "instance name is pnp id"),
        (f"{IPSEC}.Active", f"{IPSEC}.Active  boolean", "qualifiers: read"),
        ("active", f"{IPSEC}.Active  boolean", "could read its source in this sample"),
    ],
)
def test_instance_name_and_active_are_explained(target: str, head: str, words: str) -> None:
    out = _tcpscope("explain", target)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.splitlines()[0] == head
    assert words in " ".join(out.stdout.split())
    doc = json.loads(_tcpscope("explain", target, "--json").stdout)
    assert doc["class"] == IPSEC and doc["name"] == head.split(".")[1].split()[0]


def test_every_property_ipsec_prints_is_explained_as_the_provider_fills_it() -> None:
    """The real ``tcpscope ipsec --json`` of the kernel provider: each of its WMI properties
    has an explanation, and InstanceName is what that explanation says the kernel puts there
    (``kernel:`` and this network namespace)."""
    if sys.platform != "linux":
        pytest.skip("the kernel provider is Linux's")
    out = _tcpscope("ipsec", "--json", "--provider", "kernel")
    (inst,) = json.loads(out.stdout)["instances"]
    wmi = [k for k in inst if k[:1].isupper()]
    assert wmi[:2] == ["InstanceName", "Active"] and len(wmi) == 23
    for name in wmi:
        doc = explain.explain(name, None)
        assert (doc["class"], doc["name"]) == (IPSEC, name)
        assert doc["qualifiers"]["read"] is True
    assert inst["InstanceName"] == f"kernel:{os.readlink('/proc/self/ns/net')}"
    said = explain.explain("InstanceName", None)["sources"]["kernel"]
    assert said.startswith("kernel:<network namespace>") and "/proc/self/ns/net" in said
    assert inst["Active"] is (out.returncode == 0 and inst["error"] is None)
    listed = explain.explain(IPSEC, None)["properties"]
    assert [p["name"] for p in listed] == wmi


def test_an_unknown_property_is_still_one_line_exit_2() -> None:
    out = _tcpscope("explain", f"{IPSEC}.InstanceNames")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and "'InstanceNames'" in out.stderr
