"""The command line, run for real in subprocesses: JSON shape, bad input, privilege, imports."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.seed import require_seed
from tests.integration.sockets import WITHOUT_PTRACE, listener_held_by_nobody

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PRINT_UI_MODULES = (
    "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'humanize')))"
)


def tcpscope(
    *args: str, user: str | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tcpscope ARGS`` (or python ``code``) in a fresh interpreter, maybe as ``nobody``."""
    argv = [PY, "-c", code] if code else [PY, "-m", "tui", *args]
    if user:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd="/")


def test_json_keys_are_exactly_the_seed_properties() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        # --netns current: another namespace may have a socket on the same port number.
        result = tcpscope("connections", "--json", "--local-port", str(port), "--netns", "current")
    assert result.returncode == 0, result.stderr
    (doc,) = json.loads(result.stdout)
    expected = set(require_seed().properties)
    assert len(expected) == 32
    assert set(doc) == expected | {"tcpscope"}
    assert doc["State"] == 2  # Listen, as the integer of the seed
    assert doc["LocalPort"] == port and doc["LocalAddress"] == "127.0.0.1"
    assert doc["OwningProcess"] is not None
    assert doc["EnabledDefault"] == 2 and doc["RequestedState"] == 5
    assert doc["TransitioningToState"] == 12 and doc["Directionality"] == 2
    assert doc["InstanceID"].startswith("tcpscope:")
    assert doc["CreationTime"].endswith("Z")
    assert doc["AppliedSetting"] is None
    assert "AppliedSetting" in doc["tcpscope"]["not_reported"]
    assert doc["tcpscope"]["process"]["pid"] == doc["OwningProcess"]


def test_csv_has_wmi_header_and_state_filter() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        listening = tcpscope("connections", "--csv", "--local-port", str(port), "--state", "listen")
        established = tcpscope(
            "connections", "--csv", "--local-port", str(port), "--state", "Established"
        )
    header, row, *rest = listening.stdout.splitlines()
    assert header.split(",")[:3] == ["Caption", "Description", "ElementName"]
    assert not rest and f",{port}," in row
    assert established.returncode == 0 and len(established.stdout.splitlines()) == 1


@pytest.mark.parametrize("netns", ["current", "all"])
def test_every_row_has_its_namespace_key_and_column(netns: str) -> None:
    """README: ``tcpscope.namespace`` is in every row. Under ``--netns current`` no namespace
    is looked up: it is null, and the row's ``not_reported`` says why (as for any value not
    reported); CSV keeps its ``Namespace`` column, empty, so its columns never depend on
    ``--netns``."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = str(listener.getsockname()[1])
        as_json = tcpscope("--netns", netns, "connections", "--json", "--local-port", port)
        as_csv = tcpscope("--netns", netns, "connections", "--csv", "--local-port", port)
    assert as_json.returncode == 0 and as_csv.returncode == 0, as_json.stderr + as_csv.stderr
    rows = json.loads(as_json.stdout)  # (another namespace may have a socket on that port)
    [row] = [r for r in rows if (r["tcpscope"].get("namespace") or {"current": 1})["current"]]
    extra = row["tcpscope"]
    assert "namespace" in extra
    header, *lines = as_csv.stdout.splitlines()
    assert header.split(",")[-1] == "Namespace"
    if netns == "current":
        assert extra["namespace"] is None
        assert "--netns current" in extra["not_reported"]["namespace"]
        assert all(line.endswith(",") for line in lines)
    else:
        assert extra["namespace"]["current"] is True
        assert "namespace" not in extra["not_reported"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("connections", "--state", "Bogus"), "unknown State 'Bogus'"),
        (("connections", "--local-port", "70000"), "port out of range"),
        (("connections", "--remote-address", "not-an-ip"), "not an IP address"),
        (("--interval", "-1"), "interval must be between"),
        (("--interval", "abc"), "not a number"),
        (("explain", "MSFT_NetTCPConnection.Foo"), "Foo"),
        (("explain", "MSFT_NetTCPConnection.State", "99"), "99"),
        (("connections", "--source", "wmi"), "invalid choice"),
        (("--bogus-flag",), "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = tcpscope(*args)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("--no-ipsec",), ("--demo",)])
def test_the_live_view_without_a_terminal_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    """Cron, ``< /dev/null`` or ``2> file``: Textual would draw into a file and wait for keys
    forever; tcpscope says what to use instead, without a byte of screen drawing."""
    result = tcpscope(*args)  # stderr is a pipe here (stdin maybe not a terminal either)
    assert result.returncode == 2, result
    assert result.stderr.splitlines() == [
        "tcpscope: the live view needs a terminal (on stdin and stderr); for output to a file or "
        "a pipe use `tcpscope connections` (one sample) or `tcpscope record FILE` (a stream of "
        "samples)"
    ]
    assert "\x1b" not in result.stdout + result.stderr


def test_bad_input_is_reported_before_the_missing_terminal(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a recording\n")
    result = tcpscope("--replay", str(bad))
    assert result.returncode == 2
    assert "not a tcpscope recording" in result.stderr and "terminal" not in result.stderr


def test_headless_commands_do_not_import_textual() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['connections', '--json']) == 0\n"
        "    assert main(['explain', 'MSFT_NetTCPConnection.State']) == 0\n"
        f"{PRINT_UI_MODULES}\n"
    )
    result = tcpscope(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unfiltered_oneshot_loads_no_filter_language() -> None:
    """The filter notes imported the query language (and filter_misses) on every run,
    filters or none: ~7 ms of a one-shot's critical path for nothing. A filter still gets
    its note."""
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['connections', '--netns', 'current', '--local-port', '1']) == 0\n"
        "print(sorted(m for m in sys.modules if m.rsplit('.', 1)[-1] in\n"
        "             ('query', 'filter_misses')))\n"
    )
    result = tcpscope(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    asked = tcpscope("connections", "--netns", "current", "--filter", "state:deletetcb")
    assert asked.returncode == 0, asked.stderr
    assert "--filter state:DeleteTCB matches no connection" in asked.stderr


def test_core_imports_without_textual() -> None:
    code = (
        "import sys, importlib, pkgutil, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"{PRINT_UI_MODULES}\n"
    )
    result = tcpscope(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_unprivileged_user_sees_own_sockets_and_is_told_about_others() -> None:
    """Owners as ``nobody``, in this namespace: every namespace (the default) would also read
    the other namespaces' /proc/PID/net/tcp, whose size is whatever else the host runs (a
    benchmark's 200k sockets there: 7 s instead of 0.4 s; larger loads on a busy host crossed the
    60 s timeout). That read has tests of its own (tests/netns/test_procnet.py)."""
    with socket.create_server(("127.0.0.1", 0)) as roots:
        root_port = roots.getsockname()[1]
        code = (
            "import json, os, socket, sys, contextlib, io\n"
            "from tui.cli import main\n"
            "mine = socket.create_server(('127.0.0.1', 0))\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    rc = main(['connections', '--json', '--netns', 'current'])\n"
            "print(json.dumps({'rc': rc, 'pid': os.getpid(), 'port': mine.getsockname()[1],"
            " 'rows': json.loads(out.getvalue())}))\n"
        )
        result = tcpscope(code=code, user="nobody")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rc"] == 0
    rows = {(r["LocalPort"], r["State"]): r for r in report["rows"]}
    own = rows[(report["port"], 2)]
    assert own["OwningProcess"] == report["pid"]
    other = rows[(root_port, 2)]
    assert other["OwningProcess"] is None
    reason = other["tcpscope"]["not_reported"]["OwningProcess"]
    assert "CAP_SYS_PTRACE" in reason or "root" in reason
    assert "note:" in result.stderr  # said once at start which cells need privilege


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
    reason="needs root (drops CAP_SYS_PTRACE) and a system python3 for user nobody",
)
def test_root_without_ptrace_says_owners_need_privilege() -> None:
    """Root without CAP_SYS_PTRACE (a default container's root) can list another user's
    /proc/PID/fd (CAP_DAC_OVERRIDE) but not read its links: that table counts as unreadable,
    so the owner is "needs-privilege" with the note, not "not-found" (no process holds it)."""
    with listener_held_by_nobody() as port:
        argv = [*WITHOUT_PTRACE, PY, "-m", "tui", "connections", "--json",
                "--local-port", str(port), "--netns", "current"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    (doc,) = json.loads(done.stdout)
    assert doc["OwningProcess"] is None
    assert doc["tcpscope"]["owner_status"] == "needs-privilege"
    assert "needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH" in done.stderr


def test_core_imports_where_netlink_does_not_exist() -> None:
    """macOS and Windows have no AF_NETLINK: no core module may need it at import time."""
    code = (
        "import socket, sys\n"
        "del socket.AF_NETLINK\n"
        "import importlib, pkgutil, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        "from core.connections.sources import get_source\n"
        "print(get_source('auto').name)\n"
    )
    result = tcpscope(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "psutil"


def test_help_says_which_network_namespaces_are_read() -> None:
    """The description matches the default (--netns all), not the pre-namespaces view."""
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    text = " ".join(out.stdout.split())
    assert "every network namespace on the host by default (--netns)" in text
    assert "all (default)" in text
    assert "not listed" not in text


def test_a_one_shot_run_as_the_script_ends_once_its_output_is_flushed() -> None:
    """``tcpscope connections`` ends its process right after its output is flushed, without
    the interpreter's teardown (an atexit handler does not run), the output whole; called
    from Python (``main([...])``) it returns like any function."""
    teardown = "import atexit, sys\natexit.register(lambda: print('teardown', file=sys.stderr))\n"
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = str(listener.getsockname()[1])
        # Only ours: another namespace's socket (tests run side by side) may have this port.
        words = ["connections", "--json", "--local-port", port, "--netns", "current"]
        words += ["--state", "Listen"]
        script = tcpscope(code=f"{teardown}from tui.cli import main\n"
                          f"sys.argv = ['tcpscope', *{words!r}]\nsys.exit(main())\n")  # fmt: skip
        called = tcpscope(code=f"{teardown}from tui.cli import main\n"
                          f"sys.exit(main({words!r}))\n")  # fmt: skip
    for result in (script, called):
        assert result.returncode == 0, result.stderr
        (row,) = json.loads(result.stdout)
        assert row["LocalPort"] == int(port)
    assert "teardown" not in script.stderr
    assert "teardown" in called.stderr


def test_a_bound_only_socket_is_named_bound_and_every_state_list_names_it() -> None:
    """State 100 (Bound, from a later edition of the class) was printed as "100" in the
    table, refused as ``--state 100``, and left out of the lists in error messages."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = str(bound.getsockname()[1])
        table = tcpscope("connections", "--local-port", port)
        by_number = tcpscope("connections", "--local-port", port, "--state", "100", "--csv")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[:2] == ["Bound", f"127.0.0.1:{port}"]
    assert by_number.returncode == 0 and len(by_number.stdout.splitlines()) == 2
    for args in (("connections", "--state", "Bogus"), ("connections", "--filter", "state:zz")):
        result = tcpscope(*args)
        assert result.returncode == 2 and "DeleteTCB, Bound" in result.stderr, result.stderr


def test_python_dash_m_tui_cli_runs_the_command_line() -> None:
    """``python -m tui.cli --help`` printed nothing and exited 0: the module had no main."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [PY, "-m", "tui.cli", "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: tcpscope"), done


WITHOUT_TEXTUAL = """
import sys
sys.modules["textual"] = None  # this Python cannot import it, as a bare system Python
from tui.cli import main
sys.exit(main(["--netns", "current"]))
"""


def test_a_python_without_textual_gets_one_line_not_a_traceback() -> None:
    """Run by a Python that lacks Textual (the system one, not the install's), the app
    ended in a ModuleNotFoundError traceback; the one-shots work there (they need less)."""
    primary, secondary = os.openpty()  # the app starts only on a terminal
    try:
        done = subprocess.run(
            [PY, "-c", WITHOUT_TEXTUAL], stdin=secondary, stdout=subprocess.PIPE,
            stderr=secondary, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/",
        )  # fmt: skip
        os.close(secondary)
        secondary = -1
        said = b""
        with contextlib.suppress(OSError):  # EIO once the last writer is gone
            while chunk := os.read(primary, 4096):
                said += chunk
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    lines = said.decode().strip().splitlines()
    assert done.returncode == 1, said
    assert lines == [
        f"tcpscope: {PY} cannot import 'textual', which this needs; install tcpscope with its "
        "dependencies (pip install .) and run that install's tcpscope"
    ], said


def test_a_bad_address_filter_is_refused_like_every_other_option() -> None:
    """``--local-address 300.1.1.1`` said ``tcpscope: not an IP address: …`` after a whole
    sample, naming no option; now argparse's line for the option, before anything is read."""
    for command, option in (("connections", "--local-address"), ("close", "--remote-address")):
        done = tcpscope(command, option, "300.1.1.1")
        assert done.returncode == 2, done
        assert done.stderr == (
            f"tcpscope {command}: error: argument {option}: not an IP address: '300.1.1.1'\n"
        )
    done = tcpscope("connections", "--local-address", "\x1b]0;t\x07")
    assert done.returncode == 2 and "'\\x1b]0;t\\x07'" in done.stderr, done
