"""Fuzz the recording reader, the filter language, the preferences file and the VICI decoder
(hypothesis), each in a subprocess under a 1 GiB address-space limit (RLIMIT_AS): a parser
that starts to allocate without bound fails here instead of exhausting the machine."""

from __future__ import annotations

import resource
import subprocess

import pytest

from tests.hostile.fuzz_targets import TARGETS
from tests.hostile.util import PY, ROOT, env

ADDRESS_SPACE = 1024**3


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_under_a_memory_limit(target: str) -> None:
    done = subprocess.run(
        [PY, "-m", "tests.hostile.fuzz_targets", target],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limit,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
