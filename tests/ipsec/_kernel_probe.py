"""Runs KernelProvider once in the current netns and prints the reading as JSON.

Why: kernel tests need the provider inside a namespace the test created, or as another user
(``setpriv``); a child process is the honest way to get there.
"""

from __future__ import annotations

import json
import sys

from core.ipsec.providers.kernel import KernelProvider


def main() -> int:
    """Print values, reasons, native counters and native reasons."""
    provider = KernelProvider()
    try:
        r = provider.read()
    finally:
        provider.close()
    json.dump(
        {
            "active": r.stats.active,
            "values": {k: c.value for k, c in r.readings.items()},
            "reasons": {k: c.reason for k, c in r.readings.items()},
            "native": r.native,
            "native_reasons": r.native_reasons,
            "error": r.error,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
