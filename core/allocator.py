"""The C allocator's settings for a long-running process holding large tables (glibc only).

Why: the app keeps one large heap (about 1 KB per socket) and rebuilds big dicts and lists
every sample, from worker threads. glibc's defaults suit short programs: each thread that
mallocs gets an arena of its own (memory freed in one is never reused by another), the
threshold for giving large blocks their own mapping rises after each such block is freed (so
later tables land on the heap and stay there), and free memory is returned to the kernel only
from the top of the heap. Measured at 50k sockets, these settings take 7–10 MiB off the app's
RSS (``bench/bench_memory.py``, ``bench/bench_tui_tmux.py``). Other C libraries: no change.

What the heap frees below its top (each sample's reply buffers and rebuilt maps, among
blocks that live on) glibc keeps: :func:`give_back` returns those pages after each sample
(about 3 MiB of the app's RSS at 50k, measured from outside; 0.3 ms a call).
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


def give_back() -> None:
    """Return the pages of the C heap's free blocks to the kernel (``malloc_trim``): they are
    mapped in again only when used. Runs without the interpreter lock (a ctypes call)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


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
