"""Kernel provider: /proc/self/net/{xfrm_stat,udp,udp6,snmp} and NETLINK_XFRM dumps.

Why: the kernel is the one source present on every Linux host, and its /proc files are readable
without privileges. Netlink facts (larvals, SA and policy counts, NEWSA/UPDSA events) need
CAP_NET_ADMIN; without it the affected counters say so instead of failing the provider.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

from core.ipsec.model import ProviderReading
from core.ipsec.providers import _procnet
from core.ipsec.providers import _xfrm_netlink as xnl
from core.ipsec.providers.base import make_reading

NAME: Final = "kernel"
NEEDS_CAP: Final = "not reported: needs CAP_NET_ADMIN"
NO_XFRM_STATS: Final = "not reported: kernel without CONFIG_XFRM_STATISTICS"
NO_IKE_SOCKET: Final = "not reported: no socket on UDP 500/4500 in this network namespace"
_NETLINK_COUNTERS: Final = ("ActiveAcquire", "AcquireHeapSize", "ConnectionListSize")
_EVENT_COUNTERS: Final = ("KeyAdditions", "KeyUpdates")
LOWER_BOUND: Final = (
    "lower bound: XFRM SA notifications overflowed tcpscope's netlink buffer {lost} "
    "(ENOBUFS); the SAs added then are not counted and cannot be recovered"
)


def _netlink_reason(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return NEEDS_CAP
    return f"not reported: XFRM netlink failed ({err.strerror or err})"


def _local_addresses(proc_net: Path) -> set[str]:
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # the remote agent on a server without psutil
        texts = []
        for name in ("fib_trie", "if_inet6"):
            try:
                texts.append((proc_net / name).read_text())
            except OSError:
                texts.append("")
        return _procnet.parse_local_addresses(*texts)
    out: set[str] = set()
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            out.add(a.address.split("%", 1)[0])
    return out


class KernelProvider:
    """Reads the kernel's XFRM and UDP facts of the current network namespace."""

    name = NAME

    def __init__(self, proc_net: str = "/proc/self/net") -> None:
        self._proc = Path(proc_net)
        self._events = xnl.SaEventCounter()
        self._events_reason: str | None = None
        self._events_tried = False
        try:
            self.instance = f"kernel:{os.readlink('/proc/self/ns/net')}"
        except OSError:
            self.instance = "kernel"

    def _read_text(self, name: str) -> str | None:
        try:
            return (self._proc / name).read_text()
        except (FileNotFoundError, PermissionError):
            return None

    def _udp(
        self, values: dict[str, int | None], reasons: dict[str, str], native: dict[str, int]
    ) -> None:
        sockets = []
        for name in ("udp", "udp6"):
            text = self._read_text(name)
            if text is not None:
                sockets += _procnet.parse_proc_udp(text)
        native["ike_udp_sockets"] = len(sockets)
        if not sockets:
            for counter in ("ActiveReceive", "ReceiveHeapSize", "ReceiveFailures"):
                reasons[counter] = NO_IKE_SOCKET
            return
        rxq = sum(s.rx_queue for s in sockets)
        drops = sum(s.drops for s in sockets)
        values["ActiveReceive"] = values["ReceiveHeapSize"] = rxq
        values["ReceiveFailures"] = drops
        native["ike_udp_rx_queue_bytes"] = rxq
        native["ike_udp_drops"] = drops
        snmp = _procnet.parse_snmp(self._read_text("snmp") or "", "Udp")
        for key in ("InErrors", "RcvbufErrors", "SndbufErrors"):
            if key in snmp:
                native[f"Udp.{key}"] = snmp[key]

    def _netlink(
        self, values: dict[str, int | None], reasons: dict[str, str], native: dict[str, int]
    ) -> str | None:
        try:
            entries = xnl.dump_sas()
            spd = xnl.spd_info()
        except OSError as err:
            reason = _netlink_reason(err)
            for counter in _NETLINK_COUNTERS:
                reasons[counter] = reason
            return reason
        local = _local_addresses(self._proc)
        acquire = sum(1 for e in entries if e.larval and e.spi == 0)
        larval = sum(1 for e in entries if e.larval)
        installed = [e for e in entries if not e.larval]
        inbound = sum(
            1 for e in installed if (e.direction == 1 or (e.direction is None and e.daddr in local))
        )
        values["ActiveAcquire"] = acquire
        values["AcquireHeapSize"] = larval
        values["ConnectionListSize"] = len(installed) // 2
        native.update(
            {
                "sad_entries": len(entries),
                "sad_installed": len(installed),
                "sad_installed_in": inbound,
                "sad_installed_out": len(installed) - inbound,
                "sad_larval_acquire": acquire,
                "sad_larval_getspi": larval - acquire,
            }
        )
        native.update({f"spd_{k}": v for k, v in spd.items()})
        return None

    def _sa_events(
        self,
        values: dict[str, int | None],
        reasons: dict[str, str],
        native: dict[str, int],
        lower_bounds: dict[str, str],
    ) -> int | None:
        """Fill KeyAdditions/KeyUpdates from the XFRM multicast; returns its overflows (None:
        not counted)."""
        if not self._events_tried:
            self._events_tried = True
            try:
                self._events.open()
            except OSError as err:
                self._events_reason = _netlink_reason(err)
        if self._events_reason is None:
            try:
                self._events.drain()
            except OSError as err:
                self._events_reason = _netlink_reason(err)
                self._events.close()
        if self._events_reason is not None:
            for counter in _EVENT_COUNTERS:
                reasons[counter] = self._events_reason
            return None
        values["KeyAdditions"] = self._events.new_sa
        values["KeyUpdates"] = self._events.upd_sa
        lost = self._events.lost
        native["xfrm_sa_events_lost"] = lost
        if lost:
            times = "once" if lost == 1 else f"{lost} times"
            for counter in _EVENT_COUNTERS:
                lower_bounds[counter] = LOWER_BOUND.format(lost=times)
        return lost

    def read(self) -> ProviderReading:
        """One reading of the current network namespace's kernel IPsec facts."""
        if not sys.platform.startswith("linux"):
            return make_reading(
                NAME,
                self.instance,
                {},
                available=False,
                error="the kernel provider needs Linux (XFRM)",
            )
        values: dict[str, int | None] = {}
        reasons: dict[str, str] = {}
        native: dict[str, int] = {}
        native_reasons: dict[str, str] = {}
        totals: set[str] = set()
        text = self._read_text("xfrm_stat")
        if text is None:
            native_reasons["xfrm_stat"] = NO_XFRM_STATS
        else:
            xs = _procnet.parse_xfrm_stat(text)
            native.update(xs)
            totals.update(xs)
        self._udp(values, reasons, native)
        snd = _procnet.parse_snmp(self._read_text("snmp") or "", "Udp").get("SndbufErrors")
        values["SendFailures"] = snd
        if snd is None:
            reasons["SendFailures"] = "not reported: no Udp SndbufErrors in /proc/self/net/snmp"
        nl_reason = self._netlink(values, reasons, native)
        if nl_reason is not None:
            native_reasons["xfrm netlink"] = nl_reason
        lower_bounds: dict[str, str] = {}
        gaps = self._sa_events(values, reasons, native, lower_bounds)
        totals.update(
            {
                "ike_udp_drops",
                "Udp.InErrors",
                "Udp.RcvbufErrors",
                "Udp.SndbufErrors",
                "xfrm_sa_events_lost",
            }
        )
        return make_reading(
            NAME,
            self.instance,
            values,
            reasons=reasons,
            version=os.uname().release,
            native=native,
            native_totals=frozenset(totals),
            native_reasons=native_reasons,
            lower_bounds=lower_bounds,
            event_gaps=gaps,
        )

    def close(self) -> None:
        """Leave the XFRM multicast group."""
        self._events.close()
