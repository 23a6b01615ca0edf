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
from core.metrics.connections import RESERVED, series_bound

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
