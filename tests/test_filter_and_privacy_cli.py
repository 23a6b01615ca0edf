"""``--filter EXPR`` on the command line, ``record FILE --redact``, and whose host the header
names: all run for real (subprocesses, real loopback sockets, a real recording file)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.commands.host_label import display_host
from core.demo import DemoFeed
from core.demo.scenario import HOST_NAME
from core.recording.redact import RedactingFeed
from core.recording.replay import open_replay
from tests.test_cli import tcpscope


def test_connections_filter_composes_on_real_sockets() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            with accepted:
                cport = client.getsockname()[1]
                mine = f"pid:{os.getpid()}"  # other processes may use the same port numbers
                both = tcpscope("connections", "--csv", "--filter", f"{mine} port:{port},{cport}")
                only = tcpscope("connections", "--csv", "--filter", f"lport:{port} -state:listen")
                # A negated first word is the filter's value, not an option (argparse took
                # "-state:listen" for one: "expected one argument").
                first = tcpscope("connections", "--csv", "--filter", f"-state:listen lport:{port}")
                # Two --filter options AND (the second replaced the first: every socket
                # not listening, on any port).
                twice = tcpscope(
                    "connections", "--csv", "--filter", f"lport:{port}", "--filter", "-state:listen"
                )
                cidr = tcpscope(
                    "connections",
                    "--csv",
                    "--filter",
                    f"{mine} raddr:127.0.0.0/8 rport:{port}-{port}",
                )
    rows = both.stdout.splitlines()[1:]
    assert both.returncode == 0 and len(rows) == 3  # listener, accepted end, client end
    (accepted_row,) = only.stdout.splitlines()[1:]
    assert first.returncode == 0, first.stderr
    (first_row,) = first.stdout.splitlines()[1:]
    assert twice.returncode == 0, twice.stderr
    (twice_row,) = twice.stdout.splitlines()[1:]
    assert f",{port},127.0.0.1,{cport}," in twice_row
    assert f",{port},127.0.0.1,{cport}," in first_row
    assert f",{port},127.0.0.1,{cport}," in accepted_row
    (client_row,) = cidr.stdout.splitlines()[1:]
    assert f",{cport},127.0.0.1,{port}," in client_row


def test_state_by_number_or_name_is_the_same_in_state_and_filter() -> None:
    """``connections --state 2`` was accepted and ``--filter state:2`` refused: a number from
    WMI output works in both now, as the class's names do (in any case)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        mine = f"pid:{os.getpid()} lport:{port}"
        ways = [
            ("--state", "2", "--filter", mine),
            ("--state", "LISTEN", "--filter", mine),
            ("--filter", f"state:2 {mine}"),
            ("--filter", f"state:listen {mine}"),
        ]
        results = [tcpscope("connections", "--json", *way) for way in ways]
        established = tcpscope("connections", "--json", "--filter", f"state:5 {mine}")
    found = []
    for way, result in zip(ways, results, strict=True):
        assert result.returncode == 0, (way, result.stderr)
        found.append([(r["InstanceID"], r["State"]) for r in json.loads(result.stdout)])
    assert len(found[0]) == 1 and found[0][0][1] == 2
    assert all(f == found[0] for f in found), found
    assert established.returncode == 0 and json.loads(established.stdout) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("connections", "--filter", "state:99"), "is no State value"),
        (("connections", "--filter", "state:\u0665"), "matches no State"),
        (("connections", "--state", "\u0665"), "unknown State"),
        (("connections", "--state", "+2"), "unknown State"),
        (("explain", "State", "\u0665"), "not a whole number (digits 0-9)"),
        (("explain", "State", "\uff15"), "not a whole number (digits 0-9)"),
        (("explain", "State", "+5"), "not a whole number (digits 0-9)"),
        (("connections", "--filter", "port:9-1"), "runs backwards"),
        (("connections", "--filter", "addr:10.0.0.0/33"), "CIDR"),
        (("--filter", "colour:red"), "unknown field 'colour'"),
        (("connections", "--filter", "--json"), "expected one argument"),  # a forgotten value
        (("connections", "--filter", '""'), "--filter: an empty filter word"),  # not "negate"
        (("connections", "--filter", "port:22 ''"), "--filter: an empty filter word"),
    ],
)
def test_bad_filter_is_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = tcpscope(*args)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr


def test_record_takes_redact_after_the_file_and_replay_shows_the_recorded_host(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.tsr"
    result = tcpscope("--demo", "record", str(path), "--samples", "2", "--redact")
    assert result.returncode == 0, result.stderr
    replay = open_replay(path)
    header = replay.recording.header
    assert header.redacted and header.host != HOST_NAME and header.host.startswith("host-")
    assert display_host(replay) == header.host  # the recorded host (here already a pseudonym)
    assert display_host(replay) != socket.gethostname()


def test_header_host_is_local_only_when_live() -> None:
    demo = DemoFeed(1)
    assert display_host(demo) == HOST_NAME != socket.gethostname()
    redacted = display_host(RedactingFeed(DemoFeed(1)))
    assert redacted.startswith("host-") and redacted.endswith(".example")
    assert HOST_NAME not in redacted and socket.gethostname() not in redacted


def test_pid_finds_a_socket_held_by_a_child_too() -> None:
    """OwningProcess is the lowest holder; a forked server's child holds the same socket,
    and pid:CHILD found none of its sockets."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()"],
            stdin=subprocess.PIPE,
            pass_fds=(server.fileno(),),
        )
        try:
            done = tcpscope("connections", "--csv", "--filter", f"pid:{child.pid} lport:{port}")
        finally:
            child.kill()
            child.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    (row,) = done.stdout.splitlines()[1:]
    owner = min(os.getpid(), child.pid)  # the lowest holder (PIDs wrap: either may be)
    assert f",{port}," in row and f",{owner}," in row
