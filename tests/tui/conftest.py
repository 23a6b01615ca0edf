"""Fixtures of the TUI tests: preferences in a temp dir, never the user's config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point XDG_CONFIG_HOME at a fresh temp dir for every test."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield config
