"""View preferences that persist across runs: sort, filter, columns, theme, ghost TTL.

Stored as JSON in ``$XDG_CONFIG_HOME/tcpscope/prefs.json`` (``~/.config/tcpscope`` when the
variable is unset). A missing file means defaults. A corrupt, unreadable or unwritable file
never stops the app: load and save return a one-line problem for a notification instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from core.connections.query import SORT_COLUMNS

DEFAULT_HIDDEN: Final = frozenset({"user"})
"""Table columns hidden until the user shows them (the table ignores keys it does not know,
so a preference file from another version never breaks it)."""
MAX_COLUMN_KEY = 32
"""Longest column key kept from a preference file."""


@dataclass(frozen=True, slots=True)
class Prefs:
    """What the user chose last time."""

    sort_column: str = "state"
    sort_reverse: bool = False
    filter: str = ""
    hidden_columns: tuple[str, ...] = tuple(sorted(DEFAULT_HIDDEN))
    theme: str | None = None
    """Textual theme name; None keeps Textual's default."""
    ghost_ttl_s: float | None = None
    """None: use the command line's --ghost-ttl."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept so an older tcpscope does not drop them."""


def prefs_path() -> Path:
    """``$XDG_CONFIG_HOME/tcpscope/prefs.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tcpscope" / "prefs.json"


def _validated(data: object) -> Prefs:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    prefs = Prefs()
    known = {f for f in Prefs.__dataclass_fields__ if f != "extra"}
    extra = {k: v for k, v in data.items() if k not in known}
    sort_column = data.get("sort_column", prefs.sort_column)
    if sort_column not in SORT_COLUMNS:
        raise ValueError(f"unknown sort column {sort_column!r}")
    hidden = data.get("hidden_columns", list(prefs.hidden_columns))
    if not isinstance(hidden, list) or not all(
        isinstance(h, str) and 0 < len(h) <= MAX_COLUMN_KEY for h in hidden
    ):
        raise ValueError("hidden_columns must list column names")
    theme = data.get("theme")
    ttl = data.get("ghost_ttl_s")
    if theme is not None and not isinstance(theme, str):
        raise ValueError("theme must be a string")
    if ttl is not None and (not isinstance(ttl, int | float) or ttl < 0):
        raise ValueError("ghost_ttl_s must be a non-negative number")
    text = data.get("filter", "")
    if not isinstance(text, str):
        raise ValueError("filter must be a string")
    return replace(
        prefs,
        sort_column=sort_column,
        sort_reverse=bool(data.get("sort_reverse", False)),
        filter=text,
        hidden_columns=tuple(hidden),
        theme=theme,
        ghost_ttl_s=None if ttl is None else float(ttl),
        extra=extra,
    )


def load(path: Path | None = None) -> tuple[Prefs, str | None]:
    """The saved preferences, or defaults plus a one-line problem when the file is bad."""
    path = path or prefs_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Prefs(), None
    except (OSError, UnicodeDecodeError) as exc:
        return Prefs(), f"cannot read {path}: {exc}; using defaults"
    try:
        return _validated(json.loads(raw)), None
    except (ValueError, TypeError) as exc:
        return Prefs(), f"ignoring corrupt {path} ({exc}); using defaults"


def save(prefs: Prefs, path: Path | None = None) -> str | None:
    """Write ``prefs`` atomically; a one-line problem when that fails, else None."""
    path = path or prefs_path()
    data = asdict(prefs)
    extra = data.pop("extra")
    data = {**extra, **data}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        return f"cannot save preferences to {path}: {exc.strerror or exc}"
    return None
