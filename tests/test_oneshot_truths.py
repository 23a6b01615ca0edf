"""What ``tcpscope connections`` says about its own values is true for the run it describes:
CreationTime's reason and bound (JSON and CSV), InstanceID's rule per source, a filter on a
value the source never gives, and the privilege that finds other users' socket owners.

Real sockets and real runs (subprocesses, ``setpriv`` for the capabilities); the JSON reason
cache is checked over records built the sampler's way.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.connections.model import OwnerStatus, TcpConnection, TcpState
from core.connections.property_rules import cell_rule
from core.connections.records import LINUX_DEFAULTS, new_connection
from core.connections.report import write_json
from core.connections.report.json_docs import connection_doc
from core.connections.snapshot import ConnectionDiff, Snapshot
from tests.test_cli import tcpscope

ROOT = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")
BEFORE_START = "observed: open before tcpscope's first sample"
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.fixture
def pair() -> Iterator[int]:
    """A loopback listener and one connection to it: its port."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            server, _ = listener.accept()
            with server, client:
                yield port


def _rows(*args: str) -> list[dict[str, Any]]:
    done = tcpscope("connections", "--json", *args)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return rows


@pytest.mark.skipif(not LINUX, reason="the netns options are Linux's")
@pytest.mark.parametrize("args", [(), ("--netns", "current"), ("--source", "psutil")])
def test_a_one_shot_says_its_rows_were_open_before_its_sample(
    pair: int, args: tuple[str, ...]
) -> None:
    """Every row of a one-shot was open when its one dump ended: "open before tcpscope's first
    sample", never the text of a --remote session that reconnected (the start was read
    before the dump, so every row's CreationTime came after it)."""
    rows = _rows("--local-port", str(pair), "--local-address", "127.0.0.1", *args)
    assert len(rows) == 2  # the listener and the accepted end
    for row in rows:
        extra = row["tcpscope"]
        assert extra["derived"]["CreationTime"].startswith(BEFORE_START), extra["derived"]
        assert extra["creation_time_bound"] == "before start"


def _conn(port: int, created: datetime) -> TcpConnection:
    return new_connection(
        family=2, local_address="127.0.0.1", local_port=port, remote_address="127.0.0.1",
        remote_port=40000, state=TcpState.ESTABLISHED, owning_process=None,
        owner_status=OwnerStatus.NO_OWNER, first_seen=created, created_before_start=True,
        defaults=LINUX_DEFAULTS, inode=1000 + port, uid=0,
    )  # fmt: skip


@pytest.mark.parametrize("reconnected_first", [False, True])
def test_json_reasons_tell_a_reconnection_from_the_start(reconnected_first: bool) -> None:
    """Rows alike but for when they were first seen (at the start; at a --remote session
    that began later) get their own CreationTime reason from the reason cache and from the
    streamed writer's templates, whichever comes first."""
    start = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    at_start, at_reconnect = _conn(1, start), _conn(2, start + timedelta(seconds=30))
    conns = [at_reconnect, at_start] if reconnected_first else [at_start, at_reconnect]
    snap = Snapshot(
        seq=9, time=start + timedelta(seconds=30), started_at=start, source="netlink",
        interval_s=1.0, connections={c.instance_id: c for c in conns}, diff=ConnectionDiff(),
    )  # fmt: skip
    out = io.BytesIO()
    write_json(conns, snap, out)
    streamed = json.loads(out.getvalue())
    for conn, doc in zip(conns, streamed, strict=True):
        want = "observed: " + cell_rule(conn, "CreationTime", "netlink", start).text
        assert doc["tcpscope"]["derived"]["CreationTime"] == want
        extra: Any = connection_doc(conn, snap)["tcpscope"]
        assert extra["derived"]["CreationTime"] == want
    reasons = {d["tcpscope"]["derived"]["CreationTime"] for d in streamed}
    assert len(reasons) == 2 and any(BEFORE_START in r for r in reasons)


@pytest.mark.skipif(not LINUX, reason="the netns options are Linux's")
def test_csv_says_what_creation_time_bounds(pair: int) -> None:
    """JSON's creation_time_bound as a column among tcpscope's own, after the WMI ones."""
    done = tcpscope("connections", "--csv", "--local-port", str(pair), "--local-address",
                    "127.0.0.1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    header, *rows = list(csv.reader(io.StringIO(done.stdout)))
    at = header.index("CreationTimeBound")
    assert header[at - 1] == "OwnerStatus"
    assert header.index("OffloadState") < header.index("ProcessName") < at  # WMI ones first
    assert header[-1] == "Namespace"  # (every namespace was read: the column stays last)
    assert len(rows) == 2 and {row[at] for row in rows} == {"before start"}


@pytest.mark.skipif(not LINUX, reason="AppliedSetting and OffloadState as Linux gives them")
def test_a_filter_on_a_value_never_given_says_so(pair: int) -> None:
    """An empty table alone read as "no such connection now": a note says the source never
    gives the value; the run still succeeds (its answer is "none"), as before."""
    cases = {
        ("--applied-setting", "Internet"): "AppliedSetting is not reported by the netlink source",
        ("--offload-state", "Offloaded"): "OffloadState is derived by the netlink source",
        ("--source", "psutil", "--offload-state", "InHost"): (
            "OffloadState is not reported by the psutil source"
        ),
    }
    for args, why in cases.items():
        done = tcpscope("connections", "--netns", "current", *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["State  Local  Remote  PID  Process"]
        notes = [x for x in done.stderr.splitlines() if "matches no connection" in x]
        assert len(notes) == 1, done.stderr
        assert notes[0].startswith(f"tcpscope: note: {' '.join(args[-2:])} matches no "
                                   f"connection: {why} ("), notes  # fmt: skip
    # A value the source does give: its rows, and no note.
    done = tcpscope("connections", "--netns", "current", "--offload-state", "InHost",
                    "--local-port", str(pair))  # fmt: skip
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 3
    assert "matches no connection" not in done.stderr
    # close takes the same filters and says the same before "nothing closed".
    done = tcpscope("close", "--applied-setting", "Internet", "--yes")
    assert "tcpscope: note: --applied-setting Internet matches no connection" in done.stderr
    assert "nothing closed" in done.stderr


@pytest.mark.skipif(not LINUX, reason="DeleteTCB as Linux (never) gives it")
def test_a_state_linux_never_gives_says_so(pair: int) -> None:
    """``--state 12`` printed an empty table and nothing else, though ``explain`` says Linux
    never reports DeleteTCB: the note says so, by name or number, for either source."""
    for args in (
        ("--state", "12"),
        ("--state", "DeleteTCB"),
        ("--source", "psutil", "--state", "DeleteTCB"),
    ):
        done = tcpscope("connections", "--netns", "current", *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["State  Local  Remote  PID  Process"]
        assert done.stderr.splitlines() == [
            "tcpscope: note: --state DeleteTCB matches no connection: Linux never reports "
            "this State: the kernel frees a connection's TCB without a visible state, so "
            "tcpscope never shows it."
        ], done.stderr
    # With a state Linux does give, beside it: the rows, and the note still.
    both = ("--state", "DeleteTCB", "--state", "Listen")
    done = tcpscope("connections", "--netns", "current", *both, "--local-port", str(pair))
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 2, done.stdout
    assert "--state DeleteTCB matches no connection" in done.stderr
    done = tcpscope("connections", "--netns", "current", "--state", "Listen")
    assert "matches no connection" not in done.stderr
    # The filter's word asks the same question: the same answer.
    for word in ("state:deletetcb", "state:12", "-port:1 state:DeleteTCB,listen"):
        done = tcpscope("connections", "--netns", "current", "--filter", word)
        assert done.returncode == 0, done.stderr
        assert "tcpscope: note: --filter state:DeleteTCB matches no connection: Linux never " \
            "reports this State" in done.stderr, (word, done.stderr)  # fmt: skip
    done = tcpscope("connections", "--netns", "current", "--filter", "-state:deletetcb")
    assert "matches no connection" not in done.stderr


@pytest.mark.skipif(not LINUX, reason="PID 0 as Linux (never) gives it")
def test_pid_0_says_linux_gives_ownerless_sockets_no_pid(pair: int) -> None:
    """``--owning-process 0`` (and ``pid:0``) printed an empty table and nothing else: on
    Windows PID 0 lists the kernel's sockets (TimeWait...), so it is tried here too. The note
    says Linux shows them with no PID, and that no filter selects them by owner."""
    for args in (
        ("--owning-process", "0"),
        ("--source", "psutil", "--owning-process", "0"),
        ("--filter", "pid:0"),
    ):
        done = tcpscope("connections", "--netns", "current", *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["State  Local  Remote  PID  Process"]
        (note,) = done.stderr.splitlines()
        asked = "--filter pid:0" if "--filter" in args else "--owning-process 0"
        assert note.startswith(f"tcpscope: note: {asked} matches no connection: Linux "), note
        assert "no PID" in note and "Windows" in note, note
        assert "(--state TimeWait lists the TimeWait ones)" in note, note  # the flag
    # A PID among others, a range or a negation: other rows may match, nothing to say.
    for word in ("pid:0,1", "-pid:0", "pid:0-99999999"):
        done = tcpscope("connections", "--netns", "current", "--filter", word)
        said = "matches no connection" in done.stderr
        assert said == (word == "pid:0,1"), (word, done.stderr)
    done = tcpscope("connections", "--netns", "current", "--owning-process", str(os.getpid()))
    assert "matches no connection" not in done.stderr


@pytest.mark.skipif(not LINUX, reason="the netns options are Linux's")
def test_instance_id_rule_is_the_sources(pair: int) -> None:
    """psutil gives no inode: its listener's InstanceID has none, and its rule says so."""
    port = ("--local-port", str(pair), "--local-address", "127.0.0.1", "--state", "Listen")
    (netlink,) = _rows("--netns", "current", *port)
    (psutil,) = _rows("--netns", "current", "--source", "psutil", *port)
    assert "#" in str(netlink["InstanceID"])
    assert "inode when unconnected" in netlink["tcpscope"]["derived"]["InstanceID"]
    assert "#" not in str(psutil["InstanceID"])
    rule = psutil["tcpscope"]["derived"]["InstanceID"]
    assert "inode when" not in rule and "psutil gives no inode" in rule


def _as_nobody_with(caps: str, port: int) -> tuple[dict[str, Any], str]:
    argv = [*NOBODY, f"--inh-caps={caps}", f"--ambient-caps={caps}", sys.executable, "-m",
            "tui", "connections", "--json", "--netns", "current", "--local-port", str(port),
            "--local-address", "127.0.0.1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    return row, done.stderr


@pytest.mark.root
@pytest.mark.skipif(not LINUX or os.geteuid() != 0, reason="needs root (setpriv to nobody)")
def test_the_privilege_named_for_owners_is_what_finds_them() -> None:
    """With CAP_SYS_PTRACE alone (what the reason used to name) a root listener's owner stays
    unknown; the reason and the note name what does find it, and that does."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        row, stderr = _as_nobody_with("+sys_ptrace", port)
        found, _ = _as_nobody_with("+sys_ptrace,+dac_read_search", port)
    extra = row["tcpscope"]
    assert extra["owner_status"] == "needs-privilege"
    needs = "needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"
    assert needs in extra["not_reported"]["OwningProcess"]
    assert needs in stderr and "root, or" not in stderr
    assert found["OwningProcess"] == os.getpid()
