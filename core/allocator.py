"""The C allocator's settings for a long-running process holding large tables (glibc only).

Why: the app keeps one large heap (about 1 KB per socket) and rebuilds big dicts and lists
every sample, from worker threads. glibc's defaults suit short programs: each thread that
mallocs gets an arena of its own (memory freed in one is never reused by another), the
threshold for giving large blocks their own mapping rises after each such block is freed (so
later tables land on the heap and stay there), and free memory is returned to the kernel only
from the top of the heap. Measured at 50k sockets, these settings take 7–10 MiB off the app's
RSS (``bench/bench_memory.py``, ``bench/bench_tui_tmux.py``). Other C libraries: no change.
"""

from __future__ import annotations

import ctypes
from typing import Final

M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3
M_ARENA_MAX: Final = -8
"""``mallopt`` parameter numbers (glibc ``malloc.h``)."""

MMAP_THRESHOLD: Final = 256 * 1024
"""Blocks this large get a mapping of their own, given back to the kernel when freed (a
50k-entry dict's table is about 3 MiB). Fixed: setting it stops glibc from raising it."""
TRIM_THRESHOLD: Final = 1024 * 1024
"""Free memory at the heap's top above this goes back to the kernel at once."""
ARENA_MAX: Final = 2
"""Arenas shared by all threads: the sampler's worker threads reuse each other's free memory."""


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018 - glibc has it; musl and macOS do not
    except (OSError, AttributeError):
        return None
    return libc


_LIBC: Final = _libc()


def tune() -> bool:
    """Apply the settings above (before the process allocates much); False if not glibc."""
    if _LIBC is None:
        return False
    ok = True
    for param, value in (
        (M_ARENA_MAX, ARENA_MAX),
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    ):
        ok = bool(_LIBC.mallopt(param, value)) and ok
    return ok
