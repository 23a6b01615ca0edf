"""strongSwan provider: charon's VICI ``stats``, ``get-counters``, ``list-sas`` and events.

Why: charon is the common Linux IKE daemon and VICI is its supported control interface. The
provider keeps one command session (re-opened after any failure, so a restarted charon is picked
up) and one event listener thread, started with the provider so that a charon that starts later
is listened to from its first moments. It never calls ``reset-counters``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Mapping
from typing import Any, Final

from core.ipsec.model import ChildSa, IkeSa, ProviderReading
from core.ipsec.presence import DEFAULT_VICI
from core.ipsec.providers._backoff import Backoff
from core.ipsec.providers._vici import (
    close_socket,
    describe_error,
    flatten,
    number,
    open_session,
    section,
    sent,
    text,
    values,
)
from core.ipsec.providers._vici_events import ViciEventCounter
from core.ipsec.providers._vici_transport import ReplyTooLarge
from core.ipsec.providers.base import invalid_value, make_reading

NAME: Final = "strongswan"
NO_COUNTERS: Final = "not reported: strongSwan counters plugin not loaded (no get-counters)"
NO_EVENTS: Final = "not reported: VICI event listener not connected yet"
LOWER_BOUND: Final = (
    "lower bound: tcpscope's event listener {why}; events it did not hear are not counted and "
    "cannot be recovered (charon counts no SAs set up: its counters plugin has rekeys and "
    "IKEv2 messages only)"
)
"""Said of every total counted from events once the listener has lost charon or was late."""
LOST: Final = "lost charon {gaps} since monitor start (charon stopped or restarted)"
LATE: Final = (
    "registered {late_s:.2f} s after charon's VICI socket appeared (charon started while "
    "tcpscope ran, and had connections or SAs by then)"
)
MAX_LIST_SAS: Final = 200_000
"""The most ``list-sa`` events (one IKE SA each) one ``list-sas`` reply may have: a peer that
streams them without end grew tcpscope past 600 MB and never finished its read. Large remote-
access gateways hold tens of thousands of IKE SAs; this leaves them room."""
MAX_LIST_SAS_BYTES: Final = 256_000_000
"""The most bytes one ``list-sas`` reply may have (each message is at most 512 KiB already):
tcpscope keeps what the SAs say, so this bounds its memory. A real SA's message is 1–3 kB,
so 200,000 of them fit."""
LIST_SAS_DEADLINE_S: Final = 20.0
"""The longest one ``list-sas`` reply may take, every message on time (a trickle): under the
30 s a one-shot ``tcpscope ipsec`` waits, so it says why."""
_PENDING_IKE: Final = frozenset({"CONNECTING"})
_PENDING_CHILD: Final = frozenset({"CREATED", "INSTALLING"})
_EVENT_TOTALS: Final = {
    "OakleyMainMode": ("ike-up", "ike-rekey"),
    "OakleyQuickMode": ("child-up", "child-rekey"),
    "KeyAdditions": ("child-up", "child-rekey"),
    "KeyUpdates": ("child-up", "child-rekey"),
    "TotalGetSPI": ("child-up", "child-rekey"),
}
_EVENT_TOTALS_59: Final = {
    "NegotiationFailures": ("ike-failed",),
    "AcquireFailures": ("ike-failed-initiator",),
}
_EVENT_TOTALS_ALERTS: Final = {
    "NegotiationFailures": ("alert-failures",),
    "AcquireFailures": ("alert-failures-initiator",),
    "AuthenticationFailures": ("alert-auth-failures",),
    "KeyAdditionFailures": ("alert-install-failures",),
    "KeyUpdateFailures": ("alert-install-failures",),
}


def _algorithms(d: Mapping[str, Any]) -> str | None:
    parts = []
    if "encr-alg" in d:
        enc = text(d["encr-alg"])
        if "encr-keysize" in d:
            enc += f"-{text(d['encr-keysize'])}"
        parts.append(enc)
    for key in ("integ-alg", "prf-alg", "dh-group"):
        if key in d:
            parts.append(text(d[key]))
    return "/".join(parts) or None


_CHILD_VALUES: Final = (
    *("name", "uniqueid", "state", "mode", "protocol", "spi-in", "spi-out"),
    *("local-ts", "remote-ts", "bytes-in", "bytes-out", "packets-in", "packets-out"),
)
_IKE_VALUES: Final = (
    *("uniqueid", "state", "version", "local-host", "remote-host", "local-id", "remote-id"),
    *("initiator", "established"),
)
_ALGORITHMS: Final = ("encr-alg", "encr-keysize", "integ-alg", "prf-alg", "dh-group")


def _child(d: Mapping[str, Any]) -> ChildSa:
    values(d, (*_CHILD_VALUES, *_ALGORITHMS), "list-sas: child SA")

    def ts(key: str) -> tuple[str, ...]:
        v = d.get(key, [])
        return tuple(text(x) for x in v) if isinstance(v, list) else ()

    return ChildSa(
        name=text(d.get("name", b"")),
        uniqueid=text(d.get("uniqueid", b"")),
        state=text(d.get("state", b"")),
        mode=text(d["mode"]) if "mode" in d else None,
        protocol=text(d["protocol"]) if "protocol" in d else None,
        algorithms=_algorithms(d),
        spi_in=text(d["spi-in"]) if "spi-in" in d else None,
        spi_out=text(d["spi-out"]) if "spi-out" in d else None,
        local_ts=ts("local-ts"),
        remote_ts=ts("remote-ts"),
        bytes_in=number(d.get("bytes-in")),
        bytes_out=number(d.get("bytes-out")),
        packets_in=number(d.get("packets-in")),
        packets_out=number(d.get("packets-out")),
    )


def parse_sa(name: str, d: Mapping[str, Any]) -> IkeSa:
    """One ``list-sa`` event section → :class:`IkeSa` (peer-controlled text is sanitised).

    Raises:
        ViciProtocolError: a section where a value belongs, or the reverse.
    """
    values(d, (*_IKE_VALUES, *_ALGORITHMS), "list-sas: IKE SA")
    children = section(d, "child-sas", "list-sas: child-sas")
    kids = tuple(_child(section(children, key, "list-sas: a child SA")) for key in children)
    initiator = d.get("initiator")
    return IkeSa(
        name=text(name),
        uniqueid=text(d.get("uniqueid", b"")),
        state=text(d.get("state", b"")),
        version=text(d["version"]) if "version" in d else None,
        local_host=text(d["local-host"]) if "local-host" in d else None,
        remote_host=text(d["remote-host"]) if "remote-host" in d else None,
        local_id=text(d["local-id"]) if "local-id" in d else None,
        remote_id=text(d["remote-id"]) if "remote-id" in d else None,
        initiator=None if initiator is None else initiator == b"yes",
        algorithms=_algorithms(d),
        established_s=number(d.get("established")),
        children=kids,
    )


def _start_time(stats: Mapping[str, Any]) -> float | None:
    """charon's start time (``stats.uptime.since``, local time) as a POSIX timestamp."""
    uptime = stats.get("uptime", {})
    raw = text(uptime.get("since", b"")) if isinstance(uptime, Mapping) else ""
    try:
        return time.mktime(time.strptime(raw, "%b %d %H:%M:%S %Y"))
    except (ValueError, OverflowError):
        return None


def _counter(
    values: dict[str, int | None], reasons: dict[str, str], name: str, key: str, raw: object
) -> None:
    """Counter ``name`` from the reply's ``key``: its number, or, for a value that is none
    (negative, text), None with the reason that says so (absent: the default reason)."""
    values[name] = number(raw)
    if raw is not None and values[name] is None:
        reasons[name] = invalid_value(key, sent(raw))


class StrongswanProvider:
    """Reads charon over VICI at ``vici_path``."""

    name = NAME

    def __init__(
        self, vici_path: str | None = None, timeout_s: float = 2.0, events: bool = True
    ) -> None:
        """``vici_path``: the socket ``--vici`` named; None for charon's default one."""
        self.vici_path = DEFAULT_VICI if vici_path is None else vici_path
        self.vici_given = vici_path is not None
        """Whether the socket was named, not defaulted (even as the default path): the
        sampler puts it in the view, so no hint suggests the ``--vici`` already given."""
        self._timeout_s = timeout_s
        self._session: Any = None
        self._sock: Any = None
        self._version: str | None = None
        self._since: float | None = None
        self._lost = False
        self._waited = False
        self.events: ViciEventCounter | None = None
        if events:  # from now, not from the first sample: charon may start in between
            self.events = ViciEventCounter(self.vici_path, timeout_s=timeout_s)
            self.events.start()
        self.instance = f"strongswan:{self.vici_path}"
        """InstanceName of every reading (:mod:`core.ipsec.reads` names one it made with it)."""
        self._backoff = Backoff()
        self._failure = ""

    @property
    def daemon(self) -> str:
        """Who "did not answer" when a read is overdue (:mod:`core.ipsec.reads`)."""
        return f"charon on {self.vici_path}"

    # ------------------------------------------------------------------ session
    def _connect(self) -> None:
        self._session, self._sock = open_session(self.vici_path, self._timeout_s)
        reply = self._session.version()
        values(reply, ("version",), "version")
        self._version = text(reply.get("version", b"")) or None
        if self.events is not None and not self._waited:
            # Let the listener register before the first sample, so its counts start here.
            self._waited = True
            self.events.wait_connected(self._timeout_s)

    def _drop(self) -> None:
        close_socket(self._sock)
        self._session = self._sock = None

    def _absent(self, present: bool, reason: str) -> ProviderReading:
        return make_reading(
            NAME, self.instance, {}, version=self._version, error=reason, available=present
        )

    # ------------------------------------------------------------------ read
    def read(self) -> ProviderReading:
        """One reading; a lost daemon yields an error reading and a reconnect next time.

        A failure on an old session is retried once on a fresh connection, so a restarted
        charon is read at once and a dead one is reported as such ("charon not running").
        A daemon that is there but does not answer or speaks garbage ("not responding",
        "protocol error") is tried again only at doubling waits (:class:`Backoff`).
        """
        if self._session is None and not self._backoff.ready():
            left = self._backoff.left_s()
            return self._absent(True, f"{self._failure}; retrying in {left:.0f} s")
        for _attempt in range(2):
            fresh = self._session is None
            try:
                if fresh:
                    self._connect()
                stats = self._session.stats()
                for key in ("ikesas", "queues", "uptime"):
                    section(stats, key, f"stats: {key}")
                counters, counters_ok = self._counters()
                sas = self._list_sas()
            except Exception as err:
                # a reply too large is no lost session: a new one would get the same
                final = fresh or isinstance(err, ReplyTooLarge)
                if not final:
                    self._lost = True
                self._drop()
                if final:
                    present, reason = describe_error(err, self.vici_path, self._timeout_s)
                    if present:
                        self._backoff.failed()
                        self._failure = reason
                    return self._absent(present, reason)
                continue
            self._backoff.succeeded()
            return self._build(stats, counters, counters_ok, sas)
        return self._absent(True, "lost connection to charon")  # not reached: fresh on retry

    def _list_sas(self) -> tuple[IkeSa, ...]:
        """Every SA ``list-sas`` streams, within :data:`MAX_LIST_SAS`,
        :data:`MAX_LIST_SAS_BYTES` and :data:`LIST_SAS_DEADLINE_S`, checked at every event.

        Raises:
            ReplyTooLarge: past a limit; the session is closed then, so nothing more is read.
        """
        transport = self._session.transport
        start, deadline = transport.received, time.monotonic() + LIST_SAS_DEADLINE_S
        events: Generator[Mapping[str, Any]] = self._session.list_sas({"noblock": "yes"})
        sas: list[IkeSa] = []
        try:
            for count, ev in enumerate(events, 1):
                if count > MAX_LIST_SAS:
                    over = f"{MAX_LIST_SAS} SAs"
                elif transport.received - start > MAX_LIST_SAS_BYTES:
                    over = f"{MAX_LIST_SAS_BYTES // 1_000_000} MB"
                elif time.monotonic() > deadline:
                    over = f"{LIST_SAS_DEADLINE_S:g} s"
                else:
                    sas.extend(parse_sa(k, v) for k, v in ev.items() if isinstance(v, Mapping))
                    continue
                raise ReplyTooLarge(f"charon's list-sas reply exceeded {over}")
        except BaseException:
            # Closed, vici's generator reads on to the reply's end, which may never come:
            # the socket goes first, so that read fails at once.
            self._drop()
            with contextlib.suppress(Exception):
                events.close()
            raise
        return tuple(sas)

    def _counters(self) -> tuple[Mapping[str, Any], bool]:
        from vici.exception import CommandException

        try:
            reply = self._session.get_counters()
        except CommandException:
            return {}, False
        counters = section(reply, "counters", "get-counters: counters")
        return section(counters, "", 'get-counters: counters[""]'), True

    def _build(
        self,
        stats: Mapping[str, Any],
        counters: Mapping[str, Any],
        counters_ok: bool,
        sas: tuple[IkeSa, ...],
    ) -> ProviderReading:
        values: dict[str, int | None] = {}
        reasons: dict[str, str] = {}
        native = flatten("stats", {k: v for k, v in stats.items() if k != "mallinfo"})
        ikesas = stats.get("ikesas", {})
        _counter(values, reasons, "ActiveAcquire", "half-open", ikesas.get("half-open"))
        queues = stats.get("queues", {})
        qs = {k: number(v) for k, v in queues.items()} if isinstance(queues, Mapping) else {}
        bad = [k for k, q in qs.items() if q is None]
        if bad:  # a sum without it would be a figure charon never gave
            values["ActiveReceive"] = None
            reasons["ActiveReceive"] = invalid_value(f"queues.{bad[0]}", sent(queues[bad[0]]))
        else:
            values["ActiveReceive"] = sum(q for q in qs.values() if q is not None) if qs else None
        children = [c for s in sas for c in s.children]
        values["AcquireHeapSize"] = sum(1 for s in sas if s.state in _PENDING_IKE) + sum(
            1 for c in children if c.state in _PENDING_CHILD
        )
        installed = sum(1 for c in children if c.state == "INSTALLED")
        values["ConnectionListSize"] = installed
        native.update(
            {
                "list-sas.ike_sas": len(sas),
                "list-sas.child_sas": len(children),
                "list-sas.child_sas_installed": installed,
            }
        )
        totals: set[str] = set()
        if counters_ok:
            cn = flatten("counters", counters)
            native.update(cn)
            totals.update(cn)
            for name, key in (
                ("InvalidCookiesReceived", "invalid-spi"),
                ("InvalidPackets", "invalid"),
            ):
                _counter(values, reasons, name, key, counters.get(key))
        else:
            reasons["InvalidCookiesReceived"] = reasons["InvalidPackets"] = NO_COUNTERS
        lower_bounds: dict[str, str] = {}
        gaps = self._event_values(values, reasons, native, lower_bounds, totals)
        since = _start_time(stats)
        # charon derives "since" from now - uptime, so it jitters by a second between calls.
        # A VICI session only drops when charon stops, so a re-opened session after a lost
        # one is treated as a restart too (it catches restarts quicker than that jitter).
        moved = since is not None and self._since is not None and abs(since - self._since) > 2
        reset = moved or self._lost
        self._lost = False
        if since is not None:
            self._since = since
        return make_reading(
            NAME,
            self.instance,
            values,
            reasons=reasons,
            version=self._version,
            native=native,
            native_totals=frozenset(totals),
            sas=sas,
            reset=reset,
            lower_bounds=lower_bounds,
            event_gaps=gaps,
        )

    def _event_values(
        self,
        values: dict[str, int | None],
        reasons: dict[str, str],
        native: dict[str, int],
        lower_bounds: dict[str, str],
        totals: set[str],
    ) -> int | None:
        """Fill the totals counted from events (their native keys into ``totals``); after a
        listener gap or a late registration (:attr:`ViciEventCounter.late`) they are lower
        bounds. Returns the number of outages (:attr:`ViciEventCounter.outages`: a loss and its
        late re-registration are one) or None: nothing counted yet.

        Why no recovery from ``get-counters``: it has no count of IKE or CHILD SAs set up
        (``ike-updown``/``child-updown``, the bulk of these totals, and all of IKEv1), and its
        rekey counts start again with each charon, so the events missed in a restart's gap are
        in no counter tcpscope could read afterwards.
        """
        ev = self.events
        if ev is None or not ev.ever_connected:
            why = NO_EVENTS if ev is None or ev.error is None else f"not reported: {ev.error}"
            for name in (*_EVENT_TOTALS, *_EVENT_TOTALS_ALERTS):
                reasons[name] = why
            return None
        counts = ev.counts()
        table = {**_EVENT_TOTALS, **(_EVENT_TOTALS_ALERTS if ev.alerts else _EVENT_TOTALS_59)}
        gaps, late = ev.gaps, ev.late
        causes: list[str] = []
        if gaps:
            causes.append(LOST.format(gaps="1 time" if gaps == 1 else f"{gaps} times"))
        if late:
            causes.append(LATE.format(late_s=ev.late_s))
        for name, keys in table.items():
            values[name] = sum(counts.get(k, 0) for k in keys)
            if causes:
                lower_bounds[name] = LOWER_BOUND.format(why=" and ".join(causes))
        ev_native = {f"events.{k}": v for k, v in counts.items()}
        for base in (
            "ike-up",
            "ike-down",
            "ike-failed",
            "ike-rekey",
            "child-up",
            "child-down",
            "child-rekey",
        ):
            ev_native.setdefault(f"events.{base}", 0)
        ev_native["events.listener_gaps"] = gaps
        ev_native["events.late_registrations"] = late
        native.update(ev_native)
        totals.update(ev_native)
        return ev.outages

    def close(self) -> None:
        """Stop the event listener and close the command session."""
        if self.events is not None:
            self.events.stop()
            self.events = None
        self._drop()
