"""A VICI peer that stalls or speaks garbage never wedges IPsec sampling: every read has a
deadline, a length field above charon's own limit is refused, the screen says "not responding"
or "protocol error", the daemon is retried at doubling waits, and connections keep updating."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import pytest

from core.commands.feeds import FeedOptions, make_feed
from core.ipsec.model import ProviderReading
from core.ipsec.providers import _backoff
from core.ipsec.providers._vici_transport import MAX_MESSAGE_BYTES
from core.ipsec.providers.strongswan import StrongswanProvider
from tests.hostile.fake_vici import BEHAVIOURS, fake_vici, scripted_vici
from tests.hostile.util import ROOT, strict_json, tcpscope

EXPECTED = {
    "garbage": "protocol error",
    "stall": "not responding",
    "stall-mid-message": "protocol error",
    "huge-length": f"exceeds the VICI limit of {MAX_MESSAGE_BYTES}",
    "random-type": "protocol error",
}


def read_bounded(provider: StrongswanProvider) -> ProviderReading:
    """provider.read() in a thread: a regression hangs the thread, not the test run."""
    got: list[ProviderReading] = []
    worker = threading.Thread(target=lambda: got.append(provider.read()), daemon=True)
    worker.start()
    worker.join(60)
    assert got, "provider.read() did not return"
    return got[0]


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_a_bad_peer_is_reported_and_backed_off(
    behaviour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second read must come within the first wait: an hour, not 1 s a loaded host may
    # spend between the two reads.
    monkeypatch.setattr(_backoff, "FIRST_WAIT_S", 3600.0)
    with fake_vici(behaviour) as peer:
        provider = StrongswanProvider(peer.path, timeout_s=0.3, events=False)
        try:
            first = read_bounded(provider)
            assert first.error is not None and EXPECTED[behaviour] in first.error
            tried = peer.accepted
            second = read_bounded(provider)  # within the backoff: no new connection
            assert second.error is not None and "retrying in" in second.error
            assert peer.accepted == tried
        finally:
            provider.close()


def test_connections_keep_updating_while_the_ipsec_peer_stalls() -> None:
    async def run() -> tuple[int, str | None]:
        with fake_vici("stall") as peer:
            options = FeedOptions(
                interval_s=0.1, provider="strongswan", vici=peer.path, source="auto"
            )
            feed = make_feed(options)
            seqs: set[int] = set()
            error = None
            try:
                async for snap in feed.stream():
                    seqs.add(snap.seq)
                    if snap.ipsec is not None and snap.ipsec.providers:
                        error = snap.ipsec.providers[0].error or error
                    if len(seqs) >= 15 and error:
                        break
            finally:
                await feed.aclose()
            return len(seqs), error

    count, error = asyncio.run(asyncio.wait_for(run(), 120))
    assert count >= 15
    assert error is not None and "not responding" in error


def test_an_invalid_daemon_value_is_not_reported_with_the_true_reason() -> None:
    """A get-counters reply with a negative or non-numeric counter (charon never sends one;
    a broken or hostile peer on the socket may): such a counter was "not reported: source
    did not provide it", which is false. It says the daemon sent an invalid value, and which;
    the table escapes it, the JSON carries it as sent."""
    counters = {"counters": {"": {"invalid-spi": "-5", "invalid": "1\x1b[2J"}}}
    stats = {"ikesas": {"half-open": "many"}, "queues": {"critical": "1", "high": "-2"}}
    with scripted_vici({"get-counters": counters, "stats": stats}) as peer:
        argv = [sys.executable, "-m", "tui", "ipsec", "--provider", "strongswan"]
        argv += ["--vici", peer.path]
        as_json = subprocess.run(
            [*argv, "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        table = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    (inst,) = json.loads(as_json.stdout)["instances"]
    assert inst["Active"] is True and inst["error"] is None
    invalid = ("InvalidCookiesReceived", "InvalidPackets", "ActiveAcquire", "ActiveReceive")
    assert [inst[c] for c in invalid] == [None] * 4  # not the sum of the queues that were valid
    why = {c: inst["provenance"][c]["reason"] for c in invalid}
    assert why == {
        "ActiveAcquire": "not reported: the daemon sent an invalid value (half-open = 'many')",
        "ActiveReceive": "not reported: the daemon sent an invalid value (queues.high = '-2')",
        "InvalidCookiesReceived": "not reported: the daemon sent an invalid value "
        "(invalid-spi = '-5')",
        "InvalidPackets": "not reported: the daemon sent an invalid value (invalid = '1\x1b[2J')",
    }
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout
    assert "the daemon sent an invalid value (invalid = '1\\x1b[2J')" in table.stdout


def test_daemon_bytes_that_are_not_utf8_are_escaped_in_valid_utf8_json() -> None:
    """charon's bytes that are not UTF-8 (an invalid counter's value, a version string):
    ``ipsec --json`` wrote them as lone surrogates (``"\\udcff"``), JSON that jq reads as
    U+FFFD and Go's encoding/json or serde refuse. Each such byte is ``\\xff`` (four
    characters) now, as the table shows it; the JSON is valid UTF-8."""
    counters = {"counters": {"": {"invalid-spi": "0", "invalid": b"7\xff\xfe"}}}
    with scripted_vici({"get-counters": counters, "version": {"version": b"5.9.8\xff"}}) as peer:
        done = tcpscope("ipsec", "--json", "--provider", "strongswan", "--vici", peer.path)
    assert done.returncode == 0, done.stderr
    (inst,) = strict_json(done.stdout)["instances"]
    assert inst["InvalidPackets"] is None and inst["InvalidCookiesReceived"] == 0
    assert inst["provenance"]["InvalidPackets"]["reason"] == (
        "not reported: the daemon sent an invalid value (invalid = '7\\xff\\xfe')"
    )


def test_a_backslash_charon_sent_is_told_from_a_byte_that_was_not_utf8_in_json() -> None:
    """charon's value holding the four characters backslash-x-f-f and one holding the byte
    0xff read the same in ``ipsec --json`` (the byte escaped as ``\\xff``, the backslash kept
    single). The backslash is doubled now: each reason reads back as what charon sent."""
    counters = {"counters": {"": {"invalid": b"7\\xff", "invalid-spi": b"7\xff"}}}
    with scripted_vici({"get-counters": counters}) as peer:
        done = tcpscope("ipsec", "--json", "--provider", "strongswan", "--vici", peer.path)
    assert done.returncode == 0, done.stderr
    (inst,) = strict_json(done.stdout)["instances"]
    literal = inst["provenance"]["InvalidPackets"]["reason"]
    byte = inst["provenance"]["InvalidCookiesReceived"]["reason"]
    assert literal == "not reported: the daemon sent an invalid value (invalid = '7\\\\xff')"
    assert byte == "not reported: the daemon sent an invalid value (invalid-spi = '7\\xff')"
