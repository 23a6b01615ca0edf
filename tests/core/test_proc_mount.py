"""Reading a proc mount's hidepid from mountinfo, in the forms kernels write it.

The live kernel here writes words (``hidepid=invisible``, Linux 5.8+); older kernels wrote
numbers (``hidepid=2``), which cannot be produced on this kernel: a mountinfo file stands in,
in a directory whose device it names (tests/netns/test_hidepid.py mounts the real thing).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.connections.snapshot import Privilege
from core.connections.sources.proc_mount import hidepid


def fake_proc(tmp_path: Path, options: str, fstype: str = "proc") -> str:
    dev = os.stat(tmp_path).st_dev
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(
        "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        f"69 25 {os.major(dev)}:{os.minor(dev)} / {tmp_path} rw,nosuid - {fstype} proc "
        f"{options}\n"
    )
    return str(tmp_path)


@pytest.mark.parametrize(
    ("options", "level", "gid"),
    [
        ("rw,hidepid=2", 2, 0),
        ("rw,gid=27,hidepid=invisible", 2, 27),
        ("rw,hidepid=1", 1, 0),
        ("rw,hidepid=noaccess", 1, 0),
        ("rw,hidepid=ptraceable,subset=pid", 4, 0),
    ],
)
def test_each_form_of_hidepid_is_read(tmp_path: Path, options: str, level: int, gid: int) -> None:
    found = hidepid(fake_proc(tmp_path, options))
    assert found is not None and (found.level, found.gid) == (level, gid)
    assert found.option.startswith(f"hidepid={level} (")


@pytest.mark.parametrize(
    ("options", "fstype"),
    [
        ("rw", "proc"),
        ("rw,subset=pid", "proc"),
        ("rw,hidepid=off", "proc"),
        ("rw,hidepid=2", "tmpfs"),
    ],
)
def test_what_hides_nothing_is_none(tmp_path: Path, options: str, fstype: str) -> None:
    assert hidepid(fake_proc(tmp_path, options, fstype)) is None


def test_the_hosts_proc_is_read_without_error() -> None:
    hidepid("/proc")  # (whatever it is mounted with)
    assert hidepid("/nonexistent") is None


@pytest.mark.parametrize("options", ["rw,gid=27,hidepid=invisible", "rw,hidepid=ptraceable"])
def test_the_short_reason_keeps_the_mount_of_the_whole_note(tmp_path: Path, options: str) -> None:
    """The detail pane's Process line, K's refusal and close's label say the note short (its
    five lines at 80 columns are the owner section's): the mount and that root sees them."""
    found = hidepid(fake_proc(tmp_path, options))
    assert found is not None
    privilege = Privilege((found.reason(),))
    assert privilege.hidepid is not None and "CAP_DAC_READ_SEARCH" in privilege.hidepid
    assert privilege.hidepid_short == (
        f"{tmp_path} is mounted with {found.option}, which hides other users' processes; "
        "root sees them"
    )
    assert Privilege().hidepid_short is None
