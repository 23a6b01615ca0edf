"""``tcpscope record`` says at start which IPsec counters it is not recording, and why (a real
``tcpscope record`` process; the lab's real charon for the daemon that is read).

Why: under ``--provider auto`` (the default) with no charon answering, a recording held the
kernel's counters and charon's absence, and the command said nothing of it and exited 0: the
user believed the daemon's counters were recorded. Exit 0 stays (auto means "if there is
one"); one stderr line now says it, in the words ``metrics`` logs and ``ipsec`` shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.ipsec import DEFAULT_VICI, get_providers
from tests.ipsec.conftest import ROOT
from tests.lab.ipsec_lab import IpsecLab

NOT_RECORDED = "not recorded"


def record(tmp_path: Path, *args: str, after: tuple[str, ...] = ()) -> list[str]:
    """stderr lines of ``tcpscope ARGS record FILE --samples 3 AFTER`` (asserting exit 0)."""
    out = tmp_path / "r.tsr"
    done = subprocess.run(
        [sys.executable, "-m", "tui", *args, "--interval", "0.2", "record", str(out),
         "--samples", "3", "--force", *after],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr.splitlines()


def auto_reads_charon_at_the_default_path() -> None:
    """Skip unless ``auto`` asks charon at the default path here and no charon answers there
    (charon installed, no socket: a lab's charons have sockets of their own)."""
    if os.path.lexists(DEFAULT_VICI):
        pytest.skip(f"a charon socket is at {DEFAULT_VICI} on this host")
    providers = get_providers("auto")
    try:
        if "strongswan" not in [p.name for p in providers]:
            pytest.skip("charon is not installed here: auto does not read it")
    finally:
        for provider in providers:
            provider.close()


def test_auto_without_charon_says_its_counters_are_not_recorded(tmp_path: Path) -> None:
    auto_reads_charon_at_the_default_path()
    lines = record(tmp_path)
    said = [line for line in lines if NOT_RECORDED in line]
    assert len(said) == 1, lines
    (line,) = said
    reason = f"charon not running (no VICI socket at {DEFAULT_VICI})"
    assert line.startswith(f"tcpscope: ipsec: strongswan down: {reason}; "), line
    assert line == (
        f"tcpscope: ipsec: strongswan down: {reason}; its counters are not recorded"
        " (the kernel's are)"
    )
    assert lines.index(line) == 1, lines  # at start: after the banner, before the summary


@pytest.mark.parametrize(
    ("before", "after"), [((), ("--no-ipsec",)), (("--no-ipsec",), ())], ids=["record", "global"]
)
def test_no_ipsec_says_nothing_of_ipsec(
    tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    auto_reads_charon_at_the_default_path()
    lines = record(tmp_path, *before, after=after)
    assert not [ln for ln in lines if NOT_RECORDED in ln or ln.startswith("tcpscope: ipsec")]


def test_the_kernel_read_says_nothing(tmp_path: Path) -> None:
    lines = record(tmp_path, "--provider", "kernel")
    assert not [line for line in lines if NOT_RECORDED in line], lines


@pytest.mark.lab
@pytest.mark.root
def test_a_charon_that_answers_says_nothing(lab: IpsecLab, tmp_path: Path) -> None:
    lines = record(tmp_path, "--vici", lab.b.vici)
    assert not [line for line in lines if NOT_RECORDED in line], lines
