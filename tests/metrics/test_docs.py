"""What the README and the module docs state about the series bound is what the code does.

Why a test: the bound is the operator's capacity figure, written in three places (README, the
connections module's docstring, the exporter's startup line); Bound sockets made it 13 State
values while both texts still said 12.
"""

from __future__ import annotations

import re
from pathlib import Path

import core.metrics.connections as connections
from core.commands.metrics import DEFAULT_TOP
from core.connections.model import TcpState
from core.demo.ipsec import DemoIpsecProvider
from core.ipsec.counters import PROVIDERS, source_for, strongswan_has_alerts
from core.ipsec.model import COUNTER_NAMES, Grade, ProviderReading
from core.ipsec.providers.base import make_reading
from core.ipsec.sampling import IpsecSampler
from core.metrics.connections import RESERVED, series_bound
from core.metrics.families import ipsec_families

NONE = Grade.NONE
README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_states_the_bound_the_code_has() -> None:
    text = " ".join(README.read_text().split())  # the sentence may wrap anywhere
    found = re.search(
        r"`tcpscope_connections` ≤ \*\*(\d+) × \(N \+ (\d+)\)\*\* series per network namespace "
        r"with sockets \((\d+) (?:seed )?State values.*?; (\d+) with the default N",
        text,
    )
    assert found, "README: the tcpscope_connections bound sentence is gone or reworded"
    states, reserved, states_again, default = (int(g) for g in found.groups())
    assert states == states_again == len(TcpState)
    assert reserved == len(RESERVED)
    assert default == series_bound(DEFAULT_TOP) == len(TcpState) * (DEFAULT_TOP + len(RESERVED))


def test_module_docstring_states_the_bound_the_code_has() -> None:
    doc = " ".join((connections.__doc__ or "").split())
    found = re.search(r"S × \(N \+ (\d+)\) series .*?\(S = (\d+) (?:seed )?State values", doc)
    assert found, "core/metrics/connections.py: the bound sentence is gone or reworded"
    assert (int(found[1]), int(found[2])) == (len(RESERVED), len(TcpState))


class _Full:
    """A provider reporting every counter its grade table gives it, each event-counted total a
    lower bound: the most series that provider can have."""

    def __init__(self, name: str, version: str | None) -> None:
        self.name = name
        self._version = version

    def read(self) -> ProviderReading:
        graded = [
            c for c in COUNTER_NAMES if source_for(c, self.name, self._version).grade is not NONE
        ]
        counted = [c for c in graded if source_for(c, self.name, self._version).scope]
        return make_reading(
            self.name,
            self.name,
            dict.fromkeys(graded, 1),
            version=self._version,
            lower_bounds=dict.fromkeys(counted, "lower bound: test"),
            event_gaps=0 if counted else None,
        )

    def close(self) -> None:
        pass


def _series(provider: object) -> int:
    sampler = IpsecSampler([provider], interval_s=1.0)  # type: ignore[list-item]
    view = sampler.sample()
    assert view.providers[0].error is None, view.providers[0].error
    families = ipsec_families(view)
    return sum(len(f.samples) for f in families)


def test_readme_states_the_ipsec_bound_the_tables_give() -> None:
    """strongSwan ≥ 6.0.3 reports 16 counters, 10 of them counted from events: with
    ``tcpscope_ipsec_up``, their lower-bound gauges and the gaps counter, more than the
    README's old 22 per provider."""
    assert strongswan_has_alerts("6.0.3") and not strongswan_has_alerts("5.9.8")
    variants: list[object] = [
        _Full(name, version)
        for name in PROVIDERS
        for version in ((None, "5.9.8", "6.0.3") if name == "strongswan" else (None,))
    ]
    variants.append(DemoIpsecProvider(seed=1))
    bound = max(_series(p) for p in variants)
    text = " ".join(README.read_text().split())
    found = re.search(r"IPsec ≤ \*\*(\d+) × P\*\* series for P providers", text)
    assert found, "README: the IPsec bound sentence is gone or reworded"
    assert int(found[1]) == bound
