"""The README's capability claim, as a service would run: user ``nobody`` with and without
CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH, looking at a listener that a root process owns."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

import pytest

from tests.metrics.exporter import exporter
from tests.metrics.peers import Peer

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.geteuid() != 0,
        reason="needs root (to run the exporter as nobody with chosen capabilities)",
    ),
]
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
OWNER_CAPS = "+sys_ptrace,+dac_read_search"


def _listen_labels(prefix: tuple[str, ...]) -> set[str]:
    with exporter("--no-ipsec", "--interval", "0.5", prefix=prefix) as running:
        samples = running.wait_sampled(after=time.time())
    return {
        s.labels["process"]
        for s in samples
        if s.name == "tcpscope_connections" and s.labels["state"] == "Listen"
    }


@pytest.mark.parametrize("caps", ["", OWNER_CAPS])
def test_owner_labels_need_ptrace_and_dac_read_search(caps: str, tmp_path: Path) -> None:
    with Peer(tmp_path, f"l{secrets.token_hex(3)}", 0) as peer:
        peer.do("listen")  # a root process's listener
        granted = (f"--inh-caps={caps}", f"--ambient-caps={caps}") if caps else ()
        labels = _listen_labels((*NOBODY, *granted))
    if caps:
        assert peer.name in labels
    else:
        assert peer.name not in labels and "unknown" in labels
