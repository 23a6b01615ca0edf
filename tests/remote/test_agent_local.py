"""The agent under the system python3 (no tcpscope, no psutil), started without sshd.

``TCPSCOPE_SSH`` points at ``local_ssh.py``, which runs the remote command here; the SSH lab
tests (test_ssh_lab.py) do the same through a real sshd in a namespace. Here: what the zipapp
holds, that it runs on a bare interpreter, the output equals a local run's, each way of
failing gives one line naming the cause, and the agent ends with its stdin.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.remote.bundle import STAGE1, build_bundle
from core.remote.feed import RemoteFeed, stream_config
from core.remote.target import parse_target
from core.remote.wire import MessageReader
from tests.lab.ssh_lab import listen_in_namespace
from tests.replay.test_replay_tui import footer_words, help_text, laid_out_footer
from tui.app import TcpscopeApp
from tui.screens.help import HelpScreen

HERE = Path(__file__).resolve().parent
BARE_PYTHON = "/usr/bin/python3"
LOCAL_SSH = f"{sys.executable} {HERE / 'local_ssh.py'}"
TCPSCOPE = [sys.executable, "-m", "tui"]


def _bare_python_problem() -> str | None:
    if not os.access(BARE_PYTHON, os.X_OK):
        return f"no {BARE_PYTHON}"
    probe = subprocess.run(
        [BARE_PYTHON, "-I", "-c", "import sys, importlib.util as u; "
         "print(sys.version_info >= (3, 11), u.find_spec('psutil') is None)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if probe.stdout.split() != ["True", "True"]:
        return f"{BARE_PYTHON} is older than 3.11 or has psutil (not a bare server python)"
    return None


pytestmark = pytest.mark.skipif(
    _bare_python_problem() is not None, reason=str(_bare_python_problem())
)


async def until(pilot: Pilot[int], ok: Callable[[], object], timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if ok():
            return
        await pilot.pause(0.05)
    assert ok()


def run_tcpscope(*args: str, ssh: str = LOCAL_SSH) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TCPSCOPE_SSH": ssh}
    return subprocess.run(
        [*TCPSCOPE, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace: the agent samples a few sockets, not a busy host's."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (a network namespace for the agent)")
    name = f"tsa{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=False)


def test_bundle_is_deterministic_and_runs_on_a_bare_python(tmp_path: Path) -> None:
    first = build_bundle()
    build_bundle.cache_clear()
    again = build_bundle()
    assert (first.sha256, first.data) == (again.sha256, again.data)
    listed = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert "core/commands/agent.py" in listed and "core/connections/sources/procfs.py" in listed
    assert not any("psutil_source" in n or n.startswith("tui/") for n in listed)
    archive = tmp_path / "agent.zip"
    archive.write_bytes(first.data)
    modules = [
        n.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for n in listed
        if n != "__main__.py"
    ]
    code = (
        f"import sys, importlib; sys.path.insert(0, {str(archive)!r})\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print([m for m in ('psutil', 'textual', 'rich', 'humanize') if m in sys.modules])"
    )
    done = subprocess.run([BARE_PYTHON, "-I", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _streaming_agent(netns: str) -> subprocess.Popen[bytes]:
    """An agent in stream mode, its deltas flowing (stdin and stdout still open)."""
    bundle = build_bundle()
    agent = subprocess.Popen(
        ["ip", "netns", "exec", netns, BARE_PYTHON, "-I", "-c", STAGE1],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert agent.stdin is not None and agent.stdout is not None
    config = {
        "mode": "stream", "interval_s": 0.2, "ghost_ttl_s": 5.0, "ipsec": False,
        "provider": "auto", "vici": None, "every_tcp_info": False, "version": bundle.version,
    }  # fmt: skip
    agent.stdin.write(bundle.preamble() + json.dumps(config).encode() + b"\n")
    agent.stdin.flush()
    assert agent.stdout.readline().split() == [b"tcpscope-agent", b"reading"]
    said = agent.stdout.readline().split()
    while said[:2] == [b"tcpscope-agent", b"got"]:  # progress while the zip arrives
        said = agent.stdout.readline().split()
    assert said[:2] == [b"tcpscope-agent", b"ok"]
    reader, seen = MessageReader(), list[dict[str, object]]()
    while not any(m.get("k") == "D" for m in seen):  # streaming deltas by now
        seen += reader.feed(os.read(agent.stdout.fileno(), 65536))
    assert seen[0]["ctl"] == "hello" and seen[0]["sha256"] == bundle.sha256
    return agent


def test_agent_ends_with_its_stdin(netns: str) -> None:
    """No agent outlives its session: the end of stdin ends it, even mid-stream."""
    agent = _streaming_agent(netns)
    assert agent.stdin is not None
    agent.stdin.close()
    assert agent.wait(10) == 0


def test_agent_ends_quietly_with_its_stdout(netns: str) -> None:
    """A client that stopped reading (its stdout closed, stdin still open) ends the agent at
    its next write, without a traceback (SIGPIPE is ignored, the agent ends on EPIPE)."""
    agent = _streaming_agent(netns)
    assert agent.stdout is not None and agent.stderr is not None
    agent.stdout.close()
    try:
        assert agent.wait(10) == 0
    finally:
        agent.kill()
    assert agent.stderr.read() == b""


def test_connections_match_a_local_run(netns: str) -> None:
    """Same sockets, owners and process details as tcpscope run on the server itself (there
    with psutil, remotely from /proc); only the run's own start time differs."""
    proc, port = listen_in_namespace(netns)
    try:
        ssh = f"{LOCAL_SSH} --netns {netns}"
        here = ["connections", "--json", "--netns", "current"]  # the server's own namespace
        remote = run_tcpscope("--remote", "localhost", "--remote-python", BARE_PYTHON,
                              *here, ssh=ssh)  # fmt: skip
        local = subprocess.run(["ip", "netns", "exec", netns, *TCPSCOPE, *here],
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    finally:
        proc.kill()
    assert remote.returncode == 0, remote.stderr
    docs = [json.loads(run.stdout) for run in (remote, local)]
    for doc in docs:
        assert [(c["LocalPort"], c["OwningProcess"]) for c in doc] == [(port, proc.pid)]
        del doc[0]["CreationTime"]  # each run's first-seen time
        del doc[0]["tcpscope"]["derived"]["CreationTime"]
    assert docs[0] == docs[1]


def _failure(*args: str, ssh: str = LOCAL_SSH) -> str:
    done = run_tcpscope("--remote", "localhost", *args, "connections", ssh=ssh)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_no_python3_is_one_line() -> None:
    line = _failure("--remote-python", "/nonexistent/python3")
    assert "no /nonexistent/python3 on the server" in line


@pytest.mark.parametrize("version", ["3.10", "2.7"])
def test_too_old_python_is_one_line(version: str) -> None:
    found = sorted(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")).glob(
        f"versions/{version}.*/bin/python{version[0]}"
    ))  # fmt: skip
    if not found:
        pytest.skip(f"no Python {version} (pyenv) to play an old server")
    line = _failure("--remote-python", str(found[0]))
    assert "too old" in line and "3.11" in line


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="seccomp filter arch")
def test_kernel_without_sock_diag_is_one_line() -> None:
    line = _failure("--remote-python", BARE_PYTHON, ssh=f"{LOCAL_SSH} --no-sock-diag")
    assert "no usable sock_diag" in line


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("sudo") is None, reason="needs root and sudo")
def test_missing_sudo_right_is_one_line() -> None:
    line = _failure("--remote-sudo", "--remote-python", BARE_PYTHON, ssh=f"{LOCAL_SSH} --as nobody")
    assert "sudo refused" in line and "NOPASSWD" in line


def test_netns_names_the_servers_namespaces(netns: str) -> None:
    """``--netns`` with ``--remote`` is read on the server, as locally: a name there, and by
    default every namespace (the agent runs in ``netns``, the listener in another one)."""
    other = f"tsb{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", other], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", other, "ip", "link", "set", "lo", "up"], check=True)
        proc, port = listen_in_namespace(other)
        try:
            ssh = f"{LOCAL_SSH} --netns {netns}"
            base = ("--remote", "localhost", "--remote-python", BARE_PYTHON)
            named = run_tcpscope(*base, "connections", "--json", "--netns", other, ssh=ssh)
            default = run_tcpscope(*base, "connections", "--state", "Listen", ssh=ssh)
            own = run_tcpscope(*base, "connections", "--netns", "current", ssh=ssh)
            nosuch = run_tcpscope(*base, "connections", "--netns", f"{other}x", ssh=ssh)
        finally:
            proc.kill()
    finally:
        subprocess.run(["ip", "netns", "del", other], check=False)
    assert named.returncode == 0, named.stderr
    (row,) = json.loads(named.stdout)
    assert (row["LocalPort"], row["OwningProcess"]) == (port, proc.pid)
    assert row["tcpscope"]["namespace"]["name"] == other
    assert default.returncode == 0, default.stderr
    (line,) = [ln for ln in default.stdout.splitlines() if f"127.0.0.1:{port} " in ln]
    assert other in line  # the Namespace column names it
    assert own.returncode == 0 and f":{port} " not in own.stdout
    # Bad input checked on the server: exit 2 in a local run's words, as for a local name.
    assert nosuch.returncode == 2
    assert nosuch.stderr == (
        f"tcpscope: --netns: no network namespace or container named '{other}x'\n"
    )


def test_a_vici_path_refused_on_the_server_exits_2_as_locally() -> None:
    """The server checks ``--vici`` (its own path); a regular file there is bad input: exit 2
    and the local line, not a failure of the agent's (exit 1, "the agent failed (…)")."""
    args = ("ipsec", "--vici", "/etc/passwd")
    remote = run_tcpscope("--remote", "localhost", "--remote-python", BARE_PYTHON, *args)
    local = subprocess.run([*TCPSCOPE, *args], capture_output=True, text=True, check=False)
    assert local.returncode == 2
    assert (remote.returncode, remote.stderr) == (2, local.stderr)
    assert remote.stderr == "tcpscope: --vici '/etc/passwd' is not a UNIX socket\n"


@pytest.fixture
def closing_vici(tmp_path: Path) -> Iterator[str]:
    """A VICI socket that accepts and closes at once, as charon does stopping or restarting
    (a fake: a real charon cannot be made to close under a request reliably)."""
    path = str(tmp_path / "close.vici")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(16)

    def serve() -> None:
        with contextlib.suppress(OSError):  # closed when the test ends
            while True:
                server.accept()[0].close()

    threading.Thread(target=serve, daemon=True).start()
    yield path
    server.shutdown(socket.SHUT_RDWR)
    server.close()


def test_charon_closing_the_vici_socket_reads_as_locally(closing_vici: str) -> None:
    """The agent wrote its request to a VICI socket charon had closed: SIGPIPE (restored to
    its default for the agent's own stdout) killed it, "the agent stopped early (exit -13)",
    and in the TUI the whole link dropped. Now it says what a local run says, every time."""
    args = ("ipsec", "--vici", closing_vici)
    local = subprocess.run([*TCPSCOPE, *args], capture_output=True, text=True, check=False)
    said = f"error: charon closed the connection on {closing_vici} (stopped or restarting)"
    # (exit 1, its one line on stderr: --vici names charon, which could not be read)
    assert local.returncode == 1 and said in local.stdout, local.stderr
    assert local.stderr.startswith("tcpscope: ipsec: strongswan: charon closed the connection")
    for _ in range(6):  # the peer's close races the request's write: most runs met it
        remote = run_tcpscope("--remote", "localhost", "--remote-python", BARE_PYTHON, *args)
        assert (remote.returncode, remote.stderr) == (1, local.stderr), remote.stderr
        assert said in remote.stdout


def test_close_netns_is_refused_with_remote() -> None:
    done = run_tcpscope("--remote", "localhost", "close", "--netns", "all", "--local-port", "1")
    assert done.returncode == 2
    assert done.stderr.startswith("tcpscope: close --netns does not apply with --remote")
    assert len(done.stderr.splitlines()) == 1


def test_the_loader_reports_the_first_bytes_at_once() -> None:
    """The first part of the agent (ssh hands it over in one packet of up to 32 kB) was never
    reported: a slow link that still moved was taken for a dead one 30 s after `reading`,
    saying "0 kB had arrived". Fed one 20 kB part, then nothing, the loader says so."""
    preamble = build_bundle().preamble()
    head = preamble.index(b"\n") + 1
    loader = subprocess.Popen(
        [sys.executable, "-I", "-c", STAGE1],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert loader.stdin is not None and loader.stdout is not None
    try:
        assert loader.stdout.readline() == b"tcpscope-agent reading\n"
        loader.stdin.write(preamble[: head + 20_000])
        loader.stdin.flush()
        ready, _, _ = select.select([loader.stdout], [], [], 5.0)
        assert ready, "no progress line for the first 20 kB"
        said = loader.stdout.readline().split()
        assert said[:2] == [b"tcpscope-agent", b"got"] and 0 < int(said[2]) <= 20_000, said
    finally:
        loader.kill()
        loader.wait(timeout=10)


async def test_the_remote_tuis_footer_leaves_out_close_and_kill(
    netns: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over --remote the footer offered `x Close K Kill`, which only ever refuse there
    (another host's sockets); as in a replay it leaves them out now, the keys still say why,
    and help marks them as not available remotely."""
    monkeypatch.setenv("TCPSCOPE_SSH", f"{LOCAL_SSH} --netns {netns}")
    feed = RemoteFeed(
        parse_target("localhost", python=BARE_PYTHON),
        stream_config(interval_s=0.5, ghost_ttl_s=5.0, ipsec=False, provider="auto",
                      vici=None, every_tcp_info=False, netns=None),
    )  # fmt: skip
    feed.connect()
    app = TcpscopeApp(feed, hostname=feed.endpoint, prefs_path=tmp_path / "prefs.json")
    async with app.run_test(size=(200, 24)) as pilot:  # wide: no key left out for room
        await until(pilot, lambda: app.snapshot is not None)
        await laid_out_footer(pilot, app)
        words = footer_words(app)
        assert "Pause" in words and "Close" not in words and "Kill" not in words, words
        await pilot.press("x")
        await until(pilot, lambda: any("--remote" in str(n.message) for n in app._notifications))
        await pilot.press("K")  # it said "use tcpscope --remote HOST close": no process ends so
        await until(pilot, lambda: any(n.title == "Terminate process" for n in app._notifications))
        (said,) = [n.message for n in app._notifications if n.title == "Terminate process"]
        assert "another host" in said and "close" not in said, said
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = [" ".join(ln.split()) for ln in help_text(app).splitlines()]
        for key in ("x", "K"):  # the first: x is also the ghost rows' marker
            said = next(ln for ln in lines if ln.startswith(f"{key} "))
            assert "not available with --remote" in said, said
        await pilot.press("escape", "q")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (to log in as nobody)")
@pytest.mark.parametrize("yes", [True, False], ids=["yes", "no-terminal"])
def test_close_a_non_root_login_cannot_do_is_refused_before_listing(yes: bool) -> None:
    """A server login without CAP_NET_ADMIN can close no socket: a local ``close`` says so in
    one line before listing or asking, while ``--remote close`` listed the matches, asked, and
    then refused every socket. The agent now answers whether it can close at all, first."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        done = subprocess.run(
            [*TCPSCOPE, "--remote", "localhost", "--remote-python", BARE_PYTHON, "close",
             "--local-port", str(port), "--state", "Listen", *(["--yes"] if yes else [])],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
            env={**os.environ, "TCPSCOPE_SSH": f"{LOCAL_SSH} --as nobody"},
        )  # fmt: skip
        listener.getsockname()  # still open
    assert (done.returncode, done.stdout) == (1, ""), done
    assert done.stderr.splitlines() == [
        "tcpscope: not permitted: closing a socket needs CAP_NET_ADMIN on the server: "
        "add --remote-sudo, or log in as root; nothing closed"
    ], done.stderr
