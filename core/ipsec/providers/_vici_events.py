"""Background counter of strongSwan VICI events (totals no daemon counter holds).

Why a thread and a separate session: ``listen`` blocks its connection, and the IKE/CHILD up,
down and rekey events happen between samples. Counts start when tcpscope starts ("since monitor
start"); events that happen while charon is unreachable are missed (``gaps`` says how often the
listener lost the daemon, and with any gap the totals are lower bounds). The thread reconnects on
its own when charon comes back: every :data:`FAST_RETRY_S` for the first :data:`FAST_FOR_S`
after losing it, since a restarted charon brings its connections up within its first second
(a missing socket costs one failed ``connect`` a try), then every :data:`RETRY_S`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from core.ipsec.providers._backoff import Backoff
from core.ipsec.providers._vici import close_socket, describe_error, open_session, text

BASE_EVENTS: Final = ("ike-updown", "child-updown", "ike-rekey", "child-rekey")
FAILURE_ALERTS: Final = frozenset(
    {
        "peer-init-unreachable",
        "half-open-timeout",
        "retransmit-send-timeout",
        "proposal-mismatch-ike",
        "proposal-mismatch-child",
        "ts-mismatch",
        "local-auth-failed",
        "peer-auth-failed",
        "install-child-sa-failed",
        "install-child-policy-failed",
        "authorization-failed",
        "vip-failure",
        "cert-expired",
        "cert-revoked",
        "cert-validation-failed",
        "cert-no-issuer",
        "cert-untrusted-root",
        "cert-exceeded-path-len",
        "cert-policy-violation",
    }
)
"""``alert`` types (strongSwan ≥ 6.0.3) that end a negotiation."""
RETRY_S: Final = 0.5
"""Wait between tries while charon stays away (or was never there)."""
FAST_RETRY_S: Final = 0.02
"""Wait between tries just after losing charon (a restart), for :data:`FAST_FOR_S`."""
FAST_FOR_S: Final = 5.0
_POLL_S: Final = 0.2


def _sections(msg: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [v for v in msg.values() if isinstance(v, Mapping)]


class ViciEventCounter:
    """Counts up/down/rekey (and, when available, alert) events in a daemon thread."""

    def __init__(self, path: str, alerts: bool, timeout_s: float = 2.0) -> None:
        self.path = path
        self.alerts = alerts
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._sock: Any = None
        self.error: str | None = None
        self.gaps = 0
        """How often the listener lost charon after having been connected."""
        self.ever_connected = False
        self._thread = threading.Thread(target=self._run, name="vici-events", daemon=True)

    def start(self) -> None:
        """Start the listener thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (it wakes within the listen poll interval)."""
        self._stop.set()
        close_socket(self._sock)
        if self._thread.is_alive():
            self._thread.join(2.0)

    @property
    def connected(self) -> bool:
        """True while registered for events."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the listener is registered (for tests and the first sample)."""
        return self._connected.wait(timeout_s)

    def counts(self) -> dict[str, int]:
        """A copy of the event counts."""
        with self._lock:
            return dict(self._counts)

    def _run(self) -> None:
        backoff = Backoff()
        lost_at = -FAST_FOR_S
        while not self._stop.is_set():
            misbehaving = False
            try:
                self._listen_once()
            except Exception as err:
                misbehaving, self.error = describe_error(err, self.path)
            if self._connected.is_set():  # lost while registered: charon stopped, not stalled
                misbehaving = False
                self._connected.clear()
                self.gaps += 1
                backoff.succeeded()
                lost_at = time.monotonic()
            if misbehaving:  # there but misbehaving: doubling waits, not every few ms
                wait = backoff.failed()
            elif time.monotonic() - lost_at < FAST_FOR_S:
                wait = FAST_RETRY_S
            else:
                wait = RETRY_S
            self._stop.wait(wait)

    def _listen_once(self) -> None:
        from vici.exception import EventUnknownException

        session, self._sock = open_session(self.path, self._timeout_s)
        events = [*BASE_EVENTS, "alert"] if self.alerts else list(BASE_EVENTS)
        stream = session.listen(events, timeout=_POLL_S)
        try:
            for event, msg in stream:
                if not self._connected.is_set():
                    self._connected.set()
                    self.ever_connected = True
                    self.error = None
                if self._stop.is_set():
                    return
                if event is not None:
                    self._count(event.decode("ascii", "replace"), msg)
        except EventUnknownException:
            self.alerts = False
        finally:
            close_socket(self._sock)
            self._sock = None
            with contextlib.suppress(Exception):
                stream.close()

    def _count(self, event: str, msg: Mapping[str, Any]) -> None:
        up = msg.get("up") == b"yes"
        c: Counter[str] = Counter()
        if event == "ike-updown":
            for ike in _sections(msg):
                if up:
                    c["ike-up"] += 1
                    continue
                c["ike-down"] += 1
                if text(ike.get("state", b"")) == "CONNECTING":
                    c["ike-failed"] += 1
                    if ike.get("initiator") == b"yes":
                        c["ike-failed-initiator"] += 1
        elif event == "child-updown":
            for ike in _sections(msg):
                children = ike.get("child-sas", {})
                n = len(children) if isinstance(children, Mapping) else 0
                c["child-up" if up else "child-down"] += n
        elif event == "ike-rekey":
            c["ike-rekey"] += len(_sections(msg))
        elif event == "child-rekey":
            for ike in _sections(msg):
                children = ike.get("child-sas", {})
                c["child-rekey"] += len(children) if isinstance(children, Mapping) else 0
        elif event == "alert":
            kind = text(msg.get("type", b"unknown"))
            c[f"alert.{kind}"] += 1
            if kind in FAILURE_ALERTS:
                c["alert-failures"] += 1
                ike_sa = msg.get("ike-sa", {})
                if any(
                    s.get("initiator") == b"yes"
                    for s in _sections(ike_sa)
                    if isinstance(ike_sa, Mapping)
                ):
                    c["alert-failures-initiator"] += 1
            if kind in ("local-auth-failed", "peer-auth-failed"):
                c["alert-auth-failures"] += 1
            if kind in ("install-child-sa-failed", "install-child-policy-failed"):
                c["alert-install-failures"] += 1
        with self._lock:
            self._counts.update(c)
