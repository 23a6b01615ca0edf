"""``--redact``: no original address, host or user name survives; pseudonyms are stable,
distinct, in documentation ranges; InstanceIDs follow; the wrapper keeps Feed/Seekable."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.connections.snapshot import Snapshot
from core.demo import DemoFeed
from core.recording.reader import Recording
from core.recording.redact import (
    KEY_ENV,
    RedactingFeed,
    Redactor,
    SnapshotRedactor,
    redact_snapshot,
)
from core.recording.replay import open_replay
from core.sampling.feed import Feed, Seekable
from core.sampling.sampler import Sampler
from tests.recording.content import content
from tests.recording.util import demo_snapshots, demo_snapshots_async, write_recording

ROOT = Path(__file__).resolve().parents[2]
KEY = "tcpscope-test-key"
"""A fixed key, so the checks below cannot meet a pseudonym that happens to equal an original
(pseudonyms and the demo's addresses share the documentation ranges)."""
CHECKED = ("192.0.2.10", "203.0.113.50")


@pytest.fixture(autouse=True)
def fixed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    r = Redactor(KEY.encode())
    for addr in CHECKED:
        assert r.address(addr) != addr  # precondition of the "not in" checks


DOC = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def addresses(snap: Snapshot) -> set[str]:
    out = set()
    for c in (*snap.connections.values(), *(g.connection for g in snap.ghosts)):
        out |= {c.local_address, c.remote_address}
    if snap.ipsec:
        for pv in snap.ipsec.providers:
            for sa in pv.sas:
                out |= {a for a in (sa.local_host, sa.remote_host) if a}
    return out


def test_pseudonyms_are_stable_distinct_and_documentation() -> None:
    r = Redactor(b"fixed key")
    originals = [f"10.{i // 250}.{i % 250}.7" for i in range(700)]
    pseudo = [r.address(a) for a in originals]
    assert len(set(pseudo)) == len(originals)  # no two hosts share a pseudonym
    assert [r.address(a) for a in originals] == pseudo  # stable
    assert all(any(ipaddress.ip_address(p) in n for n in DOC) for p in pseudo)
    v6 = r.address("2a00:1450:4001:80b::200e")
    assert ipaddress.ip_address(v6) in DOC[3]
    assert r.address("::ffff:10.0.0.1") == r.address("10.0.0.1")
    assert r.address("0.0.0.0") == "0.0.0.0" and r.address("127.0.0.1") == "127.0.0.1"
    # Another key, other pseudonyms: nobody can test guesses without the key.
    assert Redactor(b"other key").address("10.0.0.1") != r.address("10.0.0.1")


def test_host_user_and_free_text() -> None:
    r = Redactor(b"k")
    assert r.host("db1.corp.internal").endswith(".example")
    assert r.host("db1.corp.internal") == r.host("db1.corp.internal")
    assert r.user("alice").startswith("user-") and r.user("root").startswith("user-")
    text = r.text("--upstream db1.corp.internal:5432 --peer 10.9.8.7 fe80::1")
    assert "corp" not in text and "10.9.8.7" not in text and "fe80::1" not in text
    assert r.network("10.1.0.0/16").endswith("/16")


def test_redacted_demo_snapshot_hides_everything() -> None:
    snaps = demo_snapshots(1, 130)
    redactor = SnapshotRedactor(Redactor(b"k"))
    for snap in snaps[120:]:
        red = redactor.snapshot(snap)
        text = json.dumps(content(red))
        # The demo's addresses are documentation addresses, and so are pseudonyms: an original
        # may reappear only as the pseudonym of another host.
        pseudonyms = addresses(red)
        hidden = addresses(snap) - pseudonyms - {"0.0.0.0", "::"}
        assert len(hidden) > len(addresses(snap)) // 2
        for addr in hidden:
            assert f'"{addr}"' not in text and f"[{addr}]" not in text, addr
        for proc in snap.processes.values():
            if proc.username:
                assert proc.username not in text
        assert "gw.branch.example" not in text and "CN=unknown.example" not in text
        assert len(red.connections) == len(snap.connections)
        for cid, conn in red.connections.items():
            assert cid == conn.instance_id and conn.local_address in cid
        assert set(red.tcp_info) <= set(red.connections)
        assert red.diff.added <= red.connections.keys()


def test_unchanged_connections_keep_their_redacted_record() -> None:
    snaps = demo_snapshots(1, 3)
    redactor = SnapshotRedactor()
    a, b = redactor.snapshot(snaps[1]), redactor.snapshot(snaps[2])
    common = [k for k, c in snaps[1].connections.items() if snaps[2].connections.get(k) is c]
    assert common
    assert all(
        a.connections[redactor.connection(snaps[1].connections[k]).instance_id]
        is b.connections[redactor.connection(snaps[1].connections[k]).instance_id]
        for k in common
    )
    assert redact_snapshot(snaps[1], redactor.redactor).connections.keys() == a.connections.keys()


async def test_live_snapshot_redacted() -> None:
    """The live source: a real loopback connection to this host's own non-loopback address."""
    from core.connections.sources import get_source

    hostname = socket.gethostname()
    sampler = Sampler(get_source("auto"), interval_s=0.5)
    feed = RedactingFeed(sampler)
    assert isinstance(feed, Feed) and not isinstance(feed, Seekable)
    snap = await sampler.sample_once()
    red = SnapshotRedactor().snapshot(snap)
    text = json.dumps(content(red))
    for addr in addresses(snap):
        ip = ipaddress.ip_address(addr)
        if not (ip.is_unspecified or ip.is_loopback):
            assert f'"{addr}"' not in text
    # As a name, not as letters inside another word: a host called "vm" is in any long
    # random token (another test's temporary directory in a process's command line).
    named = re.compile(rf"(?<![\w.-]){re.escape(hostname)}(?![\w-])")
    assert not named.search(text) or hostname in ("localhost",)
    await feed.aclose()


async def test_redacting_replay_is_still_seekable(tmp_path: Path) -> None:
    snaps = await demo_snapshots_async(1, 20)
    path = tmp_path / "r.tsr"
    write_recording(path, snaps)
    feed = RedactingFeed(open_replay(path))
    assert isinstance(feed, Seekable)
    assert feed.source_name.endswith("(redacted)")
    stream = feed.stream()
    first = await anext(stream)
    assert '"192.0.2.10"' not in json.dumps(content(first))
    feed.step(3)
    ahead = feed.current()  # what a mark typed right behind the step takes: redacted too
    assert ahead.seq == 4 and '"192.0.2.10"' not in json.dumps(content(ahead))
    assert (await anext(stream)).seq == 4
    await feed.aclose()
    demo = RedactingFeed(DemoFeed(1))
    assert not isinstance(demo, Seekable)


def test_record_with_redact_writes_no_real_host(tmp_path: Path) -> None:
    out = tmp_path / "red.tsr"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "--redact",
            "--demo",
            "record",
            str(out),
            "--samples",
            "5",
            "--interval",
            "0.1",
        ],
        env={**os.environ, KEY_ENV: KEY},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rec = Recording(out)
    assert rec.header.redacted
    import gzip

    raw = gzip.decompress(out.read_bytes()).decode()
    for real in ('"192.0.2.10"', '"203.0.113.50"', "svc-quill", f'"{socket.gethostname()}"'):
        assert real not in raw


@pytest.mark.parametrize("seed", [1, 2])
def test_rerecord_a_replay_redacted(tmp_path: Path, seed: int) -> None:
    """``tcpscope --replay in --redact record out``: a shareable copy, sample for sample."""
    src, dst = tmp_path / "in.tsr", tmp_path / "out.tsr"
    snaps = demo_snapshots(seed, 30)
    write_recording(src, snaps)
    done = subprocess.run(
        [sys.executable, "-m", "tui", "--replay", str(src), "--redact", "record", str(dst)],
        env={**os.environ, KEY_ENV: KEY},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rec = Recording(dst)
    assert len(rec) == 30 and rec.header.redacted
    assert [rec.snapshot(i).seq for i in range(30)] == [s.seq for s in snaps]
    assert '"192.0.2.10"' not in json.dumps(content(rec.snapshot(29)))


def test_watch_through_a_redacting_feed_uses_the_original_instance_ids() -> None:
    """The app only knows redacted InstanceIDs; the live feed below only knows the real ones."""

    class Watching:
        def __init__(self) -> None:
            self.watched: list[str] = []

        def watch_tcp_info(self, instance_ids: list[str]) -> None:
            self.watched = list(instance_ids)

    snap = demo_snapshots(1, 1)[0]
    inner = Watching()
    feed = RedactingFeed(inner, Redactor(b"fixed test key"))
    shown = feed.redactor.snapshot(snap)
    real = next(c for c in snap.connections.values() if c.remote_address.startswith("198.51.100."))
    redacted = feed.redactor.connection(real).instance_id
    assert redacted != real.instance_id and redacted in shown.connections
    feed.watch_tcp_info([redacted, "tcpscope:never-shown"])
    assert inner.watched == [real.instance_id]


def test_a_redact_key_that_is_not_utf8_is_used_as_bytes(tmp_path: Path) -> None:
    """``TCPSCOPE_REDACT_KEY=$'\\xff\\xfe'`` ended ``record --redact`` in a traceback
    (UnicodeEncodeError: the key was re-encoded as UTF-8). Its bytes are the key: two runs
    with it give the same pseudonyms."""
    names = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.tsr"
        args = ["--redact", "--demo", "record", str(out), "--samples", "3", "--interval", "0.1"]
        done = subprocess.run(
            [sys.executable, "-m", "tui", *args],
            env={**os.environ, KEY_ENV: os.fsdecode(b"\xff\xfe")},
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        names.append(sorted(addresses(Recording(out).snapshot(2))))
    assert names[0] == names[1] and names[0]
