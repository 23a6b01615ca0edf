"""A live recording's header names the IPsec providers it holds (``tcpscope record``, a real
process; a real UNIX socket as charon's VICI socket).

Why: the header was built from the first snapshot, which a live sampler produces before its
first IPsec view, so live recordings said ``"providers": []`` (the demo's said ``["demo"]``);
a re-recorded file keeps the providers its header names.
"""

from __future__ import annotations

import socket
from pathlib import Path

from core.recording.reader import Recording
from tests.recording.test_record_cli import run


def test_live_recording_names_its_providers(tmp_path: Path) -> None:
    vici = tmp_path / "charon.vici"
    with socket.socket(socket.AF_UNIX) as stalled:  # accepts, never answers
        stalled.bind(str(vici))
        stalled.listen(8)
        out = tmp_path / "live.tsr"
        args = ("--provider", "strongswan", "--vici", str(vici))
        done = run(*args, "record", str(out), "--samples", "2", "--interval", "0.2")
        assert done.returncode == 0, done.stderr
    rec = Recording(out)
    assert rec.header.providers == ("strongswan",)
    held = {p.name for i in range(len(rec)) if (v := rec.snapshot(i).ipsec) for p in v.providers}
    assert held <= {"strongswan"}
    again = tmp_path / "again.tsr"
    done = run("--replay", str(out), "record", str(again))
    assert done.returncode == 0, done.stderr
    assert Recording(again).header.providers == ("strongswan",)


def test_no_ipsec_names_none(tmp_path: Path) -> None:
    out = tmp_path / "plain.tsr"
    done = run("record", str(out), "--samples", "1", "--no-ipsec")
    assert done.returncode == 0, done.stderr
    assert Recording(out).header.providers == ()
