"""Shared fixtures of the IPsec tests: import path, the strongSwan lab, fresh namespaces.

Why: the lab (two netns, two charons) takes a second or two to build, so lab tests share one per
module; kernel tests each get a throwaway namespace. Both skip with a clear reason when not
root or when strongSwan is missing.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.lab.ipsec_lab import IpsecLab, have_lab_tools  # noqa: E402

IS_ROOT = sys.platform == "linux" and os.geteuid() == 0


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    """A running lab with the IKEv2 ``lab`` CHILD SA established."""
    why = have_lab_tools()
    if why:
        pytest.skip(why)
    with IpsecLab() as the_lab:
        the_lab.initiate("lab")
        yield the_lab


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh, empty network namespace (deleted afterwards)."""
    if not IS_ROOT:
        pytest.skip("needs root to create a network namespace")
    name = f"tsk{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def in_netns(
    ns: str,
    *argv: str,
    user: int | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run argv inside ``ns`` (optionally as another uid via setpriv), cwd = project root."""
    prefix = ["ip", "netns", "exec", ns]
    if user is not None:
        prefix += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, check=check, cwd=ROOT, env=env, timeout=60
    )
