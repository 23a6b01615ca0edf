"""README claims that come from data are checked against that data, so the guide cannot drift.

Run ``python -m tests.test_readme`` to print the IPsec mapping table for the README.
"""

from __future__ import annotations

from pathlib import Path

from core.ipsec.counters import COUNTERS, source_for

README = Path(__file__).resolve().parents[1] / "README.md"


def mapping_table() -> str:
    """The counter → source → grade table (strongSwan graded as Debian 12's 5.9)."""
    lines = [
        "| Counter | Kind | Linux kernel | strongSwan 5.9 (VICI) | strongSwan ≥ 6.0.3 "
        "| libreswan |",
        "|---|---|---|---|---|---|",
    ]
    for name, spec in COUNTERS.items():
        cells = []
        for provider, version in (
            ("kernel", None),
            ("strongswan", "5.9.8"),
            ("strongswan", "6.0.3"),
            ("libreswan", None),
        ):
            src = source_for(name, provider, version)
            expr = src.expression.replace("|", "\\|")
            grade = f"**{src.grade.value}**"
            cells.append(f"{grade} `{expr}`" if expr and expr != "none" else grade)
        lines.append(f"| {name} | {spec.kind.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_readme_holds_the_current_mapping_table() -> None:
    assert mapping_table() in README.read_text(encoding="utf-8")


if __name__ == "__main__":
    print(mapping_table())


def test_readme_states_the_agents_size() -> None:
    """Every "the agent (~N kB)" / "sending the agent (N kB)" figure is within 5% of the
    bundle actually sent (the client says ``len // 1024`` kB)."""
    import re

    from core.remote.bundle import build_bundle

    size = len(build_bundle().data) // 1024
    text = README.read_text()
    figures = [int(n) for n in re.findall(r"the agent(?: is)? \(?~?(\d+) kB", text)]
    assert len(figures) >= 3, figures
    for figure in figures:
        assert abs(figure - size) <= 0.05 * size, (figure, size)
