"""A single-valued option given twice is refused (one line naming it, exit 2), never read as
its last value: ``tcpscope --interval 1 --interval 5`` sampled every 5 s and ``close
--remote-port 443 --remote-port 22`` chose port 22, both unsaid. Options meant to repeat
(``--state``, ``--filter``) still combine. Real processes, as a user runs them.

Where the first run would have gone on (a recording, the exporter), a second error that
argparse cannot see (``--listen`` on port 99999) makes the pre-fix run end too, so this test
fails there instead of hanging.
"""

from __future__ import annotations

import pytest

from tests.hostile.util import one_line_error, tcpscope

BAD_LISTEN = ("--listen", "127.0.0.1:99999")
"""Refused by ``metrics`` itself, after parsing: without the fix the exporter never serves."""

TWICE = [
    # Top level, both before any command.
    (["--interval", "1", "--interval", "5", "--demo"], "--interval given twice: give it once"),
    (["--demo", "--seed", "1", "--seed", "2"], "--seed given twice: give it once"),
    (["--ghost-ttl", "5", "--ghost-ttl", "9", "--demo"], "--ghost-ttl given twice: give it once"),
    (
        ["--source", "netlink", "--source", "psutil", "connections"],
        "--source given twice: give it once",
    ),
    (["--replay", "f1", "--replay", "f2"], "--replay given twice: give it once"),
    (
        ["--remote", "a.invalid", "--remote", "b.invalid", "connections"],
        "--remote given twice: give it once",
    ),
    (
        ["--remote", "a.invalid", "--remote-python", "/x", "--remote-python", "/y", "ipsec"],
        "--remote-python given twice: give it once",
    ),
    # A command's own, twice after it.
    (["connections", "--local-port", "1", "--local-port", "2"], "--local-port given twice"),
    (["connections", "--remote-port", "1", "--remote-port", "2"], "--remote-port given twice"),
    (
        ["connections", "--local-address", "::1", "--local-address", "127.0.0.1"],
        "--local-address given twice",
    ),
    (
        ["connections", "--remote-address", "::1", "--remote-address", "127.0.0.1"],
        "--remote-address given twice",
    ),
    (
        ["connections", "--owning-process", "1", "--owning-process", "2"],
        "--owning-process given twice",
    ),
    (
        ["connections", "--offload-state", "InHost", "--offload-state", "Offloaded"],
        "--offload-state given twice",
    ),
    (
        ["connections", "--applied-setting", "Internet", "--applied-setting", "Datacenter"],
        "--applied-setting given twice",
    ),
    (["connections", "--source", "netlink", "--source", "psutil"], "--source given twice"),
    # close would act on the last one: never with --yes here, and ports nothing listens on.
    (["close", "--remote-port", "1", "--remote-port", "2"], "--remote-port given twice"),
    (["close", "--local-port", "1", "--local-port", "2"], "--local-port given twice"),
    (["record", "-", "--interval", "1", "--interval", "2", "--samples", "1"], "--interval"),
    (["record", "-", "--samples", "1", "--samples", "2"], "--samples given twice"),
    (["record", "-", "--duration", "1", "--duration", "2"], "--duration given twice"),
    (["metrics", "--top", "1", "--top", "2", *BAD_LISTEN], "--top given twice"),
    (["metrics", "--interval", "1", "--interval", "2", *BAD_LISTEN], "--interval given twice"),
    (["metrics", "--listen", "127.0.0.1:0", *BAD_LISTEN], "--listen given twice"),
    # Before a command and again after it (as --netns, --vici and --provider already were).
    (
        ["--source", "netlink", "connections", "--source", "psutil"],
        "connections: --source given twice ('netlink' before connections, 'psutil' after)",
    ),
    (
        ["--source", "netlink", "close", "--local-port", "1", "--source", "psutil"],
        "close: --source given twice ('netlink' before close, 'psutil' after)",
    ),
    (
        ["--interval", "1", "record", "-", "--samples", "1", "--interval", "2"],
        "record: --interval given twice ('1' before record, '2' after)",
    ),
    (
        ["--interval", "0.5", "metrics", "--interval", "2", *BAD_LISTEN],
        "metrics: --interval given twice ('0.5' before metrics, '2' after)",
    ),
]


@pytest.mark.parametrize(("argv", "says"), TWICE, ids=[" ".join(argv) for argv, _ in TWICE])
def test_a_single_valued_option_given_twice_is_refused(argv: list[str], says: str) -> None:
    result = tcpscope(*argv)
    line = one_line_error(result)
    assert line.startswith("tcpscope: "), line
    assert says in line, line
    assert "given twice" in line, line
    assert result.returncode == 2
    assert not result.stdout


REPEATS = [
    ["connections", "--state", "Listen", "--state", "Established", "--local-port", "1"],
    ["connections", "--filter", "port:1", "--filter", "-state:listen"],
    ["--filter", "port:1", "--filter", "-state:listen", "connections"],
]


@pytest.mark.parametrize("argv", REPEATS, ids=" ".join)
def test_options_meant_to_repeat_still_combine(argv: list[str]) -> None:
    """``--state`` repeats and ``--filter`` ANDs (README, "Command line"): not refused."""
    result = tcpscope(*argv, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"[")
