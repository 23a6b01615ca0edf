"""Fuzz targets for the four parsers of untrusted input, run by test_fuzz.py in a subprocess
under an address-space limit, so a memory regression fails a test instead of the machine.

``python -m tests.hostile.fuzz_targets NAME`` runs one target (hypothesis, no shrinking
database); any exception other than the parser's own one-line error is a failure.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.connections.query import QueryError, parse_query
from core.errors import RecordingError
from core.ipsec.providers._vici import describe_error, open_session
from core.recording.reader import Recording
from tests.recording.util import demo_snapshots_async, write_recording
from tui.prefs import Prefs, load

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
WORK = Path(tempfile.mkdtemp(prefix="tcpscope-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # 1,000 were left in /tmp


def _good_recording() -> bytes:
    path = WORK / "good.tsr"
    write_recording(path, asyncio.run(demo_snapshots_async(5, 12)), key_every=4)
    return path.read_bytes()


def recording() -> None:
    good = _good_recording()

    @FUZZ
    @given(st.data())
    def case(data: st.DataObject) -> None:
        raw = bytearray(good)
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at : at + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=6))
        if data.draw(st.booleans()):
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        path = WORK / "case.tsr"
        path.write_bytes(bytes(raw))
        try:
            rec = Recording(path)
            for i in range(len(rec)):
                rec.snapshot(i)
        except RecordingError as exc:
            assert "\n" not in str(exc)

    case()


def filter_language() -> None:
    snaps = asyncio.run(demo_snapshots_async(2, 1))
    conns = list(snaps[0].connections.values())[:20]
    procs = snaps[0].processes
    alphabet = st.sampled_from(
        ["state:", "port:", "lport:", "rport:", "pid:", "proc:", "addr:", "user:", "!", "-",
         " ", ",", "..", "-", "/", ":", "est", "listen", "443", "10.", "::", "[", "]", " OR "]
    )  # fmt: skip
    text = st.one_of(st.text(max_size=60), st.lists(alphabet, max_size=12).map("".join))

    @FUZZ
    @given(text)
    def case(line: str) -> None:
        try:
            query = parse_query(line)
        except QueryError as exc:
            assert "\n" not in str(exc)
            return
        for conn in conns:
            query.matches(conn, procs.get(conn.owning_process or -1))

    case()


def preferences() -> None:
    @FUZZ
    @given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
    def case(content: bytes) -> None:
        path = WORK / "prefs.json"
        path.write_bytes(content)
        prefs, warning = load(path)
        assert isinstance(prefs, Prefs)
        assert warning is None or "\n" not in warning

    case()


def vici_decoder() -> None:
    @FUZZ
    @given(st.binary(max_size=64), st.binary(max_size=200))
    def case(header: bytes, body: bytes) -> None:
        path = str(WORK / "vici.sock")
        Path(path).unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)

        def peer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(header + body)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1)

        thread = threading.Thread(target=peer, daemon=True)
        thread.start()
        session, sock = open_session(path, 0.2)
        try:
            session.stats()
        except Exception as exc:  # the provider turns every one into one line
            present, reason = describe_error(exc, path)
            # one line; a daemon that closed without a byte reads as stopped or restarting
            assert "\n" not in reason and (present or "closed the connection" in reason)
        finally:
            sock.close()
            server.close()
            thread.join(5)

    case()


TARGETS: dict[str, Callable[[], None]] = {
    "recording": recording,
    "filter": filter_language,
    "preferences": preferences,
    "vici": vici_decoder,
}

if __name__ == "__main__":
    TARGETS[sys.argv[1]]()
