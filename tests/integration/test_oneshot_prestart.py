"""The one-shot starts its owner scan before the command line is parsed, and never leaves it
behind: a run adopts it, a failing command line stops it.

Run in a fresh interpreter: the scan forks only from a single-threaded process, before the
sampling code is imported, and a test runner has threads and modules of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import IS_LINUX

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import contextlib, io, json, os, sys
from core.connections.sources import fd_scan

started = []

class Recorded(fd_scan.ForkedScan):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        started.append({"forked": self.forked,
                        "sampler_imported": "core.connections.sources.netlink" in sys.modules})

fd_scan.ForkedScan = Recorded
from tui.cli import main

def children():
    try:
        return os.waitpid(-1, os.WNOHANG)[0] != 0 or "unreaped"
    except ChildProcessError:
        return False

out = {}
for name, argv in (("bad", ["connections", "--state", "Bogus"]),
                   ("run", ["connections", "--netns", "current"]),
                   ("psutil", ["connections", "--source", "psutil"])):
    started.clear()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    out[name] = {"code": code, "started": list(started), "left": fd_scan._early is not None,
                 "children": children()}
print(json.dumps(out))
"""


@pytest.mark.skipif(not IS_LINUX, reason="/proc is Linux-only")
def test_owner_scan_starts_before_the_parser_and_is_never_left_behind() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    bad, run, psutil = report["bad"], report["run"], report["psutil"]
    # A usage error: the scan had started (forked, before the sampler was imported) and was
    # stopped and reaped on the way out.
    assert bad["code"] == 2
    assert bad["started"] == [{"forked": True, "sampler_imported": False}]
    assert not bad["left"] and not bad["children"]
    # A run: the early scan is the one the sample used (no second scan), nothing is left.
    assert run["code"] == 0
    assert run["started"] == [{"forked": True, "sampler_imported": False}]
    assert not run["left"] and not run["children"]
    # The psutil source resolves owners its own way: no scan at all.
    assert psutil["started"] == [] and not psutil["left"] and not psutil["children"]
