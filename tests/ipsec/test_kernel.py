"""Kernel provider in namespaces the test creates: xfrm_stat, policies, larvals, non-root."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ipsec.conftest import ROOT, in_netns

pytestmark = [pytest.mark.root]


def probe(ns: str, user: int | None = None) -> dict[str, Any]:
    proc = in_netns(ns, sys.executable, "-m", "tests.ipsec._kernel_probe", user=user)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def esp_policy(
    src: str, dst: str, direction: str, tmpl_src: str, tmpl_dst: str, mode: str = "tunnel"
) -> list[str]:
    """argv of ``ip xfrm policy add`` for a policy that requires ESP between two hosts."""
    return [
        *("ip", "xfrm", "policy", "add", "src", src, "dst", dst, "dir", direction),
        *("tmpl", "src", tmpl_src, "dst", tmpl_dst, "proto", "esp", "mode", mode),
    ]


def test_every_xfrm_stat_key_in_a_fresh_namespace(netns: str) -> None:
    text = in_netns(netns, "cat", "/proc/self/net/xfrm_stat", check=False)
    if text.returncode != 0:
        pytest.skip("kernel without CONFIG_XFRM_STATISTICS")
    keys = [ln.split()[0] for ln in text.stdout.splitlines() if ln.strip()]
    got = probe(netns)
    assert keys and all(got["native"][k] == 0 for k in keys)
    assert "xfrm_stat" not in got["native_reasons"]
    assert got["values"]["ConnectionListSize"] == 0
    assert got["values"]["ActiveAcquire"] == 0


def test_policies_are_counted(netns: str) -> None:
    for i in range(3):
        in_netns(
            netns,
            *esp_policy(f"10.78.{i}.0/24", "10.79.0.0/24", "out", "192.0.2.1", "192.0.2.2"),
        )
    in_netns(
        netns,
        *esp_policy("10.79.0.0/24", "10.78.0.0/24", "in", "192.0.2.2", "192.0.2.1"),
    )
    native = probe(netns)["native"]
    assert (native["spd_out"], native["spd_in"], native["spd_fwd"]) == (3, 1, 0)


def test_larvals_make_acquire_counters(netns: str) -> None:
    for argv in (
        ["ip", "link", "add", "k0", "type", "veth", "peer", "name", "k1"],
        ["ip", "link", "set", "k0", "up"],
        ["ip", "link", "set", "k1", "up"],
        ["ip", "addr", "add", "10.77.0.1/24", "dev", "k0"],
        [
            *esp_policy(
                "10.77.0.1/32", "10.77.0.2/32", "out", "10.77.0.1", "10.77.0.2", "transport"
            ),
        ],
        [
            "ip",
            "xfrm",
            "state",
            "allocspi",
            "src",
            "10.77.0.9",
            "dst",
            "10.77.0.1",
            "proto",
            "esp",
            "mode",
            "tunnel",
        ],
    ):
        in_netns(netns, *argv)
    # The kernel only creates an acquire larval while a key manager listens on the group.
    monitor = subprocess.Popen(
        ["ip", "netns", "exec", netns, "ip", "xfrm", "monitor", "acquire"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        before = probe(netns)
        time.sleep(0.3)
        in_netns(
            netns,
            sys.executable,
            "-c",
            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.sendto(b'x', ('10.77.0.2', 9))",
        )
        after = probe(netns)
    finally:
        monitor.terminate()
        monitor.wait(5)
    assert before["values"]["ActiveAcquire"] == 0
    assert before["values"]["AcquireHeapSize"] == 1  # the GETSPI larval
    assert after["values"]["ActiveAcquire"] == 1  # spi 0, no algorithms
    assert after["values"]["AcquireHeapSize"] == 2
    assert after["native"]["sad_larval_getspi"] == 1
    assert after["native"]["XfrmOutNoStates"] == before["native"]["XfrmOutNoStates"] + 1
    assert after["values"]["ConnectionListSize"] == 0


def test_ike_sockets_queue_and_drops(netns: str) -> None:
    code = (
        "import socket, json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from core.ipsec.providers.kernel import KernelProvider\n"
        "srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)\n"
        "srv.bind(('127.0.0.1', 500))\n"
        "cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for _ in range(200): cli.sendto(b'x' * 500, ('127.0.0.1', 500))\n"
        "r = KernelProvider().read()\n"
        "print(json.dumps({k: c.value for k, c in r.readings.items()}))\n"
    )
    values = json.loads(in_netns(netns, sys.executable, "-c", code).stdout)
    assert values["ActiveReceive"] == values["ReceiveHeapSize"]
    assert values["ReceiveHeapSize"] > 0  # bytes waiting in the :500 socket
    assert values["ReceiveFailures"] > 0  # the small buffer overflowed: sk_drops


def test_non_root_reports_what_it_can(netns: str) -> None:
    in_netns(
        netns,
        *esp_policy("10.78.0.0/24", "10.79.0.0/24", "out", "192.0.2.1", "192.0.2.2"),
    )
    got = probe(netns, user=65534)
    assert got["active"] is True
    assert got["error"] is None
    assert "XfrmOutNoStates" in got["native"]  # /proc is world-readable
    assert got["values"]["SendFailures"] == 0
    for counter in (
        "ActiveAcquire",
        "AcquireHeapSize",
        "ConnectionListSize",
        "KeyAdditions",
        "KeyUpdates",
    ):
        assert got["values"][counter] is None
        assert got["reasons"][counter] == "not reported: needs CAP_NET_ADMIN"
    assert got["native_reasons"]["xfrm netlink"] == "not reported: needs CAP_NET_ADMIN"
    assert "spd_out" not in got["native"]


def test_with_the_privilege_no_text_says_it_is_needed(netns: str) -> None:
    """As root, `tcpscope ipsec --json` said of AcquireHeapSize, KeyAdditions, KeyUpdates and
    ConnectionListSize (all reported) "needs CAP_NET_ADMIN" in their grade reason: the
    privilege note belongs to the reason of a counter not reported for lack of it."""
    out = in_netns(netns, sys.executable, "-m", "tui", "ipsec", "--provider", "kernel", "--json")
    (inst,) = json.loads(out.stdout)["instances"]
    assert inst["AcquireHeapSize"] is not None and inst["ConnectionListSize"] is not None
    for counter, origin in inst["provenance"].items():
        assert "CAP_NET_ADMIN" not in (origin["grade_reason"] or ""), counter
        assert "CAP_NET_ADMIN" not in (origin["reason"] or ""), counter


def test_kernel_without_xfrm_statistics_says_so(tmp_path: Path) -> None:
    """A kernel built without CONFIG_XFRM_STATISTICS has no xfrm_stat file. We cannot boot such
    a kernel here, so the provider reads a copy of this netns' /proc/net files without it."""
    from core.ipsec.providers.kernel import NO_XFRM_STATS, KernelProvider

    for name in ("udp", "udp6", "snmp"):
        (tmp_path / name).write_text(Path("/proc/self/net", name).read_text())
    reading = KernelProvider(str(tmp_path)).read()
    assert reading.native_reasons.get("xfrm_stat") == NO_XFRM_STATS
    assert not any(k.startswith("Xfrm") for k in reading.native)
    assert reading.stats.send_failures is not None  # what the other files give is still there
