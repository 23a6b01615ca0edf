"""``tcpscope ipsec`` (core.commands.ipsec) without Textual: JSON, table, usage errors."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import pty
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.commands import ipsec as cli
from core.errors import UsageError
from core.ipsec.model import COUNTER_NAMES
from tests.hostile.util import strict_json, tcpscope
from tests.ipsec.conftest import ROOT, in_netns
from tests.lab.ipsec_lab import IpsecLab
from tests.terminal import in_terminal, read_terminal


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tcpscope ipsec")
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def run_json(*argv: str, code: int = 0) -> dict[str, Any]:
    out = io.StringIO()
    assert cli.run(parse("--json", *argv), out) == code
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


def test_bad_provider_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        cli.run(parse("--provider", "racoon"))
    assert "racoon" in str(info.value) and "\n" not in str(info.value)


def test_vici_that_is_not_a_socket_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(UsageError):
        cli.run(parse("--provider", "strongswan", "--vici", str(path)))
    with pytest.raises(UsageError):
        cli.run(parse("--vici", " "))


def _app_in_a_terminal(*argv: str) -> tuple[int, str]:
    """The app (``tcpscope`` with no command) with stdin, stdout and stderr on a pseudo-terminal,
    as a user starts it; its exit code and what it wrote. One that starts is stopped after 15 s
    (code -9)."""
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", *argv], cwd=ROOT, stdin=child, stdout=child, stderr=child
    )
    os.close(child)
    text = read_terminal(parent, 15)
    if proc.poll() is None:
        proc.kill()
    code = proc.wait(timeout=10)
    os.close(parent)
    return code, text


def test_the_app_refuses_a_vici_path_that_is_no_socket_as_tcpscope_ipsec_does(
    tmp_path: Path,
) -> None:
    """A regular file given as --vici: the app read it as a socket and said "charon not
    running (… refuses connections)"; it fails at start with tcpscope ipsec's one line, exit 2,
    before the screen changes."""
    path = tmp_path / "charon.conf"
    path.write_text("charon {}\n")
    one_shot = subprocess.run(
        [sys.executable, "-m", "tui", "ipsec", "--vici", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert one_shot.returncode == 2
    line = one_shot.stderr.strip()
    assert "is not a UNIX socket" in line and "\n" not in line
    code, shown = _app_in_a_terminal("--vici", str(path))
    assert (code, shown.strip()) == (2, line)


def test_missing_socket_is_reported_in_the_instance(tmp_path: Path) -> None:
    path = tmp_path / "charon.vici"
    doc = run_json("--provider", "strongswan", "--vici", str(path), code=1)
    (inst,) = doc["instances"]
    assert inst["Active"] is False
    assert inst["error"] == f"charon not running (no VICI socket at {path})"
    assert all(inst[c] is None for c in COUNTER_NAMES)
    assert inst["provenance"]["InvalidPackets"]["grade"] == "exact"
    assert inst["provenance"]["InvalidPackets"]["reason"].startswith("not reported: charon")


def test_a_named_provider_that_cannot_be_read_exits_1_with_one_line(tmp_path: Path) -> None:
    """The whole process, as a cron check runs it: the JSON still comes out (every counter
    with its reason), the cause is one line on stderr and the exit code is 1, not 0."""
    path = tmp_path / "charon.vici"
    out = subprocess.run(
        [sys.executable, "-m", "tui", "ipsec", "--json", "--provider=strongswan", f"--vici={path}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    assert out.stderr == (
        f"tcpscope: ipsec: strongswan: charon not running (no VICI socket at {path})\n"
    )
    (inst,) = json.loads(out.stdout)["instances"]
    assert inst["Active"] is False


def test_auto_with_an_active_provider_exits_0_though_charon_is_absent() -> None:
    """``auto`` lists charon as not running (a fact worth seeing) but the kernel's counters
    were read: that is an answer, exit 0."""
    from core.ipsec import DEFAULT_VICI

    if sys.platform != "linux":
        pytest.skip("the kernel provider is Linux's")
    if os.path.lexists(DEFAULT_VICI):
        pytest.skip(f"a charon socket is at {DEFAULT_VICI} on this host")
    out = io.StringIO()
    assert cli.run(parse("--provider", "auto"), out) == 0
    assert "strongswan, inactive" in out.getvalue() and "(kernel, active" in out.getvalue()


@pytest.mark.parametrize("where", [["ipsec", "--vici"], ["--vici"]])
def test_vici_given_names_strongswan_so_an_absent_charon_exits_1(
    tmp_path: Path, where: list[str]
) -> None:
    """``--vici PATH`` names strongSwan's socket: asked for charon, a cron check must not read
    "charon not running" as an answer because the kernel's counters were read under
    ``auto``. Exit 1 and one line on stderr, as ``--provider strongswan``; the kernel's
    table is still printed."""
    if sys.platform != "linux":
        pytest.skip("the kernel provider is Linux's")
    path = tmp_path / "charon.vici"
    argv = [*where, str(path)] if where[0] == "ipsec" else [*where, str(path), "ipsec"]
    done = tcpscope(*argv)
    shown = done.stdout.decode()
    assert "(strongswan, inactive)" in shown and "(kernel, active" in shown, shown
    assert done.stderr.decode() == (
        f"tcpscope: ipsec: strongswan: charon not running (no VICI socket at {path})\n"
    )
    assert done.returncode == 1


def test_table_shows_the_daemon_first_and_says_once_that_it_is_not_running(
    tmp_path: Path,
) -> None:
    """As on the app's screen: the IKE daemon's section before the kernel's, and an absent
    charon is one error and how to start it, not 21 rows that each say it is not running;
    with --vici given, the socket given, not a suggestion to give --vici."""
    if sys.platform != "linux":
        pytest.skip("the kernel provider is Linux's")
    out = io.StringIO()
    cli.run(parse("--provider", "auto", "--vici", str(tmp_path / "charon.vici")), out)
    sections = out.getvalue().split("\n\n")
    assert "(strongswan, inactive)" in sections[0] and "(kernel, active" in sections[1]
    daemon = sections[0].splitlines()
    assert daemon[1:] == [
        f"  error: charon not running (no VICI socket at {tmp_path / 'charon.vici'})",
        "  to see its 21 counters: start charon (systemctl start strongswan)",
        f"  check charon's VICI socket is the --vici given: {tmp_path / 'charon.vici'}",
    ]
    kernel_rows = [ln for ln in sections[1].splitlines() if ln.split()[0] in COUNTER_NAMES]
    assert len(kernel_rows) == 21
    doc = run_json("--provider", "auto", "--vici", str(tmp_path / "charon.vici"), code=1)
    (charon,) = [i for i in doc["instances"] if i["provider"] == "strongswan"]
    assert set(charon["provenance"]) == set(COUNTER_NAMES)  # the JSON keeps every counter
    assert [i["provider"] for i in doc["instances"]] == ["strongswan", "kernel"]  # as the table


def test_core_ipsec_cli_imports_no_ui_libraries() -> None:
    code = (
        "import sys; import core.commands.ipsec, core.ipsec.sampling, core.ipsec.providers; "
        "bad = [m for m in ('textual', 'rich', 'humanize') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.lab
@pytest.mark.root
def test_json_and_table_against_the_lab(lab: IpsecLab) -> None:
    lab.send_garbage("invalid", 2)
    doc = run_json("--provider", "auto", "--vici", lab.b.vici)
    instances = {i["provider"]: i for i in doc["instances"]}
    assert {"kernel", "strongswan"} <= set(instances)
    ss = instances["strongswan"]
    assert ss["Active"] is True and ss["error"] is None
    assert ss["InvalidPackets"] == lab.counters(lab.b)["invalid"] >= 2
    assert ss["ConnectionListSize"] == lab.installed_children(lab.b)
    assert ss["AuthenticationFailures"] is None
    prov = ss["provenance"]
    assert set(prov) == set(COUNTER_NAMES)
    assert prov["AuthenticationFailures"]["grade"] == "none"
    assert prov["OakleyMainMode"]["scope"] == "since monitor start"
    # Counted from events since tcpscope started: a one-shot has seen none, so null and why
    # (not 0); get-counters' true totals stay numbers.
    assert ss["OakleyMainMode"] is None and ss["KeyAdditions"] is None
    assert "one-shot" in prov["OakleyMainMode"]["reason"]
    assert list(ss)[:23] == ["InstanceName", "Active", *COUNTER_NAMES]

    out = io.StringIO()
    assert cli.run(parse("--provider", "strongswan", "--vici", lab.b.vici), out) == 0
    lines = out.getvalue().splitlines()
    rows = [ln for ln in lines if ln.strip().split(" ")[0] in COUNTER_NAMES]
    assert len(rows) == 21
    # aligned: the value column ends at the same position on every row
    value_ends = {r.index(" " + r.split()[1] + " ") + len(r.split()[1]) for r in rows}
    assert len(value_ends) == 1
    assert any("not reported: no honest source" in r for r in rows)


def test_one_shot_kernel_totals_counted_from_events_are_null_with_the_reason(netns: str) -> None:
    """The kernel's KeyAdditions/KeyUpdates are counted from XFRM events while tcpscope runs:
    a one-shot prints null and why. SendFailures is a true (approximate) total: a number,
    with a reason saying exactly what it counts."""
    out = in_netns(netns, sys.executable, "-m", "tui", "ipsec", "--provider", "kernel", "--json")
    (kernel,) = json.loads(out.stdout)["instances"]
    prov = kernel["provenance"]
    for name in ("KeyAdditions", "KeyUpdates"):
        assert kernel[name] is None
        assert prov[name]["reason"].startswith("not reported in a one-shot sample")
    assert isinstance(kernel["SendFailures"], int)
    assert "every UDP send" in prov["SendFailures"]["grade_reason"]


def test_table_wraps_its_last_column_in_an_80_column_terminal(tmp_path: Path) -> None:
    """At 80 columns (an SSH session) a long source or reason continues under its own column,
    not at the terminal's left edge; piped, every counter stays one line (for grep)."""
    if sys.platform != "linux":
        pytest.skip("the kernel provider is Linux's")
    vici = str(tmp_path / "charon.vici")
    text = in_terminal(80, "ipsec", "--vici", vici, code=1)  # (charon, named, is absent)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    header = next(ln for ln in lines if ln.lstrip().startswith("Counter"))
    column = header.index("Source / reason")
    rows = [i for i, ln in enumerate(lines) if ln.split() and ln.split()[0] in COUNTER_NAMES]
    assert len(rows) == 21  # the kernel's; the absent charon's are one hint
    wrapped = [ln for ln in lines if ln.startswith(" " * column) and ln.strip()]
    assert wrapped  # its reasons are longer than 32 columns
    assert all(len(ln) - len(ln.lstrip()) == column for ln in wrapped)
    out = io.StringIO()
    cli.run(parse("--provider", "auto", "--vici", vici), out)
    piped = out.getvalue().splitlines()
    assert len([ln for ln in piped if ln.split() and ln.split()[0] in COUNTER_NAMES]) == 21
    assert max(map(len, piped)) > 80  # one line each, however long


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the command as nobody (setpriv)")
def test_a_vici_socket_refused_for_permission_is_one_error_not_21_rows(tmp_path: Path) -> None:
    """A root-only socket at the VICI path (the fault as a user meets it: charon runs, its
    socket is root:root 0770): the one-shot says why once, as for an absent daemon, instead
    of a table of 21 counters that each say it."""
    tmp_path.chmod(0o755)
    path = tmp_path / "charon.vici"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        path.chmod(0o700)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
             "-m", "tui", "ipsec", "--provider", "strongswan", "--vici", str(path)],
            capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
    assert "permission denied on the VICI socket" in done.stdout, done.stdout + done.stderr
    assert done.stdout.count("permission denied") == 1, done.stdout
    assert "Counter" not in done.stdout and "systemctl start" not in done.stdout
    # Mode 0700: no group may connect (it needs write permission), so none is advised.
    assert "member of group" not in done.stdout, done.stdout


def test_json_carries_the_true_error_text_and_stderr_the_escaped_one(tmp_path: Path) -> None:
    """A --vici path with control characters and markup: the JSON's ``error`` was escaped for
    a terminal first (``\\\\x1b`` in the JSON, so a consumer read a literal backslash-x1b)
    while ``InstanceName`` and each counter's ``reason`` carried the path itself. JSON now
    carries the true text (JSON escapes it); only stderr, a terminal's, is escaped."""
    path = str(tmp_path / "[b]x\x1b]0;PWN\x07\nline2" / "charon.vici")
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--provider", "strongswan", "--vici", path, "ipsec",
         "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    (inst,) = json.loads(out.stdout)["instances"]
    assert inst["InstanceName"] == f"strongswan:{path}"
    assert inst["error"] == f"charon not running (no VICI socket at {path})"
    reason = inst["provenance"]["InvalidPackets"]["reason"]
    assert reason == f"not reported: {inst['error']}"
    assert "\x1b" not in out.stderr and "\x07" not in out.stderr
    escaped = path.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\n", "\\x0a")
    assert out.stderr == (
        f"tcpscope: ipsec: strongswan: charon not running (no VICI socket at {escaped})\n"
    )


def test_json_writes_bytes_that_are_not_utf8_escaped_and_stays_valid_utf8(tmp_path: Path) -> None:
    """A --vici path whose bytes are not UTF-8 (0xff 0xfe: a real file name can be) came out of
    the JSON as lone surrogates (``"\\udcff"``), which jq read as U+FFFD and Go or serde
    refuse. Each such byte is now ``\\xff`` (four characters), as everywhere tcpscope shows
    bytes it cannot decode; the rest stays the true text."""
    folder = os.fsdecode(bytes(tmp_path) + b"/a\xff\xfeb")
    path = f"{folder}/charon.vici"
    done = tcpscope("--provider", "strongswan", "--vici", path, "ipsec", "--json")
    assert done.returncode == 1, done.stderr
    (inst,) = strict_json(done.stdout)["instances"]
    shown = f"{tmp_path}/a\\xff\\xfeb/charon.vici"
    assert inst["InstanceName"] == f"strongswan:{shown}"
    assert inst["error"] == f"charon not running (no VICI socket at {shown})"
    assert inst["provenance"]["InvalidPackets"]["reason"] == f"not reported: {inst['error']}"


def _unescaped(text: str) -> bytes:
    """The bytes ``ipsec --json`` text stands for, as README says a reader undoes it: ``\\\\``
    is one backslash, ``\\xff`` the byte 0xff, every other character itself (UTF-8)."""
    parts = re.split(r"(\\\\|\\x[0-9a-f]{2})", text)
    return b"".join(
        b"\\" if part == "\\\\" else bytes.fromhex(part[2:]) if part.startswith("\\x")
        else part.encode("utf-8")
        for part in parts
    )  # fmt: skip


def test_json_tells_a_literal_backslash_x_from_a_byte_that_was_not_utf8(tmp_path: Path) -> None:
    """A --vici path holding the four characters backslash-x-f-f and one holding the byte 0xff
    came out of the JSON as the same text (the byte was escaped as ``\\xff``, the backslash
    kept single): no reader could tell which path charon was looked for at. A backslash is
    doubled now, so each reads back as the bytes it was."""
    literal = bytes(tmp_path) + b"/a\\xffb"
    invalid = bytes(tmp_path) + b"/a\xffb"
    read: dict[bytes, str] = {}
    for folder in (literal, invalid):
        path = os.fsdecode(folder + b"/charon.vici")
        done = tcpscope("--provider", "strongswan", "--vici", path, "ipsec", "--json")
        assert done.returncode == 1, done.stderr
        (inst,) = strict_json(done.stdout)["instances"]
        name = inst["InstanceName"].removeprefix("strongswan:")
        assert _unescaped(name) == folder + b"/charon.vici"
        assert inst["error"] == f"charon not running (no VICI socket at {name})"
        read[folder] = name
    assert read[literal] != read[invalid]
    assert read[literal] == f"{tmp_path}/a\\\\xffb/charon.vici"
    assert read[invalid] == f"{tmp_path}/a\\xffb/charon.vici"


def test_without_vici_an_absent_charon_suggests_it_and_with_vici_names_the_socket(
    tmp_path: Path,
) -> None:
    """The hint to pass --vici is for a charon looked for at the default socket only; with
    --vici given it named the option already used, now the socket given (escaped)."""
    from core.ipsec import DEFAULT_VICI, IpsecSampler, get_providers, one_shot_view, start_hint

    path = tmp_path / "charon\x1b[2J.vici"
    sampler = IpsecSampler.one_shot(get_providers("strongswan", str(path)))
    try:
        (view,) = one_shot_view(sampler.sample()).providers
    finally:
        sampler.close()
    assert start_hint(view)[-1] == (
        f"check charon's VICI socket is the --vici given: {tmp_path}/charon\\x1b[2J.vici"
    )
    default = dataclasses.replace(
        view,
        stats=dataclasses.replace(view.stats, instance_name=f"strongswan:{DEFAULT_VICI}"),
        vici_given=False,
    )
    assert start_hint(default)[1:] == [
        "if it runs with another VICI socket: tcpscope --vici <socket>"
    ]


def test_vici_given_at_the_default_path_is_not_told_to_pass_vici() -> None:
    """``--vici /var/run/charon.vici`` given (charon's default socket) was told, as if no
    --vici had been given, "if it runs with another VICI socket: tcpscope --vici <socket>":
    given was told from defaulted by the path. It names the socket given now, as any other
    --vici; without --vici the suggestion stays."""
    from core.ipsec import DEFAULT_VICI

    if os.path.lexists(DEFAULT_VICI):
        pytest.skip(f"a charon socket is at {DEFAULT_VICI} on this host")
    suggestion = "if it runs with another VICI socket: tcpscope --vici <socket>"
    for argv in (["--vici", DEFAULT_VICI, "ipsec"], ["ipsec", f"--vici={DEFAULT_VICI}"]):
        given = tcpscope("--provider", "strongswan", *argv)
        shown = given.stdout.decode()
        assert given.returncode == 1, given.stderr
        assert f"charon not running (no VICI socket at {DEFAULT_VICI})" in shown, shown
        assert suggestion not in shown, shown
        assert f"check charon's VICI socket is the --vici given: {DEFAULT_VICI}" in shown, shown
    defaulted = tcpscope("--provider", "strongswan", "ipsec").stdout.decode()
    assert suggestion in defaulted and "--vici given" not in defaulted, defaulted
