"""Parsers of /proc text and libreswan's ``whack --globalstatus``.

The libreswan sample (data/libreswan-4.10-globalstatus.txt) is written in the 4.10 format from
the key names that 4.10's show_globalstate_status()/whack_showstats() print; pluto cannot run on
this machine (libreswan conflicts with the installed strongSwan), so it was not captured live.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from core.ipsec.providers._procnet import parse_proc_udp, parse_snmp, parse_xfrm_stat
from core.ipsec.providers.libreswan import (
    LibreswanProvider,
    counters_from_status,
    find_whack,
    parse_globalstatus,
    read_globalstatus,
)

DATA = Path(__file__).parent / "data"


def test_xfrm_stat_every_line_parsed() -> None:
    path = Path("/proc/self/net/xfrm_stat")
    if not path.exists():
        pytest.skip("kernel without CONFIG_XFRM_STATISTICS")
    text = path.read_text()
    parsed = parse_xfrm_stat(text)
    names = [ln.split()[0] for ln in text.splitlines() if ln.strip()]
    assert list(parsed) == names
    assert "XfrmInNoStates" in parsed


def test_proc_udp_sees_a_socket_on_port_500_or_not() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            sock.bind(("127.0.0.1", 500))
        except OSError as err:
            pytest.skip(f"cannot bind UDP 500 here ({err.strerror})")
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.sendto(b"x" * 100, ("127.0.0.1", 500))
        out.close()
        found = parse_proc_udp(Path("/proc/self/net/udp").read_text())
        mine = [s for s in found if s.port == 500]
        assert mine and mine[0].rx_queue > 0
    finally:
        sock.close()


def test_snmp_udp_section() -> None:
    values = parse_snmp(Path("/proc/self/net/snmp").read_text(), "Udp")
    assert "SndbufErrors" in values and "InDatagrams" in values


def test_libreswan_410_globalstatus() -> None:
    status = parse_globalstatus((DATA / "libreswan-4.10-globalstatus.txt").read_text())
    assert status["current.states.ipsec"] == 2
    values, reasons = counters_from_status(status)
    assert values["OakleyMainMode"] == 4 + 3
    assert values["OakleyQuickMode"] == 5 + 4
    assert values["ConnectionListSize"] == 2
    assert values["ActiveAcquire"] == 1
    assert values["AcquireFailures"] == 2 + 1
    # failed + finished.{ts-unacceptable (ikev1.ipsec), crypto-failed (ikev2.child)}
    assert values["NegotiationFailures"] == 2 + 1 + 1 + 1
    assert values["AuthenticationFailures"] == 2
    assert values["InvalidCookiesReceived"] == 2 + 3
    assert values["KeyAdditions"] == values["KeyUpdates"] == 9
    assert values["SoftAssociations"] == 1
    # 4.10 has no total.ike.mangled (5.4+): not invented
    assert values["InvalidPackets"] is None
    assert "total.ike.mangled" in reasons["InvalidPackets"]


def test_libreswan_status_codes_prefix_tolerated() -> None:
    assert parse_globalstatus("000 current.states.ipsec=3\n000 \n") == {"current.states.ipsec": 3}


def test_libreswan_absent_binary_is_reported() -> None:
    if find_whack() is not None:
        pytest.skip("libreswan is installed here")
    reading = LibreswanProvider().read()
    assert not reading.available
    assert reading.error == "libreswan not installed (no whack binary)"
    assert all(c.value is None for c in reading.readings.values())


def test_libreswan_unrunnable_whack_is_reported() -> None:
    reading = LibreswanProvider(whack="/nonexistent/whack").read()
    assert not reading.available
    assert reading.error is not None and reading.error.startswith("cannot run /nonexistent/whack")
    assert reading.readings["OakleyMainMode"].reason == f"not reported: {reading.error}"


def test_strongswans_ipsec_script_is_not_taken_for_libreswan() -> None:
    ipsec = shutil.which("ipsec")
    if ipsec is None:
        pytest.skip("no ipsec script on PATH")
    version = subprocess.run(
        [ipsec, "--version"], capture_output=True, text=True, check=False
    ).stdout
    if "strongswan" not in version.lower():
        pytest.skip("the ipsec script here is not strongSwan's")
    assert find_whack() is None


def _fake_whack(tmp_path: Path, body: str) -> str:
    """A stand-in for whack (pluto cannot run on this machine): a real executable."""
    path = tmp_path / "whack"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_libreswan_provider_runs_whack_with_argv(tmp_path: Path) -> None:
    sample = DATA / "libreswan-4.10-globalstatus.txt"
    argv_log = tmp_path / "argv"
    whack = _fake_whack(tmp_path, f'echo "$@" > {argv_log}; cat {sample}')
    reading = LibreswanProvider(whack=whack).read()
    assert argv_log.read_text().split() == ["--globalstatus"]
    assert reading.available and reading.error is None and reading.stats.active
    assert reading.stats.oakley_main_mode == 7
    assert reading.readings["InvalidPackets"].reason is not None
    assert reading.native["total.pluto.stf.STF_OK"] == 42
    assert "current.states.ipsec" not in reading.native_totals


def test_libreswan_pluto_down_and_no_permission(tmp_path: Path) -> None:
    whack = _fake_whack(
        tmp_path,
        'echo "whack: connect(\\"/run/pluto/pluto.ctl\\") failed '
        '(No such file or directory)" >&2; exit 1',
    )
    down = LibreswanProvider(whack=whack).read()
    assert not down.available and down.error == "pluto not running (cannot connect to pluto.ctl)"
    whack = _fake_whack(
        tmp_path,
        'echo "whack: connect(\\"/run/pluto/pluto.ctl\\") failed (Permission denied)" >&2; exit 1',
    )
    denied = LibreswanProvider(whack=whack).read()
    assert denied.available
    assert denied.error == "not reported: needs root (pluto.ctl is owner-only)"


def test_libreswan_value_that_is_no_number_is_the_daemons_invalid_value(tmp_path: Path) -> None:
    """whack printing a counter's total as no number (pluto never does; a broken or foreign
    whack may): a summed key read as "this libreswan prints no …" (it printed one) and one
    pluto prints only when > 0 counted as 0 (a figure pluto never gave). Both are not
    reported with what the daemon sent, in strongSwan's words for the same fault."""
    sample = (DATA / "libreswan-4.10-globalstatus.txt").read_text()
    bad = {
        "total.ike.ikev1.failed": "-3",
        "total.ikev1.isakmp.finished.auth-failed": "lots",
        "current.states.ipsec": "",
    }
    lines = [ln for ln in sample.splitlines() if ln.partition("=")[0] not in bad]
    lines += [f"{key}={value}" for key, value in bad.items()]
    (tmp_path / "status").write_text("\n".join(lines) + "\n")
    reading = LibreswanProvider(whack=_fake_whack(tmp_path, f"cat {tmp_path}/status")).read()
    assert reading.error is None and reading.stats.active
    said = "not reported: the daemon sent an invalid value"
    expected = {
        "AcquireFailures": f"{said} (total.ike.ikev1.failed = '-3')",
        "NegotiationFailures": f"{said} (total.ike.ikev1.failed = '-3')",
        "AuthenticationFailures": f"{said} (total.ikev1.isakmp.finished.auth-failed = 'lots')",
        "ConnectionListSize": f"{said} (current.states.ipsec = '')",
    }
    for counter, reason in expected.items():
        got = reading.readings[counter]
        assert (got.value, got.reason) == (None, reason), counter
    assert reading.stats.oakley_main_mode == 7  # the counters whose keys were numbers stand


def test_libreswan_output_that_is_not_utf8_still_gives_its_values(tmp_path: Path) -> None:
    """whack printing bytes that are not UTF-8 (a connection name, a foreign locale) failed the
    whole read with a decode error: its counters are still read, the odd bytes kept escaped."""
    sample = (DATA / "libreswan-4.10-globalstatus.txt").read_bytes()
    (tmp_path / "status").write_bytes(sample + b"config.name=\xff\xfe\n")
    reading = LibreswanProvider(whack=_fake_whack(tmp_path, f"cat {tmp_path}/status")).read()
    assert reading.error is None and reading.stats.oakley_main_mode == 7


def test_a_value_beyond_uint64_is_no_count_in_any_parser() -> None:
    """The class's counters are uint64: a figure past 2**64 - 1 is as invalid as '-1', in
    whack's output, /proc/net/xfrm_stat and /proc/net/snmp alike (one rule)."""
    big, top = str(2**64), str(2**64 - 1)
    numbers, others = read_globalstatus(f"total.ike.mangled={big}\ncurrent.states.ipsec={top}\n")
    assert numbers == {"current.states.ipsec": 2**64 - 1}
    assert others == {"total.ike.mangled": big}
    values, reasons = counters_from_status(numbers, others)
    assert values["InvalidPackets"] is None
    assert reasons["InvalidPackets"] == (
        f"not reported: the daemon sent an invalid value (total.ike.mangled = '{big}')"
    )
    assert parse_xfrm_stat(f"XfrmInError {big}\nXfrmInNoStates {top}\n") == {
        "XfrmInNoStates": 2**64 - 1
    }
    snmp = f"Udp: InErrors SndbufErrors\nUdp: {big} -1\n"
    assert parse_snmp(snmp, "Udp") == {}
