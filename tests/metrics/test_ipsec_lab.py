"""IPsec series from a real strongSwan (the lab) and the real kernel provider.

strongSwan 5.9.8 reports some counters and not others (no ``alert`` event): the reported ones
must appear with the daemon's numbers, the others must be absent, never 0. The kernel provider
runs beside it (``--provider auto`` with the lab's VICI socket), so two providers label the
same families.
"""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.ipsec.model import COUNTER_FIELDS
from tests.ipsec.conftest import lab  # noqa: F401 (the module-scoped lab fixture)
from tests.lab.ipsec_lab import IpsecLab
from tests.metrics.exporter import exporter

pytestmark = [pytest.mark.lab, pytest.mark.root]

NOT_REPORTED_BY_STRONGSWAN_59 = ("AuthenticationFailures", "GetSPIFailures", "SoftAssociations")


def test_strongswan_and_kernel_series(lab: IpsecLab) -> None:  # noqa: F811
    lab.ensure_up("lab")
    with exporter("--interval", "0.5", global_args=("--vici", lab.a.vici)) as running:
        running.wait_sampled(after=time.time())
        installed = lab.installed_children(lab.a)
        families = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, body = running.scrape()
            families = {f.name: f for f in text_string_to_metric_families(body)}
            listed = families.get("tcpscope_ipsec_connection_list_size")
            if listed and any(s.labels["provider"] == "strongswan" for s in listed.samples):
                break
            time.sleep(0.2)
    up = {s.labels["provider"]: s.value for s in families["tcpscope_ipsec_up"].samples}
    assert up["strongswan"] == 1 and up["kernel"] == 1
    size = {
        s.labels["provider"]: s.value
        for s in families["tcpscope_ipsec_connection_list_size"].samples
    }
    assert size["strongswan"] == installed >= 1
    attr = dict(COUNTER_FIELDS)
    invalid = families["tcpscope_ipsec_invalid_packets"]
    assert invalid.type == "counter"
    assert {s.labels["provider"] for s in invalid.samples} >= {"strongswan"}
    for wmi in NOT_REPORTED_BY_STRONGSWAN_59:
        family = families.get(f"tcpscope_ipsec_{attr[wmi]}")
        providers = {s.labels["provider"] for s in family.samples} if family else set()
        assert "strongswan" not in providers, f"{wmi} must be absent, not 0"
