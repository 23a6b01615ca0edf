"""A minimal structural delta between two JSON values (used for the IPsec view).

Why: the IPsec view is a deep tree (providers → 21 counter rows → fields, SAs → children) in
which a few numbers move each sample. Storing only the changed leaves keeps a long recording
small without a special encoder per field. The format is private to recordings:

* ``{"v": X}`` — replace with X;
* ``{"i": {"3": D, ...}}`` — same-length list, element 3 changes by delta D;
* ``{"d": {"k": D, ...}, "x": ["gone", ...]}`` — object, key k changes (or appears), keys removed.

An unchanged value has no delta (``None``).
"""

from __future__ import annotations

from typing import Any

from core.recording.codec import DecodeError
from core.textsafe import is_digits


def delta(old: Any, new: Any) -> dict[str, Any] | None:
    """The delta turning ``old`` into ``new``; None when they are equal."""
    if type(old) is type(new) and old == new:
        return None
    if type(old) is list and type(new) is list and len(old) == len(new):
        changes = {}
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            d = delta(a, b)
            if d is not None:
                changes[str(i)] = d
        return {"i": changes}
    if type(old) is dict and type(new) is dict:
        keyed = {}
        for key, value in new.items():
            if key not in old:
                keyed[key] = {"v": value}
            elif (d := delta(old[key], value)) is not None:
                keyed[key] = d
        out: dict[str, Any] = {"d": keyed}
        gone = [k for k in old if k not in new]
        if gone:
            out["x"] = gone
        return out
    return {"v": new}


def apply(old: Any, change: Any) -> Any:
    """``old`` with ``change`` applied (raises DecodeError when they do not fit)."""
    if type(change) is not dict:
        raise DecodeError("malformed delta: not an object")
    if "v" in change:
        return change["v"]
    if "i" in change:
        items = change["i"]
        if type(old) is not list or type(items) is not dict:
            raise DecodeError("malformed delta: list change on a non-list")
        out = list(old)
        for key, sub in items.items():
            if not is_digits(key) or int(key) >= len(out):
                raise DecodeError(f"malformed delta: list index {key!r} out of range")
            out[int(key)] = apply(out[int(key)], sub)
        return out
    if "d" in change:
        keyed, gone = change["d"], change.get("x", [])
        if type(old) is not dict or type(keyed) is not dict or type(gone) is not list:
            raise DecodeError("malformed delta: object change on a non-object")
        result = {k: v for k, v in old.items() if k not in gone}
        for key, sub in keyed.items():
            result[key] = apply(old.get(key), sub) if key in old else _value_of(sub)
        return result
    raise DecodeError("malformed delta: unknown kind")


def _value_of(change: Any) -> Any:
    if type(change) is not dict or "v" not in change:
        raise DecodeError("malformed delta: new key without a value")
    return change["v"]
