"""glibc malloc's settings for the app (core.allocator), checked on the real C library."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
from core import allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

info = ctypes.CDLL(None).mallinfo2
info.restype = MallInfo2
if sys.argv[1] == "tune":
    assert allocator.tune()
# With glibc's defaults, freeing a mapped block raises the threshold to its size (up to
# 32 MiB): a table rebuilt after a bigger one was freed lands on the heap, and stays.
bigger = ctypes.create_string_buffer(16 * allocator.MMAP_THRESHOLD)
del bigger
before = info().hblks
block = ctypes.create_string_buffer(2 * allocator.MMAP_THRESHOLD)
during = info().hblks
del block
print(during - before, info().hblks - before)
"""


def _mapped_blocks(mode: str) -> str:
    """Mapped blocks added by a table-sized block, and left once it is freed (in a fresh
    process: a heap with large free chunks would serve the block without a mapping)."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return run.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_a_table_sized_block_gets_a_mapping_of_its_own_and_goes_back_when_freed() -> None:
    assert _mapped_blocks("defaults") == "0 0"
    assert _mapped_blocks("tune") == "1 0"


GIVE_BACK = """
import ctypes, os, sys
from core import allocator

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
page = os.sysconf("SC_PAGE_SIZE")

def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

# 32 MiB of 16 KiB blocks (below any mmap threshold: on the heap), touched, then a block
# that stays above them: freeing them leaves free memory below the heap's top.
blocks = [libc.malloc(16384) for _ in range(2048)]
for b in blocks:
    ctypes.memset(b, 1, 16384)
pin = libc.malloc(64)
for b in blocks:
    libc.free(b)
before = rss()
if sys.argv[1] == "give_back":
    allocator.give_back()
print((before - rss()) // (1024 * 1024))
"""


def _returned_mib(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", GIVE_BACK, mode], capture_output=True, text=True, check=True
    )
    return int(run.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_free_memory_below_the_heaps_top_goes_back_to_the_kernel() -> None:
    assert _returned_mib("keep") == 0
    assert _returned_mib("give_back") >= 24
