"""Background counter of strongSwan VICI events (totals no daemon counter holds).

Why a thread and a separate session: ``listen`` blocks its connection, and the IKE/CHILD up,
down and rekey events happen between samples. Counts start when tcpscope starts ("since monitor
start"); events that happen while charon is unreachable are missed (``gaps`` says how often the
listener lost the daemon, and with any gap the totals are lower bounds). The thread runs from
the provider's creation, also while charon is absent, and (re)connects on its own: every
:data:`FAST_RETRY_S` for the first :data:`FAST_FOR_S` after it started or lost charon, since a
(re)started charon brings its connections up within its first second (a missing socket costs
one failed ``connect`` a try), then every :data:`RETRY_S`. A charon that came up while tcpscope
ran and was registered with only after it could have acted (see :meth:`_check_late`) makes the
totals lower bounds too (``late``). ``outages`` counts the stretches that may have missed events:
a loss and the re-registration that ends it, prompt or late, are one.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final

from core.ipsec.counters import strongswan_has_alerts
from core.ipsec.providers._backoff import Backoff
from core.ipsec.providers._vici import close_socket, describe_error, open_session, text
from core.ipsec.providers._vici_transport import BoundedTransport

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
LATE_S: Final = 0.1
"""A charon with connections loaded this long before the registration could have set SAs up
(or failed to) unheard: charon loads and initiates within tens of ms of its socket appearing.
The fast tries register within 15-30 ms of it (measured in the lab)."""
_POLL_S: Final = 0.2


class _MarkingTransport(BoundedTransport):
    """Calls ``on_listening`` at the first wait for an event: all registrations are confirmed.

    Why: ``vici.Session.listen`` yields nothing until an event or its poll timeout, so marking
    registration at its first yield would date it up to one poll interval late.
    """

    def __init__(self, base: BoundedTransport, on_listening: Callable[[], None]) -> None:
        super().__init__(base.socket, base.timeout_s)
        self._on_listening: Callable[[], None] | None = on_listening

    def receive(self, timeout: object = None) -> bytes:
        """As :meth:`BoundedTransport.receive`; listen's polls pass a number of seconds."""
        if self._on_listening is not None and isinstance(timeout, int | float):
            self._on_listening()
            self._on_listening = None
        return super().receive(timeout)


def _sections(msg: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [v for v in msg.values() if isinstance(v, Mapping)]


class ViciEventCounter:
    """Counts up/down/rekey (and, when available, alert) events in a daemon thread."""

    def __init__(self, path: str, alerts: bool | None = None, timeout_s: float = 2.0) -> None:
        """``alerts`` None: decided from charon's version at each registration."""
        self.path = path
        self._want_alerts = alerts
        self.alerts = bool(alerts)
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
        self.late = 0
        """How often the listener registered with a charon that could have acted before."""
        self.late_s = 0.0
        """The longest such delay: seconds from charon's VICI socket to the registration."""
        self.outages = 0
        """Stretches in which events may have been missed: each loss of charon (up to its
        re-registration, late or not), and a late first registration."""
        self._started_wall = time.time()
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
        lost_at = time.monotonic()  # fast tries from the start too: charon may start any moment
        while not self._stop.is_set():
            misbehaving = False
            try:
                self._listen_once()
            except Exception as err:
                misbehaving, self.error = describe_error(err, self.path, self._timeout_s)
            if self._connected.is_set():  # lost while registered: charon stopped, not stalled
                misbehaving = False
                self._connected.clear()
                self.gaps += 1
                self.outages += 1
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
        alerts = self._want_alerts
        if alerts is None:
            alerts = strongswan_has_alerts(text(session.version().get("version", b"")) or None)
        self.alerts = alerts
        events = [*BASE_EVENTS, "alert"] if alerts else list(BASE_EVENTS)
        session.transport = _MarkingTransport(session.transport, self._registered)
        stream = session.listen(events, timeout=_POLL_S)
        try:
            for event, msg in stream:  # the first poll marks the registration
                if self._stop.is_set():
                    return
                if event is not None:
                    self._count(event.decode("ascii", "replace"), msg)
        except EventUnknownException:
            self._want_alerts = False
        finally:
            close_socket(self._sock)
            self._sock = None
            with contextlib.suppress(Exception):
                stream.close()

    def _registered(self) -> None:
        """All events registered: counting from now; note if charon could have acted before."""
        self._check_late(time.time())
        self.error = None
        self.ever_connected = True
        self._connected.set()

    def _check_late(self, registered: float) -> None:
        """Count this registration as ``late`` when events may have been missed before it.

        Why the socket's mtime: charon creates its VICI socket while loading its plugins, before
        it can process anything, and the file's time has sub-second precision where VICI's
        ``stats`` uptime has whole seconds (a restarted charon acts within its first second).
        A charon older than this listener is not checked: counts start "since monitor start".
        """
        try:
            appeared: float | None = os.stat(self.path).st_mtime
        except OSError:
            appeared = None
        if appeared is not None and appeared <= self._started_wall:
            return
        lag = registered - (appeared if appeared is not None else self._started_wall)
        sas, conns = self._charon_work()
        if sas or (conns and lag > LATE_S):
            self.late += 1
            self.late_s = max(self.late_s, lag)
            if not self.ever_connected:  # else it ends the outage its loss began
                self.outages += 1

    def _charon_work(self) -> tuple[bool, bool]:
        """``(has IKE SAs, has connections loaded)`` now; ``(True, True)`` when unknown.

        Why both: an IKE SA that exists at registration came up unheard (or is about to, its
        event racing this query: counted, and then the note errs on the safe side). Without
        SAs, only a connection could have failed or come and gone, and only if it had time
        (:data:`LATE_S`); a listener that registered before ``swanctl --load-all`` ran, or just
        after, missed nothing.
        """
        session, sock = None, None
        try:
            session, sock = open_session(self.path, self._timeout_s)
            ikesas = session.stats().get("ikesas", {})
            total = text(ikesas.get("total", b"0")) if isinstance(ikesas, Mapping) else "?"
            if total != "0":
                return True, True
            return False, any(True for _ in session.list_conns())
        except Exception:
            return True, True
        finally:
            close_socket(sock)

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
