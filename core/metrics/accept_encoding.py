"""Whether a scrape's ``Accept-Encoding`` accepts gzip, weighed as RFC 9110 12.5.3 says.

Why not prometheus_client's ``gzip_accepted``: it looks for "gzip" anywhere in the header, so
``gzip;q=0`` (the client refuses gzip) got gzip. Here each coding's weight counts: q=0 refuses
it, ``*`` stands for every coding the header does not name, ``x-gzip`` is gzip, and gzip is
chosen only when it weighs at least as much as ``identity`` (no coding).
"""

from __future__ import annotations

import re
from typing import Final

_WEIGHT: Final = re.compile(r"q=(0(\.\d{0,3})?|1(\.0{0,3})?)", re.IGNORECASE)
"""RFC 9110 12.4.2: a weight is 0 to 1 with at most three decimals."""
_GZIP: Final = ("gzip", "x-gzip")


def _weights(header: str) -> dict[str, float]:
    """Each named coding (lower case) and its weight; an entry with a malformed weight is
    left out (it asks for nothing tcpscope could honour)."""
    weights: dict[str, float] = {}
    for entry in header.split(","):
        coding, *params = (part.strip() for part in entry.split(";"))
        if not coding:
            continue
        weight = 1.0
        for param in params:
            if param[:2].lower() != "q=":
                continue  # no other parameter is defined for codings
            found = _WEIGHT.fullmatch(param)
            weight = float(found.group(1)) if found else -1.0
        if weight >= 0:
            weights[coding.lower()] = weight
    return weights


def gzip_wanted(header: str | None) -> bool:
    """True when the answer should be gzipped for this ``Accept-Encoding`` (None: absent).

    An empty or absent header asks for no coding; identity not named (nor ``*``) is
    acceptable but not asked for, so any gzip weight above 0 wins over it.
    """
    if not header:
        return False
    weights = _weights(header)
    star = weights.get("*")
    named = [weights[c] for c in _GZIP if c in weights]
    gzip_q = max(named) if named else (star or 0.0)
    identity_q = weights.get("identity", star or 0.0)
    return gzip_q > 0 and gzip_q >= identity_q
