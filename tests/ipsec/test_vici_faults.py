"""Who may use a VICI socket, as the permission message says it: from its mode's write bits."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("mode", "advice"),
    [
        (0o700, ": run as root"),
        (0o770, ": run as root or as a member of group root"),
        (0o750, ": run as root"),
    ],
)
def test_who_may_use_a_socket_follows_its_write_bits(
    tmp_path: Path, mode: int, advice: str
) -> None:
    """Connecting to a UNIX socket needs write permission on it: a group without it was
    told to join (mode 0700 said "or as a member of group root")."""
    from core.ipsec.providers._vici import describe_error

    path = tmp_path / "charon.vici"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        path.chmod(mode)
        _, reason = describe_error(PermissionError(13, "Permission denied"), str(path))
    assert reason.endswith(f"mode {mode:04o}){advice}"), reason
