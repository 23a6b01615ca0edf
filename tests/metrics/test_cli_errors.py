"""Bad input and failures of ``tcpscope metrics``: one line on stderr, exit 2 or 1."""

from __future__ import annotations

import os
import socket
import subprocess

import psutil
import pytest

from tests.metrics.exporter import ROOT, TCPSCOPE, exporter
from tui.cli import main


def exit_code(argv: list[str]) -> int | str | None:
    """main()'s return code, or the code argparse exits with."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["metrics", "--listen", "host:http"], "not a port number"),
        (["metrics", "--listen", "[::1"], "unclosed"),
        (["metrics", "--listen", "\u00b9"], "not a port number"),
        (["metrics", "--listen", "127.0.0.1:\u00b2"], "not a port number"),
        (["metrics", "--listen", "[::1]:\u00b3"], "not a port number"),
        (["metrics", "--listen", "1.2.3.4:5:6"], "[ADDR]:PORT"),
        (["metrics", "--top", "-1"], "not a whole number"),
        (["metrics", "--top", "many"], "not a whole number"),
        (["metrics", "--top", "501"], "--top out of range 0-500"),
        # int() and float() read these; the shared number checks do not (README).
        (["metrics", "--top", "\u0663"], "not a whole number"),
        (["metrics", "--top", "1_0"], "not a whole number"),
        (["metrics", "--top", " 3"], "not a whole number"),
        (["metrics", "--interval", "0"], "must be at least 0.1 and at most 60 s"),
        (["metrics", "--interval", "1_0"], "not a number: '1_0'"),
        (["metrics", "--interval", "\u0663"], "not a number"),
        (["metrics", "--interval", "nan"], "not a number"),
        # Hosts the resolver would have read as a name or a number (exit 1, or a wrong bind).
        (["metrics", "--listen", "-1"], "neither a port (0-65535), an IPv4 address nor"),
        (["metrics", "--listen", "0x10"], "neither a port"),
        (["metrics", "--listen", "127.1:9"], "neither a port"),
        (["metrics", "--listen", "256.1.1.1:1"], "neither a port"),
        (["metrics", "--listen", "70000"], "port out of range"),
        (["--replay", "x.tcpscope", "metrics"], "--replay is not supported"),
        (["metrics", "--provider", "nope"], "unrecognized arguments"),
        # Over SSH it served the last figures (ipsec_up 1, sample gauges) after the link dropped.
        (["--remote", "web1", "metrics"], "--remote does not apply to `tcpscope metrics`"),
        (["--remote-sudo", "metrics"], "--remote-sudo does not apply to `tcpscope metrics`"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = exit_code(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and err.count("\n") == 1, err


def test_a_busy_port_exits_1_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = exit_code(["--demo", "metrics", "--listen", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"tcpscope: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_a_killed_http_process_ends_the_exporter_with_one_line() -> None:
    with exporter("--interval", "0.2", global_args=("--demo", "--no-ipsec")) as running:
        running.wait_sampled()
        (child,) = psutil.Process(running.proc.pid).children()
        child.kill()  # the HTTP process dies; the next sample cannot be published
        assert running.proc.wait(timeout=30) == 1
        _, err = running.proc.communicate(timeout=10)
    # Not "(exit status -9): Broken pipe": a negative status is the signal that ended it.
    assert err == "tcpscope: the metrics HTTP process was killed by signal 9 (SIGKILL)\n", err


def test_redact_is_refused_with_one_line() -> None:
    """``--redact metrics`` served pseudonyms made with a new key at each start (new series
    every restart) and hid only some names; it is refused, as with ``ipsec``."""
    done = subprocess.run(
        [*TCPSCOPE, "--redact", "metrics", "--listen", "127.0.0.1:0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("tcpscope: --redact does not apply to `tcpscope metrics`")
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""
