"""What ``tcpscope ipsec`` and ``explain`` say where the obvious words would be wrong: a
daemon that is not installed is not "started", and the class document's one copied
description is flagged beside it, not silently repeated (run for real)."""

from __future__ import annotations

import json

import pytest

from core.ipsec.providers.libreswan import find_whack
from tests.test_cli import tcpscope


@pytest.mark.skipif(find_whack() is not None, reason="libreswan is installed here")
def test_a_daemon_not_installed_is_to_be_installed_not_started() -> None:
    done = tcpscope("ipsec", "--provider", "libreswan")
    assert done.returncode == 1, done
    assert "libreswan not installed (no whack binary)" in done.stdout
    assert "install libreswan (apt install libreswan)" in done.stdout
    assert "start pluto" not in done.stdout  # the advice for a stopped one


def test_the_copied_description_is_flagged_beside_it() -> None:
    text = tcpscope("explain", "KeyUpdateFailures")
    doc = json.loads(tcpscope("explain", "KeyUpdateFailures", "--json").stdout)
    # The seed's text as Microsoft wrote it (KeyUpdates' own), and tcpscope's note beside it.
    assert doc["description"].startswith("The number of inbound quick mode security")
    assert "copy error" in doc["note"] and "failed" in doc["note"]
    assert "note: The class document gives this counter KeyUpdates' description" in text.stdout
    assert "note" not in json.loads(tcpscope("explain", "KeyUpdates", "--json").stdout)
