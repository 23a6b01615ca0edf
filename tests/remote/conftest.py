"""The SSH lab tests' fixtures: the lab and a listener on its server (tests/lab/ssh_lab.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab.ssh_lab import SshLab, listen_in_namespace


@pytest.fixture(scope="module")
def lab() -> Iterator[SshLab]:
    """A real sshd in a network namespace, for the tests of one module."""
    with SshLab() as running:
        yield running


@pytest.fixture(scope="module")
def server_listener(lab: SshLab) -> Iterator[int]:
    """The port of a listener inside the lab's server namespace."""
    proc, port = listen_in_namespace(lab.netns)
    yield port
    proc.kill()
    proc.wait()
