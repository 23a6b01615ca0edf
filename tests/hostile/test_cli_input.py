"""Every numeric option rejects NaN, infinities, negatives, non-ASCII digits and values out of
range; empty names and global options a subcommand would ignore are refused (exit 2, one line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

BAD = [
    ["--ghost-ttl", "nan"],
    ["--ghost-ttl", "inf"],
    ["--ghost-ttl", "1e308"],
    ["--ghost-ttl", "-1"],
    ["--interval", "nan"],
    ["--interval", "-inf"],
    ["--interval", "0"],
    ["--interval", "1e400"],
    ["--seed", "-1"],
    ["--seed", "4294967296"],
    ["--seed", "٣"],
    ["--seed", "1_0"],
    ["--provider", ""],
    ["--provider", "nope"],
    ["connections", "--local-port", "٤٤٣"],
    ["connections", "--local-port", "65536"],
    ["connections", "--local-port", " 80"],
    ["connections", "--remote-port", "-1"],
    ["connections", "--owning-process", "4294967296"],
    ["connections", "--local-address", ""],
    ["connections", "--state", "٢"],
    ["ipsec", "--provider", ""],
    ["record", "-", "--interval", "nan"],
    ["record", "-", "--duration", "inf"],
    ["record", "-", "--duration", "0"],
    ["record", "-", "--duration", "nan"],
    ["record", "-", "--samples", "0"],
    ["record", "-", "--samples", "1e3"],
    ["--replay", "x.tsr", "connections"],
    ["--demo", "ipsec"],
    ["--provider", "kernel", "connections"],
    ["--source", "psutil", "ipsec"],
    ["--ghost-ttl", "9", "explain"],
]


@pytest.mark.parametrize("argv", BAD, ids=" ".join)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exit, through OneLineParser.error
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err


def test_global_options_a_subcommand_uses_are_applied(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--provider", "kernel", "ipsec", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"provider": "kernel"' in out and '"provider": "strongswan"' not in out


def test_demo_and_a_real_recording_are_not_both_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both say where the rows come from: neither wins silently (the replay used to)."""
    recording = tmp_path / "demo.tsr"
    assert main(["--demo", "--no-ipsec", "record", str(recording), "--samples", "1"]) == 0
    capsys.readouterr()
    assert main(["--demo", "--replay", str(recording), "record", "-", "--samples", "1"]) == 2
    assert capsys.readouterr().err == "tcpscope: --demo cannot be combined with --replay\n"
    # The app itself, in a process of its own (were it started, it would wait for keys).
    app = subprocess.run(
        [sys.executable, "-m", "tui", "--demo", "--replay", str(recording)],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2], check=False,
    )  # fmt: skip
    assert (app.returncode, app.stderr) == (
        2,
        "tcpscope: --demo cannot be combined with --replay\n",
    )


def test_the_longest_duration_is_said_in_seconds_and_days(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``record --duration 1e308`` said "at most 3.16224e+07 s": a limit nobody reads."""
    with pytest.raises(SystemExit) as exit_:
        main(["record", "-", "--duration", "1e308"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "at most 31622400 s (366 days), got 1e308" in err, err
    assert "e+" not in err.replace("1e308", ""), err
