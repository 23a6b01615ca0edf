"""glibc malloc's settings for the app (core.allocator), checked on the real C library."""

from __future__ import annotations

import ctypes
import platform

import pytest

from core import allocator


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _mapped_blocks() -> int:
    info = ctypes.CDLL(None).mallinfo2
    info.restype = _MallInfo2
    return int(info().hblks)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_a_table_sized_block_gets_a_mapping_of_its_own_and_goes_back_when_freed() -> None:
    assert allocator.tune()
    # With glibc's defaults, freeing a mapped block raises the threshold to its size (up to
    # 32 MiB): a table rebuilt after a bigger one was freed would land on the heap, and stay.
    del_me = ctypes.create_string_buffer(16 * allocator.MMAP_THRESHOLD)
    del del_me
    before = _mapped_blocks()
    block = ctypes.create_string_buffer(2 * allocator.MMAP_THRESHOLD)
    assert _mapped_blocks() == before + 1
    del block
    assert _mapped_blocks() == before
