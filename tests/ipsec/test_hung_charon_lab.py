"""A hung charon (SIGSTOP) must not freeze the other providers' series (strongSwan 5.9.8 lab).

Why: the exporter read its providers one after another, charon first, and a stopped charon
held every sample for its VICI timeouts (about 5 s): the kernel's figures for the very flood
that a hung daemon leaves in its socket stayed stale, and ``up{provider="strongswan"}`` stayed 1
meanwhile. Run as the reviewer did: the real exporter in side a's namespace, a real stopped
charon, real datagrams queuing on its IKE socket.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from core.ipsec import IpsecSampler, ProviderView
from core.ipsec.providers.strongswan import StrongswanProvider
from core.metrics.late_reads import GRACE_VIEWS
from tests.lab.ipsec_lab import IpsecLab
from tests.lab.own_lab import own_lab
from tests.metrics.exporter import Exporter, exporter, value

pytestmark = [pytest.mark.lab, pytest.mark.root]

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
CLONE_NEWNET = 0x40000000
FLOOD = 3000
"""1000-byte datagrams to the stopped charon's UDP 500: more than its receive buffer holds."""
HOLD_S = 10.0
"""How long charon stays stopped: past the provider's 2 s + 2 s VICI timeouts and its retry."""


@pytest.fixture(scope="module")
def lab() -> Iterator[IpsecLab]:
    """A lab of its own (this module stops a charon)."""
    yield from own_lab("hc")


def in_netns(netns: str, fn: Callable[[], T]) -> T:
    """``fn()`` in a thread of its own that has entered ``netns`` (the exporter listens on that
    namespace's loopback; a thread's namespace is its own, the test's stays as it was)."""
    out: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            out.append(fn())
        except BaseException as err:  # handed to the caller
            errors.append(err)

    thread = threading.Thread(target=run, name="tcpscope-test-netns")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0]


def flood(lab: IpsecLab) -> None:
    """:data:`FLOOD` datagrams from side b to side a's IKE port (nobody reads them now)."""
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "for _ in range(int(sys.argv[2])):\n"
        "    s.sendto(b'x'*1000,(sys.argv[1],500))\n"
    )
    lab.ns(lab.b, sys.executable, "-c", code, lab.a.outer, str(FLOOD))


def watch(running: Exporter, stopped_at: float, base_failures: float) -> dict[str, float]:
    """Seconds after ``stopped_at`` at which each sign of the hang first showed in a scrape;
    watched for :data:`HOLD_S`, past the provider's own VICI timeouts and a retry. Every scrape
    once charon is seen down must still show it down, and the kernel up."""
    seen: dict[str, float] = {}
    while (at := time.monotonic() - stopped_at) < HOLD_S:
        samples = running.samples()
        up = value(samples, "tcpscope_ipsec_up", provider="strongswan")
        if up == 0:
            seen.setdefault("strongswan down", at)
        elif "strongswan down" in seen:
            raise AssertionError(f"strongswan up again {at:.1f} s after SIGSTOP")
        assert value(samples, "tcpscope_ipsec_up", provider="kernel") == 1
        if (value(samples, "tcpscope_ipsec_active_receive", provider="kernel") or 0) > 0:
            seen.setdefault("kernel queue", at)
        failures = value(samples, "tcpscope_ipsec_receive_failures_total", provider="kernel")
        if (failures or 0) > base_failures:
            seen.setdefault("kernel drops", at)
        time.sleep(0.1)
    return seen


def test_a_stopped_charon_holds_back_no_other_provider_and_is_down_within_an_interval(
    lab: IpsecLab,
) -> None:
    assert lab.a.pid is not None
    charon = lab.a.pid
    prefix = ("ip", "netns", "exec", lab.a.netns)
    with exporter("--interval", "1", global_args=("--vici", lab.a.vici), prefix=prefix) as running:
        try:
            samples = in_netns(lab.a.netns, lambda: running.wait_sampled(after=time.time()))
            for _ in range(50):  # the first IPsec sample may come after the first connections'
                if value(samples, "tcpscope_ipsec_up", provider="strongswan") == 1:
                    break
                time.sleep(0.1)
                samples = in_netns(lab.a.netns, running.samples)
            assert value(samples, "tcpscope_ipsec_up", provider="strongswan") == 1
            assert value(samples, "tcpscope_ipsec_up", provider="kernel") == 1
            base = value(samples, "tcpscope_ipsec_receive_failures_total", provider="kernel")
            assert base is not None
            os.kill(charon, signal.SIGSTOP)
            stopped_at = time.monotonic()
            flood(lab)
            seen = in_netns(lab.a.netns, lambda: watch(running, stopped_at, base))
            # One interval to the next sample, one (the read deadline) for it: 2 s, and slack
            # for a busy 2-core host. The flood itself takes a few tenths of a second. The
            # exporter holds a late charon's last figures for GRACE_VIEWS samples (one slow
            # answer is no 0): its "down" comes that many intervals (1 s) later.
            bounds = {
                "strongswan down": 3.0 + GRACE_VIEWS,
                "kernel queue": 3.0,
                "kernel drops": 3.0,
            }
            for sign, bound in bounds.items():
                assert sign in seen, f"{sign} not seen in {HOLD_S} s after SIGSTOP: {seen}"
                assert seen[sign] < bound, f"{sign} only {seen[sign]:.1f} s after SIGSTOP: {seen}"
        finally:
            os.kill(charon, signal.SIGCONT)
        back = time.monotonic() + 40.0  # the provider's backoff may be at its longest wait
        while time.monotonic() < back:
            up = in_netns(lab.a.netns, running.samples)
            if value(up, "tcpscope_ipsec_up", provider="strongswan") == 1:
                break
            time.sleep(0.2)
        assert value(up, "tcpscope_ipsec_up", provider="strongswan") == 1
    assert running.proc.stderr is not None
    log = running.proc.stderr.read()
    down = [ln for ln in log.splitlines() if "strongswan down" in ln]
    assert down, log
    for line in down:  # sentences, not an errno
        assert "Errno" not in line and "Resource temporarily" not in line, line
    # One line for the whole hang, in a sentence (the provider's own later timeout and
    # retries are the same kind of failure). It is said once the grace of GRACE_VIEWS late
    # samples is over, in the words of that last late read (its wait grows with retries).
    (line,) = down
    said = f"tcpscope: ipsec: strongswan down: not responding: charon on {lab.a.vici} did not "
    assert line.startswith(said), log
    assert re.fullmatch(r"answer within [0-9.]+ s", line.removeprefix(said)), log


class SlowVici:
    """A VICI socket in front of the lab's charon that hands each reply on ``delay_s`` late:
    a healthy charon on a busy host (the outside review throttled it with a cgroup)."""

    def __init__(self, target: str, path: str, delay_s: float) -> None:
        self.target, self.path, self.delay_s = target, path, delay_s
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.delay_s), daemon=True
            ).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, delay_s: float) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                time.sleep(delay_s)
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()
        os.unlink(self.path)


def slow_vicis(lab: IpsecLab, folder: Path) -> Iterator[Callable[[float], str]]:
    """For a fixture: makes :class:`SlowVici` proxies in front of ``lab``'s charon (the
    socket path of each), closed when the test ends."""
    made: list[SlowVici] = []

    def make(delay_s: float) -> str:
        made.append(SlowVici(lab.a.vici, str(folder / f"slow{len(made)}.vici"), delay_s))
        return made[-1].path

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture
def slow_vici(lab: IpsecLab, tmp_path: Path) -> Iterator[Callable[[float], str]]:
    yield from slow_vicis(lab, tmp_path)


def test_a_one_shot_waits_for_a_slow_but_healthy_charon(slow_vici: Callable[[float], str]) -> None:
    """The one-shot said "not responding" and exited 1 for a charon that answers in its own
    time (a cron check would alert on a busy daemon): one sample waits the provider's own
    timeouts, as before the providers were read side by side."""
    path = slow_vici(0.15)  # each reply 0.15 s late: a read takes well over 1 s
    done = subprocess.run(
        [sys.executable, "-m", "tui", "ipsec", "--vici", path, "--provider", "strongswan",
         "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (instance,) = json.loads(done.stdout)["instances"]
    assert instance["Active"] and instance["error"] is None, instance


def test_a_slow_charon_back_from_a_hang_stays_up(
    lab: IpsecLab, slow_vici: Callable[[float], str]
) -> None:
    """After one missed deadline, a charon answering in more than the 0.1 s retry wait was
    late, so "not responding", every other sample for the rest of the run (the exporter's
    `up` flapped and logged a down/up pair each time). A late answer is an answer."""
    assert lab.a.pid is not None
    sampler = IpsecSampler([StrongswanProvider(slow_vici(0.05))], interval_s=1.0)
    try:
        assert not sampler.sample().providers[0].error
        os.kill(lab.a.pid, signal.SIGSTOP)
        try:
            assert "not responding" in (sampler.sample().providers[0].error or "")
        finally:
            os.kill(lab.a.pid, signal.SIGCONT)
        errors = []
        for _ in range(12):
            errors.append(sampler.sample().providers[0].error)
            time.sleep(0.2)
        # Once back (a retry may still be waiting out its backoff), it stays up.
        first_up = next(i for i, e in enumerate(errors) if e is None)
        assert errors[first_up:] == [None] * (len(errors) - first_up), errors
    finally:
        sampler.close()


def test_a_charon_slower_than_the_deadline_is_waited_for_within_the_interval(
    slow_vici: Callable[[float], str],
) -> None:
    """A busy charon answering every read in 1.4-1.8 s was "not responding" every other
    sample, even at `--interval 5` (the wait was capped at 1 s), and its rates never showed.
    Once it has answered, a sample waits up to twice that long, within the interval."""
    sampler = IpsecSampler([StrongswanProvider(slow_vici(0.2))], interval_s=3.0)
    try:
        errors = []
        for _ in range(11):
            errors.append(sampler.sample().providers[0].error)
            time.sleep(0.5)  # (the app waits out the rest of its interval)
        # Its first read (connect, register for events) takes about 3 s: until it is in,
        # nothing is known of it; from its first answer on, never "not responding" again.
        first_up = next(i for i, e in enumerate(errors) if e is None)
        assert errors[first_up:] == [None] * (len(errors) - first_up), errors
        assert len(errors) - first_up >= 4, errors
    finally:
        sampler.close()


def app_loop(sampler: IpsecSampler, samples: int) -> list[ProviderView]:
    """``samples`` views of the first provider, sampled as the app does (the next sample one
    interval after the last one started, at once when a sample took longer)."""
    views = []
    for _ in range(samples):
        started = time.monotonic()
        views.append(sampler.sample().providers[0])
        time.sleep(max(0.0, sampler.interval_s - (time.monotonic() - started)))
    return views


def test_a_charon_slower_than_the_interval_stays_up_with_its_values(
    slow_vici: Callable[[float], str],
) -> None:
    """A charon answering every read in about 1.2-1.5 s at `--interval 1` was "not
    responding" every other sample (its wait is capped at the interval), its figures blanked
    each time and the exporter's `up` flapping. A read still within its usual time is no hung
    daemon: the sample shows its last answer, said to be slow, and the next sample its new
    one."""
    sampler = IpsecSampler([StrongswanProvider(slow_vici(0.25))], interval_s=1.0)
    try:
        views = app_loop(sampler, 14)
        errors = [v.error for v in views]
        first_up = next(i for i, e in enumerate(errors) if e is None)
        assert errors[first_up:] == [None] * (len(errors) - first_up), errors
        up = views[first_up:]
        assert len(up) >= 8, errors
        assert all(any(r.value is not None for r in v.rows) for v in up), errors
        # Said to be slow, by more than a sample waits for it (how much more depends on the
        # host's load: its first answer, which connects and registers, takes longest).
        took = [v.slow_s for v in up]
        assert all(t is not None and t > sampler.deadline_s for t in took), took
        # From its second answer on, its rates show in every sample (held ones too). When the
        # second answer lands depends on the host's load; from then on no sample lacks rates.
        rated = [any(r.rate is not None for r in v.rows) for v in up]
        first_rated = rated.index(True) if True in rated else len(rated)
        assert first_rated <= len(up) - 4 and all(rated[first_rated:]), rated
    finally:
        sampler.close()


def test_not_responding_says_how_long_it_was_waited_for(lab: IpsecLab) -> None:
    """A stopped charon was said not to answer "within 1 s" in every sample, also when the
    sample waited 0.1 s for it (a retry) or it had been waited for several seconds: the
    message now says how long its read has gone unanswered."""
    assert lab.a.pid is not None
    sampler = IpsecSampler([StrongswanProvider(lab.a.vici)], interval_s=1.0)
    try:
        for _ in range(2):  # steady reads: the first one connects and registers, slowly
            assert not sampler.sample().providers[0].error
        os.kill(lab.a.pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            errors: list[str] = []
            # On a loaded host its usual read is slower than the interval: the first sample
            # then shows its last answer again (slow), and "not responding" comes a sample on.
            for _ in range(8):
                error = sampler.sample().providers[0].error
                if error:
                    errors.append(error)
                if len(errors) == 3:
                    break
                time.sleep(0.4)
            ended = time.monotonic()
        finally:
            os.kill(lab.a.pid, signal.SIGCONT)
        said = [float(e.rsplit("within ", 1)[1].removesuffix(" s")) for e in errors]
        assert len(said) == 3 and said[0] >= 1.0, errors
        # Each later sample waited 0.1 s more after 0.4 s asleep: 0.5 s more each time.
        assert said[1] > said[0] + 0.3 and said[2] > said[1] + 0.3, errors
        assert said[2] <= ended - began + 0.1, errors
    finally:
        sampler.close()
