"""``python -m tests.lab.ipsec_lab down [ID]`` removes that lab only.

Why: ``down`` used to remove every lab on the machine (each state file), killing other
engineers' labs and running tests. The state directory is this test's own, so even the old
behaviour could only ever stop this test's lab.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab import ipsec_lab
from tests.lab.ipsec_lab import IpsecLab, _alive, have_lab_tools, main

pytestmark = [pytest.mark.lab, pytest.mark.root]


def netns_exists(name: str) -> bool:
    """Whether `ip netns list` names it. Read as bytes: other tests running at the same time
    name their namespaces with control and non-UTF-8 bytes on purpose."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, check=True).stdout
    return any(line.split()[0] == name.encode() for line in out.splitlines() if line.strip())


def test_down_removes_only_the_lab_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    why = have_lab_tools()
    if why:
        pytest.skip(why)
    monkeypatch.setattr(ipsec_lab, "STATE_DIR", tmp_path / "state")
    with IpsecLab(suffix=f"vg{secrets.token_hex(3)}") as other:
        assert (tmp_path / "state" / f"{other.suffix}.json").exists()
        assert main(["down"]) == 1  # no default lab: someone else's is left alone
        assert "no lab lab" in capsys.readouterr().err
        assert _alive(other.a.pid) and _alive(other.b.pid)
        assert netns_exists(other.a.netns)
        pid = other.a.pid
        assert main(["down", other.suffix]) == 0
        assert capsys.readouterr().out == f"{other.suffix}: removed\n"
        assert not _alive(pid) and not netns_exists(other.a.netns)
        assert not (tmp_path / "state" / f"{other.suffix}.json").exists()


def test_bad_id_is_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.lab.ipsec_lab", "down", "../x"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == "lab ID must be 1-11 of a-z and 0-9, not '../x'\n"
