"""``x`` and ``K`` as the privileges really are: the app run as ``nobody``, as root without
CAP_NET_ADMIN, and as ``nobody`` holding CAP_NET_ADMIN alone (see tests/tui/act_driver.py)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator

import pytest

from tests.tui.act_driver import NOBODY, NOBODY_WITH_NET_ADMIN, WITHOUT_NET_ADMIN, run_as

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        not sys.platform.startswith("linux")
        or os.geteuid() != 0
        or shutil.which("setpriv") is None,
        reason="needs Linux, root (to drop privileges with setpriv) and setpriv",
    ),
]
NOT_PERMITTED = "not permitted: closing a socket needs CAP_NET_ADMIN (run as root)"


@pytest.fixture
def root_listener() -> Iterator[int]:
    """A loopback listener of root's (this test's): its port."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def test_k_on_an_owner_hidden_from_nobody_says_it_is_not_known(root_listener: int) -> None:
    """As nobody, root's listener has no PID because root's fd table is unreadable: K said
    "no owning process to terminate", as if the kernel alone held it."""
    got = run_as(NOBODY, root_listener, 0, "K")
    assert got["owner"] is None and got["owner_status"] == "needs-privilege"
    assert got["dialog"] is None
    assert got["toasts"] == [
        "its owner is not known: other users' processes are unreadable; "
        "needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"
    ]


def test_x_without_cap_net_admin_refuses_at_once_and_is_dimmed(root_listener: int) -> None:
    """As nobody the kernel refuses every close: x asked for confirmation, promised "The
    kernel closes the listener", then said "not permitted". Now the footer's Close is dimmed
    and x says why without a dialog; K stays on (one's own processes can be ended)."""
    got = run_as(NOBODY, root_listener, 0, "x")
    assert got["footer"] == {"x": ["Close", False], "K": ["Kill", True]}
    assert got["dialog"] is None
    assert got["toasts"] == [NOT_PERMITTED]
    # Help says so too, in the key's words (it listed x as if it worked).
    assert got["help"]["x"].endswith(f"Off here: {NOT_PERMITTED}"), got["help"]
    assert "Off here" not in got["help"]["K"], got["help"]


def test_root_without_cap_net_admin_is_refused_by_capability_not_by_uid(root_listener: int) -> None:
    """Root with CAP_NET_ADMIN dropped (a reduced container root): the capability counts, not
    the uid, and "run as root" would be no help; K still asks (it may end this test's peer)."""
    got = run_as(WITHOUT_NET_ADMIN, root_listener, 0, "x")
    assert got["footer"] == {"x": ["Close", False], "K": ["Kill", True]}
    assert got["dialog"] is None
    why = (
        "not permitted: closing a socket needs CAP_NET_ADMIN, which this root process lacks "
        "(dropped from its capabilities)"
    )
    assert got["toasts"] == [why]
    assert got["help"]["x"].endswith(f"Off here: {why}"), got["help"]
    got = run_as(WITHOUT_NET_ADMIN, root_listener, 0, "K")
    assert got["dialog"] is not None and got["dialog"].startswith(f"Terminate PID {os.getpid()}")


def test_nobody_holding_cap_net_admin_closes(root_listener: int) -> None:
    """CAP_NET_ADMIN as nobody's ambient capability (systemd's AmbientCapabilities): x is on,
    asks, and the kernel closes root's listener, as the dialog says."""
    got = run_as(NOBODY_WITH_NET_ADMIN, root_listener, 0, "x", "y")
    assert got["footer"] == {"x": ["Close", True], "K": ["Kill", True]}
    assert "Off here" not in got["help"]["x"], got["help"]
    assert "The kernel closes the listener" in got["dialog"]
    assert got["toasts"] == [f"closed 127.0.0.1:{root_listener} → 0.0.0.0:0"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", root_listener), timeout=5).close()
