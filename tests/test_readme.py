"""README claims that come from data are checked against that data, so the guide cannot drift.

``python -m pytest tests/test_readme.py`` runs the checks. ``python -m tests.test_readme``
prints the IPsec mapping table for the README and exits 1 when README.md does not hold it.
"""

from __future__ import annotations

import argparse
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


def test_running_the_module_compares_the_table_and_fails_on_a_difference(tmp_path: Path) -> None:
    """``python -m tests.test_readme``, which the README names as its check, printed the table
    and exited 0 whatever README.md said: it now compares, and exits 1 on a difference."""
    import subprocess
    import sys

    root = README.parent
    ok = subprocess.run(
        [sys.executable, "-m", "tests.test_readme"], cwd=root, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert mapping_table() in ok.stdout
    stale = tmp_path / "README.md"
    stale.write_text(README.read_text(encoding="utf-8").replace("| KeyUpdates |", "| KeyUpd |"))
    bad = subprocess.run(
        [sys.executable, "-m", "tests.test_readme", str(stale)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    assert "differs" in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr


def test_readme_names_only_sources_that_exist() -> None:
    """The exporter section spoke of ``--source procfs``, which is no choice of ``--source``
    (a /proc/PID/net/tcp read is netlink's fallback for a namespace it cannot enter)."""
    import re

    from core.connections import SOURCE_NAMES

    texts = {"README.md": README.read_text(encoding="utf-8")}
    for path in (README.parent / "core").rglob("*.py"):
        texts[str(path.relative_to(README.parent))] = path.read_text(encoding="utf-8")
    wrong = [
        (where, name)
        for where, text in texts.items()
        for name in re.findall(r"--source[ =]`?([a-z]+)", text)
        if name not in SOURCE_NAMES
    ]
    assert not wrong, wrong


def test_readme_says_redact_keeps_loopback_and_unspecified_addresses() -> None:
    """``--redact`` keeps 127.0.0.1, ::1, 0.0.0.0 and :: on purpose; the README said every
    address became a pseudonym in the documentation ranges."""
    from core.recording import Redactor

    redactor = Redactor(key=b"k" * 32)
    for kept in ("127.0.0.1", "::1", "0.0.0.0", "::"):
        assert redactor.address(kept) == kept
    assert redactor.address("10.1.2.3") != "10.1.2.3"
    bullet = _command_line_section().split("* `record`", 1)[1].split("\n* ", 1)[0]
    assert "loopback" in bullet and "unspecified" in bullet, bullet


def _command_line_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]


def synopsis() -> dict[str, str]:
    """The README's "Command line" block: command ("" for the app) → its synopsis text."""
    from tui.cli import COMMANDS

    block = _command_line_section().split("```\n", 2)[1]
    entries: dict[str, str] = {}
    command = ""
    for line in block.splitlines():
        if line.startswith("tcpscope "):
            word = line.split()[1]
            command = word if word in COMMANDS else ""
        entries[command] = entries.get(command, "") + line + "\n"
    return entries


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Command ("" for the app) → its argparse parser, as ``tcpscope`` builds it."""
    from tui.cli import COMMANDS, build_parser

    found: dict[str, argparse.ArgumentParser] = {"": build_parser([])}
    for name in COMMANDS:
        top = build_parser([name])
        sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
        found[name] = sub.choices[name]
    return found


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)
    ]


def _value(action: argparse.Action) -> str | None:
    """What the synopsis shows after the option: its metavar, or its choices."""
    if action.nargs == 0:
        return None
    if action.metavar is not None:
        return str(action.metavar)
    assert action.choices is not None, action
    return "|".join(str(c) for c in action.choices)


def test_readme_synopsis_lists_every_option_of_every_command() -> None:
    """The "Command line" block left out ``--netns``, ``--remote…`` and ``metrics``: every
    option of every parser must stand there, on its command's line, as ``--help`` spells it."""
    import re

    lines = synopsis()
    missing = []
    for command, parser in parsers().items():
        text = lines.get(command, "")
        for action in _options(parser):
            long = next(o for o in action.option_strings if o.startswith("--"))
            value = _value(action)
            shown = long if value is None else f"{long} {value}"
            if not re.search(re.escape(shown) + r"(?![\w-])", text):
                missing.append(f"{command or 'tcpscope'}: {shown}")
    assert not missing, missing


def test_every_option_says_what_it_does_and_its_range() -> None:
    """``--help`` gave seven filters no text, ``--provider NAME`` no names and ``--interval``
    and ``--ghost-ttl`` no range or default."""
    from core.commands import MAX_GHOST_TTL_S
    from core.sampling import MAX_INTERVAL_S, MIN_INTERVAL_S

    silent = [
        f"{command or 'tcpscope'} {action.option_strings[0]}"
        for command, parser in parsers().items()
        for action in _options(parser)
        if not (action.help or "").strip()
    ]
    assert not silent, silent
    shown = " ".join(parsers()[""].format_help().split())
    assert "--provider auto|kernel|strongswan|libreswan" in shown
    assert f"samples, {MIN_INTERVAL_S:g}-{MAX_INTERVAL_S:g} (default 1)" in shown
    assert f"(dimmed), 0-{MAX_GHOST_TTL_S:g} s (default 5)" in shown


def test_provider_choices_shown_are_the_providers() -> None:
    from core.ipsec import PROVIDER_NAMES

    top = {a.dest: a for a in _options(parsers()[""])}
    assert top["provider"].metavar == "|".join(PROVIDER_NAMES)


def test_readme_states_the_longest_recording_duration() -> None:
    from core.commands.arg_types import MAX_DURATION_S

    days = MAX_DURATION_S / 86_400
    said = f"`record --duration` up to {days:g} days ({MAX_DURATION_S:.0f} s)"
    assert said in " ".join(README.read_text(encoding="utf-8").split())


def readme_table_check(readme: Path = README) -> int:
    """Print the mapping table; 0 when ``readme`` holds it as is, else 1 and one line."""
    import sys

    table = mapping_table()
    print(table)
    if table in readme.read_text(encoding="utf-8"):
        return 0
    print(
        f"{readme}: its IPsec mapping table differs from core/ipsec/counters.py; "
        "replace it with the table above",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    import sys

    sys.exit(readme_table_check(Path(sys.argv[1]) if len(sys.argv) > 1 else README))
