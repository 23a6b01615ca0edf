"""A strongSwan lab of a test module's own, for modules that stop and restart charon (the
shared lab's other users would see their daemon vanish)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.lab.ipsec_lab import IpsecLab, have_lab_tools


def own_lab(prefix: str) -> Iterator[IpsecLab]:
    """Yield a lab whose names start with ``prefix`` (skips the test without the lab's tools);
    for a module-scoped fixture: ``yield from own_lab("vg")``."""
    why = have_lab_tools()
    if why:
        pytest.skip(why)
    with IpsecLab(suffix=f"{prefix}{secrets.token_hex(3)}") as lab:
        yield lab
