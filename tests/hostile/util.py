"""Running tcpscope for real in a subprocess, the way a user meets it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def env(**extra: str) -> dict[str, str]:
    """The environment of a test run: this checkout first on the path, no colour."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **extra}


def tcpscope(
    *args: str,
    extra_env: dict[str, str] | None = None,
    stdout: int | IO[bytes] = subprocess.PIPE,
    preexec_fn: Callable[[], object] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``tcpscope ARGS`` in a fresh interpreter; output as bytes (tests check the encoding)."""
    return subprocess.run(
        [PY, "-m", "tui", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env=env(**(extra_env or {})),
        cwd="/",
        preexec_fn=preexec_fn,
    )


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    """The single error line of a failed run (asserts there is exactly one, no traceback);
    ``record``'s banner ("recording to ...") is not an error line."""
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("tcpscope: recording to")]
    assert len(lines) == 1, err
    return lines[0]


def strict_json(data: bytes) -> Any:
    """``data`` read as strict parsers read JSON (jq, Go's encoding/json, serde): UTF-8 and
    no lone surrogate in any string. Python's own ``json`` accepts ``"\\udcff"``, so each
    string is encoded back to UTF-8 too; where jq is installed it must read the same."""
    doc = json.loads(data.decode("utf-8", "strict"))
    pending = [doc]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            value.encode("utf-8")  # UnicodeEncodeError: a lone surrogate
        elif isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
    jq = shutil.which("jq")
    if jq is not None:  # jq 1.6 reads a lone surrogate as U+FFFD: another document
        read = subprocess.run([jq, "-c", "."], input=data, capture_output=True, check=True)
        assert json.loads(read.stdout.decode("utf-8", "strict")) == doc
    return doc
