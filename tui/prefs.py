"""View preferences that persist across runs: sort, filter, columns, theme, ghost TTL.

Stored as JSON in ``$XDG_CONFIG_HOME/tcpscope/prefs.json`` (``~/.config/tcpscope`` when the
variable is unset). A missing file means defaults. A corrupt, unreadable or unwritable file
never stops the app: load and save return a one-line problem for a notification instead.
A file that exists but could not be read (corrupt, too large, not UTF-8, not a regular file)
is never saved over: it may hold a theme and sort order the user wants back after fixing one
typo, so :func:`load_file` reports it as unreadable and the app then saves nothing this run.

The file is someone else's input when tcpscope runs as root with a user's environment, so:
it is read only if it is a regular file, not through a symlink, and only up to
:data:`MAX_PREFS_BYTES`; a malformed file gives defaults with one warning, and a single bad
value (NaN, a 200 MB filter, an unknown column) is dropped with one warning naming it. Saving
writes a temporary file in the same directory and renames it over the target, so a crash
leaves the old or the new file, and a symlink at the target is refused, never written through;
the folder is reached without following another user's symlink, at most the config folder and
``tcpscope/`` are made, and a folder or file of another user's is left alone
(:func:`core.safe_io.write_atomic`).
Every warning is made of escaped text (:func:`core.textsafe.printable`): the path comes from
``$XDG_CONFIG_HOME`` and the key names from the file, and either could carry an escape
sequence that retitles the terminal or a bidi control that reorders the line.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, NamedTuple

from core.commands import MAX_GHOST_TTL_S
from core.connections import MAX_QUERY_CHARS, SORT_COLUMNS
from core.safe_io import FileRefused, LinkRefused, NotOwned, read_capped, write_atomic
from core.textsafe import printable

DEFAULT_HIDDEN: Final = frozenset({"user"})
"""Table columns hidden until the user shows them (the table ignores keys it does not know,
so a preference file from another version never breaks it)."""
MAX_COLUMN_KEY = 32
"""Longest column key kept from a preference file."""
MAX_PREFS_BYTES: Final = 64 * 1024
"""Largest preferences file read (a real one is under 1 KiB)."""
MAX_THEME_CHARS: Final = 64
MAX_EXTRA_DEPTH: Final = 32
"""Deepest nesting kept in a key this version does not know (deeper is a bad value: copying
and saving it would recurse past Python's limit, and no tcpscope writes one)."""


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
    """``$XDG_CONFIG_HOME/tcpscope/prefs.json``; ``~/.config/...`` when the variable is unset,
    empty or relative (the XDG Base Directory spec says to ignore a relative path)."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "tcpscope" / "prefs.json"


def _shallow(value: object) -> bool:
    """True when ``value`` nests lists and objects at most :data:`MAX_EXTRA_DEPTH` deep
    (measured without recursion)."""
    level: list[object] = [value]
    for _ in range(MAX_EXTRA_DEPTH + 1):
        level = [
            item
            for v in level
            if isinstance(v, list | dict)
            for item in (v.values() if isinstance(v, dict) else v)
        ]
        if not level:
            return True
    return False


def _finite(value: object) -> bool:
    """True when ``value`` holds no NaN or infinity anywhere (it can be saved as JSON)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _fields(
    data: dict[str, Any], themes: Collection[str] | None
) -> tuple[dict[str, Any], list[str]]:
    """The valid known fields of ``data`` and the names of those dropped as bad (a theme not
    in ``themes``, when given, is bad: the app could not show it)."""
    good: dict[str, Any] = {}
    bad: list[str] = []

    def keep(name: str, ok: bool, value: Any) -> None:
        if name not in data:
            return
        if ok:
            good[name] = value
        else:
            bad.append(name)

    sort_column = data.get("sort_column")
    keep("sort_column", sort_column in SORT_COLUMNS, sort_column)
    reverse = data.get("sort_reverse")
    keep("sort_reverse", isinstance(reverse, bool), reverse)
    text = data.get("filter")
    keep("filter", isinstance(text, str) and len(text) <= MAX_QUERY_CHARS, text)
    hidden = data.get("hidden_columns")
    keep(
        "hidden_columns",
        isinstance(hidden, list)
        and all(isinstance(h, str) and 0 < len(h) <= MAX_COLUMN_KEY for h in hidden),
        tuple(hidden) if isinstance(hidden, list) else (),
    )
    theme = data.get("theme")
    keep(
        "theme",
        theme is None
        or (
            isinstance(theme, str)
            and len(theme) <= MAX_THEME_CHARS
            and (themes is None or theme in themes)
        ),
        theme,
    )
    ttl = data.get("ghost_ttl_s")
    ttl_ok = ttl is None or (
        isinstance(ttl, int | float)
        and not isinstance(ttl, bool)
        and math.isfinite(ttl)
        and 0 <= ttl <= MAX_GHOST_TTL_S
    )
    keep("ghost_ttl_s", ttl_ok, None if ttl is None or not ttl_ok else float(ttl))
    return good, bad


def _validated(data: object, themes: Collection[str] | None) -> tuple[Prefs, list[str]]:
    """Preferences from parsed JSON, and the names of values dropped as bad."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    known = {f for f in Prefs.__dataclass_fields__ if f != "extra"}
    good, bad = _fields(data, themes)
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key in known:
            continue
        if _shallow(value) and _finite(value):
            extra[key] = value
        else:
            bad.append(key)
    return Prefs(**good, extra=extra), bad


class Loaded(NamedTuple):
    """What :func:`load_file` found."""

    prefs: Prefs
    problem: str | None
    """A one-line warning for the user, or None."""
    unreadable: str | None
    """Why the file exists but could not be read (then it must not be saved over), or None;
    not yet escaped (:func:`not_saving` escapes it)."""


def _shown(path: Path) -> str:
    """``path`` as a warning shows it (escaped: it comes from the environment)."""
    return printable(str(path))


def load_file(path: Path | None = None, themes: Collection[str] | None = None) -> Loaded:
    """The saved preferences; defaults plus a problem and its reason when the file is bad.
    ``themes``: the theme names the app knows (another theme is a bad value); None: any."""
    path = path or prefs_path()
    shown = _shown(path)
    keep = "using defaults and not saving over it"
    try:
        raw = read_capped(path, MAX_PREFS_BYTES, follow_symlinks=False).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):  # nothing there to lose
        return Loaded(Prefs(), None, None)
    except FileRefused as exc:
        why = f"it {exc}"
        return Loaded(Prefs(), f"not reading {shown}: {printable(why)}; {keep}", why)
    except (OSError, UnicodeDecodeError) as exc:
        # strerror, not str(exc): that repeats the path, quoted
        why = getattr(exc, "strerror", None) or str(exc)
        return Loaded(Prefs(), f"cannot read {shown}: {printable(why)}; {keep}", why)
    try:
        prefs, bad = _validated(json.loads(raw), themes)
    except (ValueError, TypeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return Loaded(Prefs(), f"ignoring corrupt {shown} ({printable(why)}); {keep}", why)
    if bad:
        names = ", ".join(printable(name) for name in bad)
        problem = f"ignoring bad value{'s' * (len(bad) > 1)} in {shown}: {names}"
        return Loaded(prefs, problem, None)
    return Loaded(prefs, None, None)


def load(path: Path | None = None) -> tuple[Prefs, str | None]:
    """The saved preferences, or defaults plus a one-line problem when the file is bad."""
    loaded = load_file(path)
    return loaded.prefs, loaded.problem


def not_saving(path: Path, unreadable: str) -> str:
    """The one warning given when preferences are not saved over an unreadable file."""
    why = printable(unreadable)
    return f"not saving preferences: {_shown(path)} could not be read ({why}); fix or remove it"


def save(prefs: Prefs, path: Path | None = None) -> str | None:
    """Write ``prefs`` atomically; a one-line problem when that fails, else None."""
    path = path or prefs_path()
    data = {f.name: getattr(prefs, f.name) for f in fields(prefs) if f.name != "extra"}
    data = {**prefs.extra, **data}  # not asdict: it deep-copies ``extra`` by recursion
    try:
        text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
        # at most the config folder and tcpscope/ in it are made: never a missing home
        write_atomic(path, text.encode("utf-8"), make_parents=2)
    except NotOwned as exc:
        return f"preferences not saved: {printable(str(exc))}"
    except LinkRefused as exc:
        return f"not saving preferences to {_shown(path)}: {printable(str(exc))}"
    except FileRefused as exc:
        return f"not saving preferences to {_shown(path)}: it {printable(str(exc))}"
    except ValueError as exc:  # NaN or infinity: never written
        return f"not saving preferences: {printable(str(exc))}"
    except RecursionError:
        return "not saving preferences: a value is nested too deeply"
    except OSError as exc:
        return f"cannot save preferences to {_shown(path)}: {printable(exc.strerror or str(exc))}"
    return None
