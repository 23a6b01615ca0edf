"""A VICI peer whose replies are well framed but not what charon sends: a ``list-sas`` that never
ends, a reply of the wrong shape, a counter beyond uint64. Each is a reason on the screen and in
the JSON, with the socket's instance name; none grows memory without limit or is shown as a
count. (A fake peer: real charon sends none of these.)"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from pathlib import Path

import pytest

from core.ipsec.providers import _backoff, strongswan
from core.ipsec.providers.strongswan import StrongswanProvider
from tests.hostile.fake_vici import scripted_vici
from tests.hostile.test_vici_faults import read_bounded
from tests.hostile.util import PY, env

UINT64_MAX = 2**64 - 1
ADDRESS_SPACE = 2 * 2**30
"""The child's RLIMIT_AS: a regression fails the test, not the machine."""
PEAK_RSS_CAP = 400 * 2**20
"""What ``tcpscope ipsec`` may reach reading a list-sas reply that never ends: its own ~30 MB
plus the 256 MB reply it reads and keeps before giving up, with room to spare (without the
bound it grew past 600 MB, and here it would reach ADDRESS_SPACE)."""
FAT_SA = {
    "rw": {
        "state": "ESTABLISHED",
        "remote-id": "x" * 60_000,
        "child-sas": {"rw-1": {"state": "INSTALLED", "local-ts": ["y" * 60_000] * 6}},
    }
}
"""One IKE SA of 420 kB (a VICI value is at most 64 KiB), all of it kept by tcpscope, so an
unbounded read grows fast."""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_measured(args: list[str], tmp_path: Path, timeout_s: float = 90) -> tuple[int, str, int]:
    """``tcpscope ARGS`` in a subprocess: ``(exit code, stdout, peak RSS in bytes)``, the peak
    from the kernel's accounting of that child alone (wait4)."""
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(
            [PY, "-m", "tui", *args],
            stdout=fo,
            stderr=fe,
            stdin=subprocess.DEVNULL,
            env=env(),
            cwd="/",
            preexec_fn=_limit_memory,
        )
    deadline = time.monotonic() + timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            pytest.fail(f"tcpscope {' '.join(args)} did not end within {timeout_s} s")
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
    assert "Traceback" not in err.read_text(), err.read_text()
    return proc.returncode, out.read_text(), usage.ru_maxrss * 1024


def test_a_list_sas_reply_that_never_ends_is_abandoned_in_bounded_memory(tmp_path: Path) -> None:
    """A peer that answers version/stats/get-counters and then streams ``list-sa`` events
    forever: tcpscope read them all (608 MB at 101 s and climbing, the one-shot ended by its
    30 s wait with ``InstanceName=strongswan``). The reply is abandoned at its byte limit, the
    reason says so, and the instance keeps its socket."""
    with scripted_vici({}, endless_sa=FAT_SA) as peer:
        args = ["ipsec", "--json", "--provider", "strongswan", "--vici", peer.path]
        code, out, peak = run_measured(args, tmp_path)
    assert code == 1  # charon named with --vici and not read
    (inst,) = json.loads(out)["instances"]
    assert inst["InstanceName"] == f"strongswan:{peer.path}"
    why = f"charon's list-sas reply exceeded 256 MB (on {peer.path}); read abandoned"
    assert inst["error"] == why
    assert peak < PEAK_RSS_CAP, f"peak RSS {peak / 2**20:.0f} MB"


def test_a_list_sas_reply_of_too_many_sas_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strongswan, "MAX_LIST_SAS", 50)
    monkeypatch.setattr(_backoff, "FIRST_WAIT_S", 3600.0)
    with scripted_vici({}, endless_sa={"rw": {"state": "ESTABLISHED"}}) as peer:
        provider = StrongswanProvider(peer.path, timeout_s=1.0, events=False)
        try:
            reading = read_bounded(provider)
        finally:
            provider.close()
    assert reading.error == (
        f"charon's list-sas reply exceeded 50 SAs (on {peer.path}); read abandoned"
    )
    assert reading.stats.instance_name == f"strongswan:{peer.path}"


def test_a_list_sas_reply_that_trickles_is_abandoned_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One SA every 0.05 s, each within the per-message timeout: only the whole reply's
    deadline ends it."""
    monkeypatch.setattr(strongswan, "LIST_SAS_DEADLINE_S", 1.0)
    with scripted_vici({}, endless_sa={"rw": {"state": "ESTABLISHED"}}, gap_s=0.05) as peer:
        provider = StrongswanProvider(peer.path, timeout_s=1.0, events=False)
        try:
            reading = read_bounded(provider)
        finally:
            provider.close()
    assert reading.error == (
        f"charon's list-sas reply exceeded 1 s (on {peer.path}); read abandoned"
    )


@pytest.mark.parametrize(
    ("replies", "sa", "why"),
    [
        ({"stats": {"ikesas": "notasection"}}, None, "stats: ikesas is not a section"),
        ({"stats": {"queues": ["a", "b"]}}, None, "stats: queues is not a section"),
        ({"stats": {"uptime": "1"}}, None, "stats: uptime is not a section"),
        ({"get-counters": {"counters": "3"}}, None, "get-counters: counters is not a section"),
        (
            {"get-counters": {"counters": {"": "1"}}},
            None,
            'get-counters: counters[""] is not a section',
        ),
        ({"version": {"version": {"a": "1"}}}, None, "version: version is not a value"),
        ({}, {"rw": {"child-sas": "1"}}, "list-sas: child-sas is not a section"),
        ({}, {"rw": {"child-sas": {"c": "1"}}}, "list-sas: a child SA is not a section"),
        ({}, {"rw": {"state": {"a": "1"}}}, "list-sas: IKE SA: state is not a value"),
        (
            {},
            {"rw": {"child-sas": {"c": {"bytes-in": {}}}}},
            "list-sas: child SA: bytes-in is not a value",
        ),
    ],
)
def test_a_reply_of_the_wrong_shape_is_a_protocol_error(
    replies: dict[str, dict[str, object]],
    sa: dict[str, object] | None,
    why: str,
    tmp_path: Path,
) -> None:
    """A reply with a value where charon sends a section (or the reverse) read as
    ``error: AttributeError: 'bytes' object has no attribute 'get'``, with the instance
    ``strongswan``: it is a protocol error on the socket, worded as garbage is."""
    with scripted_vici(replies, endless_sa=sa) as peer:
        args = ["ipsec", "--json", "--provider", "strongswan", "--vici", peer.path]
        code, out, _peak = run_measured(args, tmp_path)
    assert code == 1
    (inst,) = json.loads(out)["instances"]
    assert inst["error"] == f"protocol error on {peer.path}: {why}"
    assert inst["InstanceName"] == f"strongswan:{peer.path}"


def test_a_value_beyond_uint64_is_an_invalid_value(tmp_path: Path) -> None:
    """Every counter of the class is a uint64: a value past 18446744073709551615 was shown as
    a count (``InvalidCookiesReceived 18446744073709551617``). It is an invalid value, as a
    negative one is; the largest uint64 is still a count."""
    counters = {"counters": {"": {"invalid-spi": str(UINT64_MAX + 2), "invalid": str(UINT64_MAX)}}}
    stats = {"ikesas": {"half-open": "9" * 26}}
    with scripted_vici({"get-counters": counters, "stats": stats}) as peer:
        args = ["ipsec", "--json", "--provider", "strongswan", "--vici", peer.path]
        code, out, _peak = run_measured(args, tmp_path)
    assert code == 0
    (inst,) = json.loads(out)["instances"]
    assert inst["InvalidPackets"] == UINT64_MAX
    assert inst["InvalidCookiesReceived"] is None and inst["ActiveAcquire"] is None
    why = {c: inst["provenance"][c]["reason"] for c in ("InvalidCookiesReceived", "ActiveAcquire")}
    assert why == {
        "InvalidCookiesReceived": "not reported: the daemon sent an invalid value "
        "(invalid-spi = '18446744073709551617')",
        "ActiveAcquire": "not reported: the daemon sent an invalid value "
        "(half-open = '99999999999999999999999999')",
    }
